using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Outbox.Configuration;
using Outbox.Core.Dispatch;
using Outbox.Storage;
using Outbox.Storage.Admin;

namespace Outbox.Worker;

/// <summary>
/// The queue as gauges (mails per status, age of the oldest waiting mail), read from the
/// database every QueueInterval in the background: a scrape never waits for a query. Only runs
/// when metrics are exported, so an idle worker without them issues no extra statements.
/// </summary>
public sealed class QueueGauges : BackgroundService
{
    private static readonly string[] Statuses = ["draft", "queued", "sending", "sent", "unconfirmed", "failed", "cancelled", "expired"];

    private readonly OutboxAdmin _admin;
    private readonly TimeSpan _interval;
    private readonly Meter _meter = new(OutboxMetrics.MeterName);
    private volatile QueueStatus? _status;

    public QueueGauges(OutboxDatabase database, OutboxOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _admin = new OutboxAdmin(database);
        _interval = options.Monitoring.QueueInterval;
        _meter.CreateObservableGauge("outbox.queue.messages", Messages, "{mail}", "Mails in the outbox by status");
        _meter.CreateObservableGauge("outbox.queue.oldest_age", OldestAge, "s", "How long the oldest queued or sending mail has waited");
    }

    public override void Dispose()
    {
        _meter.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_interval);
        do
        {
            try
            {
                _status = await _admin.StatusAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (System.Data.Common.DbException)
            {
                // The database is away: the last figures stand; the health endpoint says why.
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private IEnumerable<Measurement<long>> Messages() =>
        _status is { } status
            ? Statuses.Select(s => new Measurement<long>(status.Counts.GetValueOrDefault(s), new KeyValuePair<string, object?>("status", s)))
            : [];

    private IEnumerable<Measurement<double>> OldestAge() =>
        _status is { } status ? [new Measurement<double>(status.OldestQueuedSeconds ?? 0)] : [];
}
