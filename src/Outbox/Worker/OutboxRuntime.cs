using Microsoft.Extensions.Logging;
using Outbox.Configuration;
using Outbox.Core.Dispatch;
using Outbox.Core.Sending;
using Outbox.Core.Sending.Accounts;
using Outbox.Core.Sending.Graph;
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
    /// Where mail goes, in one line: "smtp to mail.example.com:587 (StartTls)", Graph's mailbox, or
    /// the pickup directory; then, loudly, what Outbox:Safety does to the recipients when it is set.
    /// </summary>
    public static string DescribeTransport(OutboxOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var transport = DescribeServer(options);
        return options.Safety.Describe() is { } safety ? $"{transport}; NOT AS ADDRESSED: {safety}" : transport;
    }

    private static string DescribeServer(OutboxOptions options)
    {
        switch (options.Transport.Trim().ToLowerInvariant())
        {
            case "graph":
                return $"graph: Microsoft Graph sendMail as {Mailbox(options.Graph.Mailbox, options.Graph.BaseUrl)}";
            case not "smtp":
                return $"pickup: .eml files written to {Path.GetFullPath(options.Pickup.Directory)}, not sent anywhere (set Outbox:Transport to smtp to send)";
        }

        static string Mailbox(string? mailbox, string baseUrl) => $"{mailbox} ({baseUrl})";
        static string Server(SmtpOptions smtp) => smtp.UsesGraph() ? $"graph {Mailbox(smtp.Mailbox, smtp.BaseUrl)}" : $"{smtp.Host}:{smtp.Port} ({smtp.Security})";
        return options.Accounts.Count == 0
            ? $"smtp to {Server(options.Smtp)}"
            : $"smtp through accounts {string.Join(", ", options.Accounts.Select(a => $"{a.Key} {Server(a.Value)}"))}";
    }

    private static IMailTransport CreateTransport(OutboxOptions options, OutboxDatabase database, ILoggerFactory loggers)
    {
        switch (options.Transport.Trim().ToLowerInvariant())
        {
            case "graph":
                // Limits are kept in the database, as an account's: then Outbox:Graph is routed as one.
                var graph = SmtpOptions.GraphAccount(options.Graph);
                return graph.EffectiveRateLimits().Count == 0 && graph.EffectiveMaxConnections() == 0
                    ? new GraphTransport(options.Graph)
                    : CreateRoutedTransport(options, new DatabaseRateLimiter(database, WorkerName(options)), loggers);
            case not "smtp":
                return new PickupDirectoryTransport(options.Pickup.Directory);
        }

        // One server without limits needs no routing; limits are kept in the database, with its accounts.
        if (options.Accounts.Count == 0 && options.Smtp.EffectiveRateLimits().Count == 0 && options.Smtp.EffectiveMaxConnections() == 0)
        {
            return new SmtpTransport(options.Smtp, loggers.CreateLogger<SmtpTransport>());
        }

        return CreateRoutedTransport(options, new DatabaseRateLimiter(database, WorkerName(options)), loggers);
    }

    /// <summary>
    /// The accounts of Outbox:Accounts (or Outbox:Smtp, or Outbox:Graph, as the one account
    /// "default", when only it has limits) behind one transport, routed by Outbox:Profiles.
    /// </summary>
    public static RoutedTransport CreateRoutedTransport(OutboxOptions options, IRateLimiter limiter, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        var accounts = options.Accounts.Count > 0
            ? options.Accounts
            : new Dictionary<string, SmtpOptions>
            {
                [SmtpTransport.DefaultAccount] = options.Transport.Trim().Equals("graph", StringComparison.OrdinalIgnoreCase) ? SmtpOptions.GraphAccount(options.Graph) : options.Smtp,
            };
        var profiles = new Dictionary<string, MailProfile>(options.Profiles, StringComparer.OrdinalIgnoreCase);
        if (!profiles.ContainsKey(RoutedTransport.DefaultProfile) && accounts.Count == 1)
        {
            var only = new MailProfile();
            only.Accounts.Add(accounts.Keys.Single());
            profiles[RoutedTransport.DefaultProfile] = only;
        }

        return new RoutedTransport(
            accounts.ToDictionary(a => a.Key, a => Account(options.Accounts.Count == 0 ? null : a.Key, a.Value, loggers), StringComparer.OrdinalIgnoreCase),
            profiles,
            limiter,
            new AccountRest(options.Dispatch.RetryBaseDelay, options.Dispatch.ConfigurationErrorPause, options.Dispatch.PollInterval, options.Dispatch.RetryMaxDelay),
            options.Dispatch.LeaseDuration,
            TimeProvider.System,
            loggers.CreateLogger<RoutedTransport>());
    }

    // name: the Outbox:Accounts entry's, or null for Outbox:Smtp / Outbox:Graph as the one account
    // (its errors then name that section, its attempts the account "default").
    private static RoutedAccount Account(string? name, SmtpOptions account, ILoggerFactory loggers)
    {
        IMailTransport transport = account.UsesGraph()
            ? new GraphTransport(account.ToGraph(), name is null ? "Outbox:Graph" : $"Outbox:Accounts:{name}", name ?? SmtpTransport.DefaultAccount)
            : new SmtpTransport(account, loggers.CreateLogger<SmtpTransport>(), account: name ?? SmtpTransport.DefaultAccount);
        return new RoutedAccount(transport, account.EffectiveRateLimits(), account.EffectiveMaxConnections());
    }
}
