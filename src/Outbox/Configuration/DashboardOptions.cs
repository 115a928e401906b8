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
}
