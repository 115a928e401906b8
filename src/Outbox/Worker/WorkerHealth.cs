using Outbox.Core.Dispatch;

namespace Outbox.Worker;

/// <summary>
/// What the health endpoint reports: whether dispatch passes keep starting (Quartz is alive) and
/// whether the last one reached the database (and was allowed to send: not in a copy of the
/// database). Written by DispatchJob.
/// </summary>
public sealed class WorkerHealth(TimeProvider time)
{
    private readonly DateTimeOffset _started = time.GetUtcNow();
    private DateTimeOffset? _lastPass;
    private string? _databaseError;
    private IReadOnlyList<Pause> _pauses = [];
    private string? _refused;

    public void PassStarted() => _lastPass = time.GetUtcNow();

    /// <summary>The end of a pass: the database's error if it failed on it, and the pauses the worker honours.</summary>
    public void PassEnded(string? databaseError, IReadOnlyList<Pause> pauses)
    {
        _databaseError = databaseError;
        _pauses = pauses;
        _refused = null;
    }

    /// <summary>The pass sent nothing on purpose: the database is a copy that was not adopted.</summary>
    public void PassRefused(string reason)
    {
        _databaseError = null;
        _refused = reason;
    }

    /// <summary>The pauses the worker honoured at its last pass.</summary>
    public IReadOnlyList<Pause> Pauses => _pauses;

    /// <summary>
    /// Healthy when a pass started within two poll intervals (plus a minute's grace) and the last
    /// one reached the database. A paused worker is healthy: it polls, and says it is paused.
    /// </summary>
    public (bool Healthy, string Status) Evaluate(TimeSpan pollInterval)
    {
        var now = time.GetUtcNow();
        var allowed = (2 * pollInterval) + TimeSpan.FromMinutes(1);
        var last = _lastPass ?? _started;
        if (now - last > allowed)
        {
            return (false, $"no dispatch pass for {now - last:hh\\:mm\\:ss} (expected every {pollInterval:c})");
        }

        if (_refused is { } refused)
        {
            return (false, $"not sending: {refused}");
        }

        return _databaseError is { } error
            ? (false, $"the last pass could not reach the database: {error}")
            : (true, (_lastPass is null ? "starting" : $"polling; last pass {now - _lastPass.Value:hh\\:mm\\:ss} ago")
                + string.Concat(_pauses.Select(p => $"; {p}")));
    }
}
