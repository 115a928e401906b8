namespace Outbox.Worker;

/// <summary>
/// Coalesces wake-ups: a burst of notifications while a dispatch pass is queued or running asks
/// for one more pass, not one per notification.
/// </summary>
public sealed class WakeSignal
{
    private int _requested;

    /// <summary>True when this call asked for a pass; false when one is already asked for.</summary>
    public bool Request() => Interlocked.Exchange(ref _requested, 1) == 0;

    /// <summary>Called as a pass starts: mail committed from now on needs another pass.</summary>
    public void Reset() => Interlocked.Exchange(ref _requested, 0);
}
