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

    /// <summary>
    /// On a stop (SIGTERM, a service stop, Ctrl+C): how long the mail in flight may still take
    /// before its transaction is cut. Untried mails are handed back at once. Stays well inside
    /// the service managers' stop timeouts (the units' TimeoutStopSec=90; Windows waits about
    /// 20 s at shutdown).
    /// </summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest <see cref="StopTimeout"/> allowed.</summary>
    public static readonly TimeSpan MaxStopTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a stopping worker process may take in all, with StopTimeout at its maximum:
    /// the mail in flight, recording what was sent, handing back, closing. The service units'
    /// TimeoutStopSec (90 s) is above it.
    /// </summary>
    public static readonly TimeSpan MaxStopTime = MaxStopTimeout + TimeSpan.FromSeconds(20);

    /// <summary>This worker's name in leases and the attempt log; host:pid when empty.</summary>
    public string? WorkerName { get; set; }
}
