namespace Outbox.Storage.Admin;

/// <summary>The answer of `outbox status`.</summary>
public sealed class QueueStatus
{
    public IReadOnlyDictionary<string, long> Counts { get; init; } = new Dictionary<string, long>();

    public double? OldestQueuedSeconds { get; init; }

    /// <summary>When the next queued mail that is not due yet (scheduled, or waiting out a retry's backoff) is due, UTC; null: none.</summary>
    public string? NextDueAt { get; init; }

    public IReadOnlyList<RecentError> RecentErrors { get; init; } = [];
}
