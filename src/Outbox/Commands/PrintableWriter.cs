using System.Text;
using Outbox.Core.Text;

namespace Outbox.Commands;

/// <summary>
/// The writer text-mode commands print through: every control character in what they print
/// (a subject, an address, a server's reply) is escaped, but for line breaks, which stay line
/// breaks (a template's body, a database error's detail): a line break cannot drive a terminal.
/// Values that must stay on one line (a table's cells) are made so by the command.
/// </summary>
public sealed class PrintableWriter(TextWriter inner) : TextWriter
{
    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value) => inner.Write(Printable(value.ToString()));

    public override void Write(string? value) => inner.Write(Printable(value));

    public override void WriteLine(string? value) => inner.WriteLine(Printable(value));

    public override Task WriteAsync(string? value) => inner.WriteAsync(Printable(value));

    public override Task WriteLineAsync(string? value) => inner.WriteLineAsync(Printable(value));

    // CR LF is a line break too (a lone CR, which moves the cursor, is escaped).
    private static string Printable(string? value) =>
        PrintableText.Escape(value?.Replace("\r\n", "\n", StringComparison.Ordinal), keepLineFeeds: true);

    public override void Flush() => inner.Flush();

    public override Task FlushAsync() => inner.FlushAsync();
}
