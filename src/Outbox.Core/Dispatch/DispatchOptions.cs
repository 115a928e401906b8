namespace Outbox.Core.Dispatch;

/// <summary>How the worker claims and retries (configuration section Outbox:Dispatch).</summary>
public sealed class DispatchOptions
{
    /// <summary>How often an idle worker looks for due mail.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Mails claimed at once by one connection.</summary>
    public int BatchSize { get; set; } = 50;

    /// <summary>SMTP connections one worker sends over side by side, each claiming its own batches.</summary>
    public int Connections { get; set; } = 1;

    /// <summary>
    /// How long a claim holds without renewal. The worker renews its batch's leases every third
    /// of this while it sends; a crashed worker's mail is taken over this long after the crash.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Attempts before a mail with transient failures ends as failed.</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>Delay before the second attempt; each later one doubles it, up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long mail waits after a configuration error (login or TLS refused) before the next try.</summary>
    public TimeSpan ConfigurationErrorPause { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>This worker's name in leases and the attempt log; host:pid when empty.</summary>
    public string? WorkerName { get; set; }
}
