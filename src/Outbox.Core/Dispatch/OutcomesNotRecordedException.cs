namespace Outbox.Core.Dispatch;

/// <summary>
/// The server accepted mails whose outcome the database did not take (it went away, a lock was
/// held past the command timeout): they stay leased and are taken over as unconfirmed when the
/// lease runs out. The message says so in one line.
/// </summary>
public sealed class OutcomesNotRecordedException : Exception
{
    public OutcomesNotRecordedException()
    {
    }

    public OutcomesNotRecordedException(string message)
        : base(message)
    {
    }

    public OutcomesNotRecordedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
