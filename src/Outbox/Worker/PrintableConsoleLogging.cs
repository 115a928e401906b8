using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Outbox.Worker;

/// <summary>Console logging through <see cref="PrintableConsoleFormatter"/>, for the worker and `run --once`.</summary>
public static class PrintableConsoleLogging
{
    public static ILoggingBuilder AddPrintableConsole(this ILoggingBuilder logging, Action<SimpleConsoleFormatterOptions>? configure = null) =>
        logging
            .AddConsole(console => console.FormatterName = PrintableConsoleFormatter.FormatterName)
            .AddConsoleFormatter<PrintableConsoleFormatter, SimpleConsoleFormatterOptions>(options => configure?.Invoke(options));
}
