namespace Outbox.Storage.Admin;

/// <summary>What a bulk retry did: the mails that matched as it began, and how many of them it queued.</summary>
/// <param name="Matched">The mails the filter matched when the retry began: the set it worked on, each at most once.</param>
/// <param name="Queued">The mails it queued.</param>
public sealed record BulkRetryOutcome(long Matched, long Queued)
{
    /// <summary>Mails of the set it left alone: they left the status meanwhile, or another transaction held them.</summary>
    public long Skipped => Matched - Queued;

    /// <summary>Mails the filter matched that it left out because their expires_at has passed (not in Matched).</summary>
    public long Expired { get; init; }
}
