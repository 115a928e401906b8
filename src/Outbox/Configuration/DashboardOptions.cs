namespace Outbox.Configuration;

/// <summary>The web dashboard (section Outbox:Dashboard): off unless Url is set; read-only unless AllowActions is true.</summary>
public sealed class DashboardOptions
{
    /// <summary>The address the worker (or `outbox dashboard`) serves the dashboard on, e.g. "http://127.0.0.1:9466/". Null: no dashboard.</summary>
    public string? Url { get; set; }

    /// <summary>Whether the dashboard may retry and cancel mail; without it, it only reads.</summary>
    public bool AllowActions { get; set; }

    /// <summary>The login (HTTP Basic) the dashboard asks for; required when Url is not a loopback address.</summary>
    public string? UserName { get; set; }

    /// <summary>The login's password; prefer Outbox__Dashboard__Password or PasswordFile to writing it in the JSON.</summary>
    public string? Password { get; set; }

    /// <summary>A file holding the login's password (e.g. a systemd credential); one trailing line break is ignored.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>
    /// The dashboard's own database pool: at most this many connections (named "outbox dashboard"
    /// in PostgreSQL's pg_stat_activity), apart from the worker's, and at most this many requests
    /// that use the database at once; one more is answered 503 at once rather than made to wait.
    /// </summary>
    public int DatabaseConnections { get; set; } = 4;

    /// <summary>The largest `.eml` the dashboard hands out: it is written to a temporary file first, so the database is not held while a client reads.</summary>
    public long MaxDownloadBytes { get; set; } = 256L * 1024 * 1024;
}
