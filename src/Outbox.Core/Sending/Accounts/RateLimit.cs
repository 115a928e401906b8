namespace Outbox.Core.Sending.Accounts;

/// <summary>At most Messages mails through an account in any window of length Per (configuration: Outbox:Accounts:NAME:RateLimits).</summary>
public sealed class RateLimit
{
    public int Messages { get; set; }

    public TimeSpan Per { get; set; }

    public override string ToString() => $"{Messages} per {Per:c}";
}
