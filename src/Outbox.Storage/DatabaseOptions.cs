namespace Outbox.Storage;

/// <summary>Which database holds the outbox (configuration section Outbox:Database).</summary>
public sealed class DatabaseOptions
{
    /// <summary>sqlite, postgresql or oracle.</summary>
    public string Provider { get; set; } = "sqlite";

    public string ConnectionString { get; set; } = "Data Source=outbox.db";

    /// <summary>
    /// Oracle only: the schema that owns the outbox tables, when the worker connects as another
    /// user (one granted OUTBOX_WORKER). Unset: the connecting user's own schema.
    /// </summary>
    public string? Schema { get; set; }
}
