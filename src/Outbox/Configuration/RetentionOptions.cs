namespace Outbox.Configuration;

/// <summary>The scheduled purge of finished mail and abandoned drafts (section Outbox:Retention).</summary>
public sealed class RetentionOptions
{
    /// <summary>Sent, failed, cancelled and expired mails created longer ago than this are deleted; null keeps everything.</summary>
    public TimeSpan? KeepFor { get; set; }

    /// <summary>
    /// Drafts (never queued) created longer ago than this are deleted by the same scheduled job;
    /// null keeps them. A draft left by a builder block that failed before enqueue would
    /// otherwise hold its attachments forever.
    /// </summary>
    public TimeSpan? DraftsKeepFor { get; set; } = TimeSpan.FromDays(7);

    /// <summary>When the purge runs: a Quartz cron expression (seconds first), 03:00 every day by default.</summary>
    public string Schedule { get; set; } = "0 0 3 * * ?";

    /// <summary>Mails deleted per statement: small batches keep each transaction and its locks short.</summary>
    public int BatchSize { get; set; } = 1000;
}
