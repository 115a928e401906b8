namespace Outbox.Core.Dispatch;

/// <summary>
/// The mark before a mail's SMTP transaction found its expires_at passed (it expired while it
/// waited in the worker's batch) and recorded it 'expired' instead: nothing of it was sent, and
/// the lane goes on with the next mail.
/// </summary>
public sealed class MailExpiredException : Exception
{
    public MailExpiredException()
    {
    }

    public MailExpiredException(string message)
        : base(message)
    {
    }

    public MailExpiredException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
