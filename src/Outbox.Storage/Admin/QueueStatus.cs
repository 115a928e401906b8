namespace Outbox.Storage.Admin;

/// <summary>The answer of `outbox status`.</summary>
public sealed class QueueStatus
{
    public IReadOnlyDictionary<string, long> Counts { get; init; } = new Dictionary<string, long>();

    public double? OldestQueuedSeconds { get; init; }

    public IReadOnlyList<RecentError> RecentErrors { get; init; } = [];
}
