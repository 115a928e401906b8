using System.Text;
using Outbox.Core.Text;

namespace Outbox.Commands;

/// <summary>
/// The writer text-mode commands print through: every control character in what they print
/// (a subject, an address, a server's reply) is escaped, line breaks between lines kept.
/// </summary>
public sealed class PrintableWriter(TextWriter inner) : TextWriter
{
    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value) => inner.Write(PrintableText.Escape(value.ToString(), keepLineFeeds: true));

    public override void Write(string? value) => inner.Write(PrintableText.Escape(value, keepLineFeeds: true));

    public override void WriteLine(string? value) => inner.WriteLine(PrintableText.Escape(value, keepLineFeeds: false));

    public override Task WriteAsync(string? value) => inner.WriteAsync(PrintableText.Escape(value, keepLineFeeds: true));

    public override Task WriteLineAsync(string? value) => inner.WriteLineAsync(PrintableText.Escape(value, keepLineFeeds: false));

    public override void Flush() => inner.Flush();

    public override Task FlushAsync() => inner.FlushAsync();
}
