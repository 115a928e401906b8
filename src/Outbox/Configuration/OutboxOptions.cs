using Outbox.Core.Dispatch;
using Outbox.Core.Sending;
using Outbox.Storage;

namespace Outbox.Configuration;

/// <summary>The root configuration section "Outbox" (config/outbox.json, Outbox__* environment variables).</summary>
public sealed class OutboxOptions
{
    public const string SectionName = "Outbox";

    public DatabaseOptions Database { get; set; } = new();

    /// <summary>smtp (send through Outbox:Smtp) or pickup (write .eml files to Outbox:Pickup:Directory).</summary>
    public string Transport { get; set; } = "pickup";

    public SmtpOptions Smtp { get; set; } = new();

    public PickupOptions Pickup { get; set; } = new();

    public DispatchOptions Dispatch { get; set; } = new();

    public RetentionOptions Retention { get; set; } = new();
}
