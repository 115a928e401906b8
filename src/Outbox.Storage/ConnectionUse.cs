namespace Outbox.Storage;

/// <summary>
/// What a data source is for. Each use gets its own pool, named in PostgreSQL's application_name
/// ("outbox dashboard"), so pg_stat_activity tells them apart and one use cannot take the
/// connections another needs: the dashboard's small bounded pool never holds up the worker's.
/// </summary>
public sealed record ConnectionUse(string Name, int? MaxPoolSize)
{
    /// <summary>The worker's dispatch pool: the connection string's own pool settings.</summary>
    public static readonly ConnectionUse Worker = new("worker", null);

    /// <summary>A command of the CLI: one process, one short-lived pool.</summary>
    public static readonly ConnectionUse Cli = new("cli", null);

    /// <summary>The dashboard: at most this many connections, whatever the connection string allows the worker.</summary>
    public static ConnectionUse Dashboard(int maxConnections) => new("dashboard", maxConnections);

    /// <summary>The application_name for a connection string that names <paramref name="given"/> (or none).</summary>
    public string ApplicationName(string? given) => string.IsNullOrWhiteSpace(given)
        ? $"outbox {Name}"
        // The worker keeps the name its DBA gave it; another use of the same string says what it is.
        : this == Worker ? given : $"{given} ({Name})";
}
