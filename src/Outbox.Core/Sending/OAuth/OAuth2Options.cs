namespace Outbox.Core.Sending.OAuth;

/// <summary>Where an OAuth2 access token for SMTP (XOAUTH2) comes from.</summary>
public enum OAuth2Provider
{
    /// <summary>No OAuth2: AUTH with Outbox:Smtp:UserName and a password, if any.</summary>
    None,

    /// <summary>Microsoft 365 / Entra ID, client credentials through MSAL (secret or certificate).</summary>
    Microsoft,

    /// <summary>Any OAuth2 token endpoint that grants client credentials (RFC 6749, section 4.4).</summary>
    TokenEndpoint,
}

/// <summary>
/// OAuth2 for SMTP (configuration section Outbox:Smtp:OAuth2). The token is sent with
/// XOAUTH2 for the mailbox in Outbox:Smtp:UserName; no password is used.
/// </summary>
public sealed class OAuth2Options
{
    public const string MicrosoftSmtpScope = "https://outlook.office365.com/.default";

    public OAuth2Provider Provider { get; set; } = OAuth2Provider.None;

    /// <summary>Microsoft: the directory (tenant) id or domain.</summary>
    public string? TenantId { get; set; }

    /// <summary>Microsoft: the authority, when not the public cloud's (https://login.microsoftonline.com/TENANT).</summary>
    public string? Authority { get; set; }

    /// <summary>TokenEndpoint: the URL tokens are requested from (https).</summary>
    public string? TokenEndpoint { get; set; }

    public string? ClientId { get; set; }

    /// <summary>The client secret. Prefer the environment (Outbox__Smtp__OAuth2__ClientSecret) or ClientSecretFile.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>A file holding the client secret (e.g. a systemd credential).</summary>
    public string? ClientSecretFile { get; set; }

    /// <summary>Microsoft: a certificate (PFX, or PEM with its key) to authenticate the app instead of a secret.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>The password of a PFX CertificateFile, if it has one.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>The scope asked for; Microsoft's default is https://outlook.office365.com/.default.</summary>
    public string? Scope { get; set; }

    /// <summary>A token is renewed this long before it expires.</summary>
    public TimeSpan RefreshBefore { get; set; } = TimeSpan.FromMinutes(5);
}
