namespace Outbox.Core.Sending;

/// <summary>How the connection to the SMTP server is protected.</summary>
public enum SmtpSecurity
{
    /// <summary>Plain connect, then STARTTLS; fails when the server does not offer it (no silent downgrade).</summary>
    StartTls,

    /// <summary>TLS from the first byte (SMTPS, usually port 465).</summary>
    SslOnConnect,

    /// <summary>No encryption. Refused unless AllowInsecure is set, and never with a password.</summary>
    None,
}
