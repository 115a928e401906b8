namespace Outbox.Core.Dispatch;

/// <summary>
/// The pauses as this worker last read them from the database: at the start of every pass, and
/// between mails or batches again once a poll interval has passed since the last read. One small
/// query per poll interval at most while sending, never one per mail.
/// </summary>
internal sealed class PauseWatch(IDispatchStore store, TimeSpan interval, TimeProvider time)
{
    private volatile IReadOnlyList<Pause> _pauses = [];
    private long _readAt = long.MinValue;

    /// <summary>The pauses as last read (none before the first read).</summary>
    public IReadOnlyList<Pause> Current => _pauses;

    /// <summary>Reads the pauses now; returns the previous ones, to tell a change.</summary>
    public async Task<IReadOnlyList<Pause>> ReadAsync()
    {
        Interlocked.Exchange(ref _readAt, time.GetTimestamp());
        var read = await store.ReadPausesAsync(CancellationToken.None).ConfigureAwait(false);
        var before = _pauses;
        _pauses = read;
        return before;
    }

    /// <summary>
    /// True when the last read is a poll interval old, for one caller only: the lanes of a pass
    /// share one read, and the one that is told to reads.
    /// </summary>
    public bool TakeStale()
    {
        var readAt = Interlocked.Read(ref _readAt);
        return (readAt == long.MinValue || time.GetElapsedTime(readAt) >= interval)
            && Interlocked.CompareExchange(ref _readAt, time.GetTimestamp(), readAt) == readAt;
    }
}
