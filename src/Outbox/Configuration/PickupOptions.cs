namespace Outbox.Configuration;

/// <summary>Where the pickup transport writes .eml files (section Outbox:Pickup).</summary>
public sealed class PickupOptions
{
    public string Directory { get; set; } = "pickup";
}
