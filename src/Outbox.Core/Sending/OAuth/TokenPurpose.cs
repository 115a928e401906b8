namespace Outbox.Core.Sending.OAuth;

/// <summary>
/// What a token is for: SMTP (XOAUTH2) or Microsoft Graph. Each needs its own scope and its own
/// permission, and its errors name its own configuration keys.
/// </summary>
/// <param name="Key">The OAuth2 section errors name, e.g. Outbox:Smtp:OAuth2.</param>
/// <param name="DefaultScope">The scope MSAL asks Microsoft for when Scope is not set.</param>
/// <param name="EndpointDefaultScope">The scope asked of a token endpoint when Scope is not set; null asks for none (the endpoint's default).</param>
/// <param name="MicrosoftPermission">What an Entra app registration needs, for the error when no token comes.</param>
public sealed record TokenPurpose(string Key, string DefaultScope, string? EndpointDefaultScope, string MicrosoftPermission)
{
    public static TokenPurpose Smtp(string key) => new(
        key, OAuth2Options.MicrosoftSmtpScope, null,
        "the app needs the SMTP.SendAsApp permission (Office 365 Exchange Online) with admin consent");

    /// <param name="scope">Graph's own scope: https://graph.microsoft.com/.default, or a national cloud's.</param>
    public static TokenPurpose Graph(string key, string scope) => new(
        key, scope, scope,
        "the app needs the application permission Mail.Send (Microsoft Graph) with admin consent");
}
