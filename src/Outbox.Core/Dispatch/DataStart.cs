namespace Outbox.Core.Dispatch;

/// <summary>What the mark before a mail's SMTP transaction found (<see cref="IDispatchStore.MarkDataStartingAsync"/>).</summary>
public enum DataStart
{
    /// <summary>Recorded: the mail's data may reach the server from now on.</summary>
    Marked,

    /// <summary>Nothing written: this worker's lease on the mail is gone (another worker may have it).</summary>
    NotMine,

    /// <summary>The mail's expires_at had passed: recorded 'expired' instead of the mark, not to be sent.</summary>
    Expired,
}
