namespace Outbox.Core.Sending;

/// <summary>
/// The server throttles the account (SMTP's 432 4.3.2, 421/454 4.7.0, "concurrent connections
/// limit"): it took nothing, and the mail is not at fault. RetryAfter is the wait the reply
/// named, or null, in which case the account backs off on its own.
/// </summary>
public sealed class AccountThrottledException : Exception
{
    public AccountThrottledException(string message, TimeSpan? retryAfter, Exception? innerException)
        : base(message, innerException)
    {
        RetryAfter = retryAfter;
    }

    public AccountThrottledException()
    {
    }

    public AccountThrottledException(string message)
        : base(message)
    {
    }

    public AccountThrottledException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public TimeSpan? RetryAfter { get; }
}
