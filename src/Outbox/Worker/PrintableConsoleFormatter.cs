using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Outbox.Core.Text;

namespace Outbox.Worker;

/// <summary>
/// The console log format of the simple formatter on one line ("info: Category[1] message"),
/// with every control character in the message and exception escaped: a subject or a server's
/// reply in a log line cannot drive the terminal, and one entry stays one line.
/// </summary>
public sealed class PrintableConsoleFormatter : ConsoleFormatter
{
    public const string FormatterName = "outbox-printable";

    private readonly IOptionsMonitor<SimpleConsoleFormatterOptions> _options;

    public PrintableConsoleFormatter(IOptionsMonitor<SimpleConsoleFormatterOptions> options)
        : base(FormatterName)
    {
        _options = options;
    }

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        ArgumentNullException.ThrowIfNull(textWriter);
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        var options = _options.CurrentValue;
        if (options.TimestampFormat is { } format)
        {
            var now = options.UseUtcTimestamp ? DateTimeOffset.UtcNow : DateTimeOffset.Now;
            textWriter.Write(now.ToString(format, CultureInfo.InvariantCulture));
        }

        textWriter.Write($"{Level(logEntry.LogLevel)}: {logEntry.Category}[{logEntry.EventId.Id}] {PrintableText.Escape(message)}");
        if (logEntry.Exception is { } exception)
        {
            textWriter.Write(' ');
            textWriter.Write(PrintableText.Escape(exception.ToString()));
        }

        textWriter.WriteLine();
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };
}
