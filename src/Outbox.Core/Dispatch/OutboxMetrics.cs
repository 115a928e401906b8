using System.Diagnostics.Metrics;

namespace Outbox.Core.Dispatch;

/// <summary>
/// The worker's counters and timings (meter "Outbox"), tagged by account. Exported by
/// OpenTelemetry when the worker is configured to (Outbox:Metrics); free when nobody listens.
/// </summary>
public static class OutboxMetrics
{
    public const string MeterName = "Outbox";

    private static readonly Meter Meter = new(MeterName);

    internal static readonly Counter<long> Sent = Meter.CreateCounter<long>("outbox.mails.sent", "{mail}", "Mails the SMTP server accepted");

    internal static readonly Counter<long> Failed = Meter.CreateCounter<long>("outbox.mails.failed", "{mail}", "Mails that ended failed");

    internal static readonly Counter<long> Retried = Meter.CreateCounter<long>("outbox.mails.retried", "{mail}", "Attempts that will be retried later (charged)");

    internal static readonly Counter<long> Unconfirmed = Meter.CreateCounter<long>("outbox.mails.unconfirmed", "{mail}", "Attempts whose outcome is unknown (reply lost, worker died)");

    internal static readonly Counter<long> Expired = Meter.CreateCounter<long>("outbox.mails.expired", "{mail}", "Mails not sent because their expires_at had passed: when a worker claimed them, when their turn in the batch came, or before their retry");

    internal static readonly Counter<long> Deferred = Meter.CreateCounter<long>("outbox.mails.deferred", "{mail}", "Mails handed back uncharged: server unavailable, configuration error, rate limit");

    // Buckets in seconds, from a fast local relay to a slow upload of a large attachment.
    internal static readonly Histogram<double> SendDuration = Meter.CreateHistogram(
        "outbox.send.duration", "s", "One mail, from building it to the server's reply", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] });

    internal static readonly Counter<long> Replies = Meter.CreateCounter<long>("outbox.smtp.replies", "{reply}", "The server's final reply to each mail, by class (2xx, 4xx, 5xx)");

    private static Func<IReadOnlyList<Pause>> _pauses = () => [];

    // 1 for each scope this worker last read as paused ("*" for all sending, else a profile).
    private static readonly ObservableGauge<int> Paused = Meter.CreateObservableGauge(
        "outbox.paused", () => _pauses().Select(p => new Measurement<int>(1, new KeyValuePair<string, object?>("scope", p.Scope))), "{pause}", "Pauses this worker honours, by scope (* for all sending, else a profile)");

    /// <summary>Where the paused gauge reads the pauses from: the process's dispatcher.</summary>
    internal static void WatchPauses(Func<IReadOnlyList<Pause>> pauses) => _pauses = pauses;

    internal static KeyValuePair<string, object?> Account(string? account) => new("account", account ?? "unknown");

    internal static void Reply(int? code, string? account)
    {
        if (code is { } value)
        {
            Replies.Add(1, Account(account), new("class", $"{value / 100}xx"));
        }
    }
}
