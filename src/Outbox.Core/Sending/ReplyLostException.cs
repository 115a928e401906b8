namespace Outbox.Core.Sending;

/// <summary>The whole message was written to the server, then the connection failed before its reply.</summary>
public sealed class ReplyLostException : Exception
{
    public ReplyLostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ReplyLostException()
    {
    }

    public ReplyLostException(string message)
        : base(message)
    {
    }
}
