namespace Outbox.Dashboard;

/// <summary>
/// A fixed number of requests that may hold something at once (a database connection, a
/// download's temporary file). One more is refused at once, never queued: a client that waits
/// would hold its connection to the dashboard, and the queue would have no bound.
/// </summary>
public sealed class RequestSlots(int count)
{
    private int _taken;

    public int Count => count;

    /// <summary>A slot to dispose when done, or null when all are taken.</summary>
    public Slot? TryTake()
    {
        if (Interlocked.Increment(ref _taken) > count)
        {
            Interlocked.Decrement(ref _taken);
            return null;
        }

        return new Slot(this);
    }

    /// <summary>One taken slot; disposing it more than once gives it back once.</summary>
    public sealed class Slot(RequestSlots slots) : IDisposable
    {
        private int _returned;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _returned, 1) == 0)
            {
                Interlocked.Decrement(ref slots._taken);
            }
        }
    }
}
