namespace Outbox.Core.Sending.OAuth;

/// <summary>An OAuth2 access token and when it stops being valid.</summary>
public sealed record AccessToken(string Value, DateTimeOffset ExpiresOn)
{
    // Never shown: a token is a credential.
    public override string ToString() => $"access token expiring {ExpiresOn:u}";
}
