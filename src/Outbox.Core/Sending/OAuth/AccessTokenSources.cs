namespace Outbox.Core.Sending.OAuth;

/// <summary>Makes the token source the configuration asks for.</summary>
public static class AccessTokenSources
{
    /// <summary>Null when Outbox:Smtp:OAuth2:Provider is None (AUTH with a password, or none).</summary>
    public static IAccessTokenSource? Create(SmtpOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var oauth = options.OAuth2;
        return oauth.Provider switch
        {
            OAuth2Provider.Microsoft => new MicrosoftTokenSource(oauth, TokenHttp.Create(options.CaFile, options.Timeout)),
            OAuth2Provider.TokenEndpoint => new TokenEndpointTokenSource(oauth, TokenHttp.Create(options.CaFile, options.Timeout), time ?? TimeProvider.System),
            _ => null,
        };
    }
}
