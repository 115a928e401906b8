using Microsoft.Extensions.Logging;
using Outbox.Configuration;
using Outbox.Core.Dispatch;
using Outbox.Core.Sending;
using Outbox.Storage;

namespace Outbox.Worker;

/// <summary>Makes the dispatcher for an open database from the configuration.</summary>
public static class OutboxRuntime
{
    public static Dispatcher CreateDispatcher(OutboxOptions options, OutboxDatabase database, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        var worker = string.IsNullOrWhiteSpace(options.Dispatch.WorkerName)
            ? $"{Environment.MachineName}:{Environment.ProcessId}"
            : options.Dispatch.WorkerName;
        var store = new OutboxStore(database, worker);
        return new Dispatcher(store, CreateTransport(options, loggers), options.Dispatch, TimeProvider.System, loggers.CreateLogger<Dispatcher>());
    }

    private static IMailTransport CreateTransport(OutboxOptions options, ILoggerFactory loggers) =>
        options.Transport.Trim().Equals("smtp", StringComparison.OrdinalIgnoreCase)
            ? new SmtpTransport(options.Smtp, loggers.CreateLogger<SmtpTransport>())
            : new PickupDirectoryTransport(options.Pickup.Directory);
}
