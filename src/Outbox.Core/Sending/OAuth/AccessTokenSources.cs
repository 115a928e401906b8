namespace Outbox.Core.Sending.OAuth;

/// <summary>Makes the token source the configuration asks for.</summary>
public static class AccessTokenSources
{
    /// <summary>Null when Outbox:Smtp:OAuth2:Provider is None (AUTH with a password, or none).</summary>
    public static IAccessTokenSource? Create(SmtpOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Create(options.OAuth2, options.CaFile, options.Timeout, TokenPurpose.Smtp("Outbox:Smtp:OAuth2"), time);
    }

    /// <summary>Null when the provider is None.</summary>
    /// <param name="caFile">CA certificates trusted for the token endpoint besides the system's.</param>
    public static IAccessTokenSource? Create(OAuth2Options oauth, string? caFile, TimeSpan timeout, TokenPurpose purpose, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(oauth);
        return oauth.Provider switch
        {
            OAuth2Provider.Microsoft => new MicrosoftTokenSource(oauth, TokenHttp.Create(caFile, timeout), purpose),
            OAuth2Provider.TokenEndpoint => new TokenEndpointTokenSource(oauth, TokenHttp.Create(caFile, timeout), time ?? TimeProvider.System, purpose),
            _ => null,
        };
    }
}
