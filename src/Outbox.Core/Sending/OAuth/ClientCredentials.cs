namespace Outbox.Core.Sending.OAuth;

/// <summary>Reads the client secret: ClientSecret (config or environment), else ClientSecretFile.</summary>
internal static class ClientCredentials
{
    /// <param name="key">The OAuth2 section, for the error when the file cannot be read.</param>
    public static string? Secret(OAuth2Options options, string key = "Outbox:Smtp:OAuth2") =>
        SmtpPassword.Secret(options.ClientSecret, options.ClientSecretFile, $"{key}:ClientSecretFile");
}
