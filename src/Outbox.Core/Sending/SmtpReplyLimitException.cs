namespace Outbox.Core.Sending;

/// <summary>
/// A server's reply broke a limit of <see cref="ServerReplyGuard"/> (too long, or still coming
/// when its time was up): the session is dropped, as for any broken connection.
/// </summary>
public sealed class SmtpReplyLimitException : IOException
{
    public SmtpReplyLimitException()
    {
    }

    public SmtpReplyLimitException(string message)
        : base(message)
    {
    }

    public SmtpReplyLimitException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
