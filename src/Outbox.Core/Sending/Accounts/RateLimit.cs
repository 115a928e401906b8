namespace Outbox.Core.Sending.Accounts;

/// <summary>
/// At most Messages through an account in any window of length Per (configuration:
/// Outbox:Accounts:NAME:RateLimits): mails, or with CountBy recipients, recipients (a mail to 50
/// takes 50), as providers such as Microsoft 365 count their daily limit.
/// </summary>
public sealed class RateLimit
{
    public int Messages { get; set; }

    public TimeSpan Per { get; set; }

    public RateCount CountBy { get; set; } = RateCount.Messages;

    public override string ToString() => $"{Messages} {(CountBy == RateCount.Recipients ? "recipients" : "mails")} per {Per:c}";
}

/// <summary>What a rate limit counts.</summary>
public enum RateCount
{
    Messages,
    Recipients,
}
