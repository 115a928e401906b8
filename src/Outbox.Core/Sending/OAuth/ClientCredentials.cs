namespace Outbox.Core.Sending.OAuth;

/// <summary>Reads the client secret: ClientSecret (config or environment), else ClientSecretFile.</summary>
internal static class ClientCredentials
{
    public static string? Secret(OAuth2Options options) =>
        SmtpPassword.Secret(options.ClientSecret, options.ClientSecretFile, "Outbox:Smtp:OAuth2:ClientSecretFile");
}
