using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Outbox.Worker;

/// <summary>
/// Console logging through <see cref="PrintableConsoleFormatter"/>, for the worker and `run --once`,
/// on stderr: stdout carries only a command's result (`run --once --json` is one JSON document).
/// </summary>
public static class PrintableConsoleLogging
{
    public static ILoggingBuilder AddPrintableConsole(this ILoggingBuilder logging, Action<SimpleConsoleFormatterOptions>? configure = null) =>
        logging
            .AddConsole(console =>
            {
                console.FormatterName = PrintableConsoleFormatter.FormatterName;
                console.LogToStandardErrorThreshold = LogLevel.Trace;
            })
            .AddConsoleFormatter<PrintableConsoleFormatter, SimpleConsoleFormatterOptions>(options => configure?.Invoke(options));
}
