using Microsoft.Extensions.Logging;
using Outbox.Configuration;
using Outbox.Core.Dispatch;
using Outbox.Core.Sending;
using Outbox.Core.Sending.Accounts;
using Outbox.Storage;

namespace Outbox.Worker;

/// <summary>Makes the dispatcher for an open database from the configuration.</summary>
public static class OutboxRuntime
{
    public static Dispatcher CreateDispatcher(OutboxOptions options, OutboxDatabase database, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        var store = new OutboxStore(database, WorkerName(options));
        var transport = CreateTransport(options, database, loggers);
        // Outside production, mail goes only where Outbox:Safety lets it, whatever the transport.
        if (options.Safety.IsActive())
        {
            transport = new SafetyTransport(transport, options.Safety);
        }

        return new Dispatcher(store, transport, options.Dispatch, TimeProvider.System, loggers.CreateLogger<Dispatcher>());
    }

    /// <summary>This worker's name in leases, the attempt log and outbox_worker: Dispatch:WorkerName, else host:pid.</summary>
    public static string WorkerName(OutboxOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return string.IsNullOrWhiteSpace(options.Dispatch.WorkerName)
            ? $"{Environment.MachineName}:{Environment.ProcessId}"
            : options.Dispatch.WorkerName;
    }

    /// <summary>
    /// Where mail goes, in one line: "smtp to mail.example.com:587 (StartTls)", or the pickup
    /// directory; then, loudly, what Outbox:Safety does to the recipients when it is set.
    /// </summary>
    public static string DescribeTransport(OutboxOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var transport = DescribeServer(options);
        return options.Safety.Describe() is { } safety ? $"{transport}; NOT AS ADDRESSED: {safety}" : transport;
    }

    private static string DescribeServer(OutboxOptions options)
    {
        if (!options.Transport.Trim().Equals("smtp", StringComparison.OrdinalIgnoreCase))
        {
            return $"pickup: .eml files written to {Path.GetFullPath(options.Pickup.Directory)}, not sent anywhere (set Outbox:Transport to smtp to send)";
        }

        static string Server(SmtpOptions smtp) => $"{smtp.Host}:{smtp.Port} ({smtp.Security})";
        return options.Accounts.Count == 0
            ? $"smtp to {Server(options.Smtp)}"
            : $"smtp through accounts {string.Join(", ", options.Accounts.Select(a => $"{a.Key} {Server(a.Value)}"))}";
    }

    private static IMailTransport CreateTransport(OutboxOptions options, OutboxDatabase database, ILoggerFactory loggers)
    {
        if (!options.Transport.Trim().Equals("smtp", StringComparison.OrdinalIgnoreCase))
        {
            return new PickupDirectoryTransport(options.Pickup.Directory);
        }

        if (options.Accounts.Count == 0 && options.Smtp.RateLimits.Count == 0)
        {
            return new SmtpTransport(options.Smtp, loggers.CreateLogger<SmtpTransport>());
        }

        return CreateRoutedTransport(options, new DatabaseRateLimiter(database), loggers);
    }

    /// <summary>
    /// The accounts of Outbox:Accounts (or Outbox:Smtp as the one account "default", when only
    /// it has rate limits) behind one transport, routed by Outbox:Profiles.
    /// </summary>
    public static RoutedTransport CreateRoutedTransport(OutboxOptions options, IRateLimiter limiter, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        var accounts = options.Accounts.Count > 0
            ? options.Accounts
            : new Dictionary<string, SmtpOptions> { [SmtpTransport.DefaultAccount] = options.Smtp };
        var profiles = new Dictionary<string, MailProfile>(options.Profiles, StringComparer.OrdinalIgnoreCase);
        if (!profiles.ContainsKey(RoutedTransport.DefaultProfile) && accounts.Count == 1)
        {
            var only = new MailProfile();
            only.Accounts.Add(accounts.Keys.Single());
            profiles[RoutedTransport.DefaultProfile] = only;
        }

        return new RoutedTransport(
            accounts.ToDictionary(a => a.Key, a => new SmtpTransport(a.Value, loggers.CreateLogger<SmtpTransport>(), account: a.Key), StringComparer.OrdinalIgnoreCase),
            profiles,
            limiter,
            new AccountRest(options.Dispatch.RetryBaseDelay, options.Dispatch.ConfigurationErrorPause),
            options.Dispatch.LeaseDuration,
            TimeProvider.System,
            loggers.CreateLogger<RoutedTransport>());
    }
}
