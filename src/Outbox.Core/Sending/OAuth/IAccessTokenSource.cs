namespace Outbox.Core.Sending.OAuth;

/// <summary>
/// Gives a valid access token for SMTP, from its cache while the token has more than
/// RefreshBefore left. Throws <see cref="TransportConfigurationException"/> when no token can be
/// had, naming the provider's error and the keys to check.
/// </summary>
public interface IAccessTokenSource
{
    /// <summary>Where tokens come from, for messages (never a secret).</summary>
    string Describe { get; }

    Task<AccessToken> GetAsync(CancellationToken cancellationToken);
}
