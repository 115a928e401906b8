namespace Outbox.Worker;

/// <summary>
/// Decides which notifications start a dispatch pass. A burst while a pass is queued or running
/// asks for one more pass, not one per notification. Notifications cost nothing to send (any
/// database login may NOTIFY the channel), so they are believed only while they lead to mail:
/// after two passes in a row that notifications asked for and that found nothing to claim,
/// notifications start at most one pass per poll interval, until a pass finds mail again.
/// </summary>
public sealed class WakeSignal(TimeProvider time, TimeSpan pollInterval)
{
    // Two, not one: the pass a notification asks for while another runs often finds nothing,
    // because the running pass took the mail; that alone must not slow the next mail down.
    private const int EmptyPassesBelieved = 2;

    private int _requested;
    private long _ignoredUntilTicks;
    private int _emptyWokenPasses;
    private DateTimeOffset _passStarted;

    /// <summary>True when this call asked for a pass; false when one is already asked for, or notifications are not believed for now.</summary>
    public bool Request() =>
        time.GetUtcNow().UtcTicks >= Interlocked.Read(ref _ignoredUntilTicks) && Interlocked.Exchange(ref _requested, 1) == 0;

    /// <summary>Called as a pass starts: mail committed from now on needs another pass. True when a notification asked for this one.</summary>
    public bool PassStarting()
    {
        _passStarted = time.GetUtcNow();
        return Interlocked.Exchange(ref _requested, 0) == 1;
    }

    /// <summary>Called when a pass ends (passes never overlap): whether a notification asked for it, and whether it found mail to claim.</summary>
    public void PassEnded(bool woken, bool foundMail)
    {
        if (foundMail)
        {
            _emptyWokenPasses = 0;
            Interlocked.Exchange(ref _ignoredUntilTicks, 0);
        }
        else if (woken && ++_emptyWokenPasses >= EmptyPassesBelieved)
        {
            Interlocked.Exchange(ref _ignoredUntilTicks, (_passStarted + pollInterval).UtcTicks);
        }
    }
}
