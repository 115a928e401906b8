namespace Outbox.Commands;

/// <summary>
/// Says on stderr what a diagnostic is waiting for once a step takes longer than a moment
/// ("waiting for the answer to AUTH…"), so a silent server does not look like a hung command.
/// One line per step that keeps it waiting; nothing when every step is quick.
/// </summary>
internal sealed class WaitingNotice : IProgress<string>, IDisposable
{
    private readonly TextWriter _error;
    private readonly string _limit;
    private readonly Timer _timer;
    private readonly Lock _lock = new();
    private string? _stage;

    /// <param name="after">How long a step may take before it is named.</param>
    /// <param name="limit">What bounds the wait, as the operator would change it ("Outbox:Smtp:Timeout, 00:01:00").</param>
    public WaitingNotice(TextWriter error, TimeSpan after, string limit)
    {
        _error = error;
        _limit = limit;
        _timer = new Timer(_ => Tell(), null, Timeout.Infinite, Timeout.Infinite);
        After = after;
    }

    public TimeSpan After { get; }

    public void Report(string value)
    {
        lock (_lock)
        {
            _stage = value;
            _timer.Change(After, Timeout.InfiniteTimeSpan);
        }
    }

    private void Tell()
    {
        lock (_lock)
        {
            if (_stage is not null)
            {
                _error.WriteLine($"outbox: waiting for {_stage}… (gives up after {_limit})");
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stage = null;
        }

        _timer.Dispose();
    }
}
