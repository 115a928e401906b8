namespace Outbox.Storage;

/// <summary>Which database holds the outbox (configuration section Outbox:Database).</summary>
public sealed class DatabaseOptions
{
    /// <summary>sqlite, postgresql or oracle.</summary>
    public string Provider { get; set; } = "sqlite";

    public string ConnectionString { get; set; } = "Data Source=outbox.db";
}
