namespace Outbox.Core.Sending;

/// <summary>
/// This mail cannot go out as it is (an address the server cannot take, a header with control
/// characters, nobody left to send it to): it fails alone, with the reason, and the others go on.
/// </summary>
public sealed class UnsendableMailException : Exception
{
    public UnsendableMailException()
    {
    }

    public UnsendableMailException(string message)
        : base(message)
    {
    }

    public UnsendableMailException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
