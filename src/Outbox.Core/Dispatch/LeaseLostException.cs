namespace Outbox.Core.Dispatch;

/// <summary>
/// The mark before a mail's SMTP transaction was not written: this worker's lease on the mail is
/// gone (another worker may have it), or the database did not take the write. Nothing of the
/// mail was sent; the lane sends nothing more of its batch.
/// </summary>
public sealed class LeaseLostException : Exception
{
    public LeaseLostException()
    {
    }

    public LeaseLostException(string message)
        : base(message)
    {
    }

    public LeaseLostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
