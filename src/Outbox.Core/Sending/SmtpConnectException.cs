namespace Outbox.Core.Sending;

/// <summary>The SMTP server could not be reached; worth retrying later.</summary>
public sealed class SmtpConnectException : Exception
{
    public SmtpConnectException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SmtpConnectException()
    {
    }

    public SmtpConnectException(string message)
        : base(message)
    {
    }
}
