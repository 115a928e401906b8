namespace Outbox.Core.Sending;

/// <summary>
/// The mail names a profile the configuration does not have: no account may send it until an
/// operator adds the profile (or cancels the mail). Only this mail waits.
/// </summary>
public sealed class UnroutableMailException : Exception
{
    public UnroutableMailException()
    {
    }

    public UnroutableMailException(string message)
        : base(message)
    {
    }

    public UnroutableMailException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
