namespace Outbox.Core.Sending;

/// <summary>Every account a mail may go through is at one of its rate limits until RetryAfter has passed.</summary>
public sealed class RateLimitedException : Exception
{
    public RateLimitedException(string message, TimeSpan retryAfter)
        : base(message)
    {
        RetryAfter = retryAfter;
    }

    public RateLimitedException()
    {
    }

    public RateLimitedException(string message)
        : base(message)
    {
    }

    public RateLimitedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public TimeSpan RetryAfter { get; }
}
