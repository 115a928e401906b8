using Outbox.Core.Dispatch;
using Outbox.Core.Sending;
using Outbox.Storage;

namespace Outbox.Configuration;

/// <summary>The root configuration section "Outbox" (config/outbox.json, Outbox__* environment variables).</summary>
public sealed class OutboxOptions
{
    public const string SectionName = "Outbox";

    public DatabaseOptions Database { get; set; } = new();

    /// <summary>
    /// smtp (send through Outbox:Smtp, or Outbox:Accounts, each smtp or graph), graph (Microsoft
    /// Graph sendMail through Outbox:Graph) or pickup (write .eml files to Outbox:Pickup:Directory).
    /// </summary>
    public string Transport { get; set; } = "pickup";

    public SmtpOptions Smtp { get; set; } = new();

    public Core.Sending.Graph.GraphOptions Graph { get; set; } = new();

    /// <summary>Several SMTP accounts by name (instead of Outbox:Smtp), each with its own server, credentials, connections and rate limits.</summary>
    public Dictionary<string, SmtpOptions> Accounts { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Routes by name: the accounts to try, in order, and the sender domains that pick the profile.</summary>
    public Dictionary<string, Core.Sending.Accounts.MailProfile> Profiles { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public PickupOptions Pickup { get; set; } = new();

    public DispatchOptions Dispatch { get; set; } = new();

    public RetentionOptions Retention { get; set; } = new();

    public MonitoringOptions Monitoring { get; set; } = new();

    public DashboardOptions Dashboard { get; set; } = new();

    /// <summary>Outside production: who may get mail, and where the rest goes instead.</summary>
    public SafetyOptions Safety { get; set; } = new();
}
