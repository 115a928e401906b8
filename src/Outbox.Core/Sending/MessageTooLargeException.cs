namespace Outbox.Core.Sending;

/// <summary>The message is larger than the server's SIZE limit; nothing was sent.</summary>
public sealed class MessageTooLargeException : Exception
{
    public MessageTooLargeException(long size, long limit)
        : base($"the message is {size:N0} bytes but the server accepts at most {limit:N0} (its SIZE limit); nothing was sent. Make the attachments smaller or send them as links")
    {
    }

    public MessageTooLargeException()
    {
    }

    public MessageTooLargeException(string message)
        : base(message)
    {
    }

    public MessageTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
