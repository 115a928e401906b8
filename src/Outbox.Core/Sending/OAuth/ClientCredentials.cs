namespace Outbox.Core.Sending.OAuth;

/// <summary>Reads the client secret: ClientSecret (config or environment), else ClientSecretFile.</summary>
internal static class ClientCredentials
{
    public static string? Secret(OAuth2Options options)
    {
        if (!string.IsNullOrEmpty(options.ClientSecret))
        {
            return options.ClientSecret;
        }

        if (string.IsNullOrWhiteSpace(options.ClientSecretFile))
        {
            return null;
        }

        try
        {
            return File.ReadAllText(options.ClientSecretFile).TrimEnd('\r', '\n');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TransportConfigurationException($"Outbox:Smtp:OAuth2:ClientSecretFile: cannot read {options.ClientSecretFile} ({ex.Message})", ex);
        }
    }
}
