namespace Outbox.Configuration;

/// <summary>The scheduled purge of finished mail (section Outbox:Retention). Off unless KeepFor is set.</summary>
public sealed class RetentionOptions
{
    /// <summary>Sent, failed and cancelled mails created longer ago than this are deleted; null keeps everything.</summary>
    public TimeSpan? KeepFor { get; set; }

    /// <summary>When the purge runs: a Quartz cron expression (seconds first), 03:00 every day by default.</summary>
    public string Schedule { get; set; } = "0 0 3 * * ?";

    /// <summary>Mails deleted per statement: small batches keep each transaction and its locks short.</summary>
    public int BatchSize { get; set; } = 1000;
}
