namespace Outbox.Storage.Admin;

/// <summary>What a purge did.</summary>
/// <param name="Deleted">The mails it deleted.</param>
/// <param name="Skipped">Mails old enough that it left because another transaction held them (an application building a draft, a retry queueing them).</param>
public sealed record PurgeOutcome(long Deleted, long Skipped);
