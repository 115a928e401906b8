using System.Data.Common;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Outbox.Core.Dispatch;
using Outbox.Storage;
using Quartz;

namespace Outbox.Worker;

/// <summary>
/// The Quartz job: one dispatch pass (everything due, batch after batch). Never two at once in
/// one process; other processes are kept apart by the database's claim.
/// </summary>
[DisallowConcurrentExecution]
public sealed partial class DispatchJob(Dispatcher dispatcher, OutboxDatabase database, CopyGuard copyGuard, WakeSignal signal, WorkerHealth health, WorkerRecord record, IHostApplicationLifetime lifetime, ILogger<DispatchJob> logger) : IJob
{
    public static readonly JobKey Key = new("dispatch", "outbox");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var woken = signal.PassStarting();
        WorkerMetrics.Passes.Add(1, new KeyValuePair<string, object?>("trigger", woken ? "notification" : "poll"));
        health.PassStarted();
        // Quartz waits for a running job at shutdown without cancelling it: the pass stops as
        // soon as the host begins to (SIGTERM, a service stop), within Dispatch:StopTimeout.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        try
        {
            if (!await copyGuard.MaySendAsync(stopping.Token).ConfigureAwait(false))
            {
                health.PassRefused(copyGuard.Refused!);
                // In the copy's own outbox_worker, so its dashboard and status say why nothing goes.
                await RecordAsync($"not sending: {copyGuard.Refused}", failed: true).ConfigureAwait(false);
                return;
            }

            var summary = await dispatcher.DispatchDueAsync(stopping.Token).ConfigureAwait(false);
            signal.PassEnded(woken, summary != DispatchSummary.Empty);
            health.PassEnded(null, dispatcher.Pauses);
            await RecordAsync(Describe(summary), failed: false).ConfigureAwait(false);
        }
        catch (OutcomesNotRecordedException ex)
        {
            OutcomesNotRecorded(logger, ex.Message);
            health.PassEnded(ex.Message, dispatcher.Pauses);
            await RecordAsync(ex.Message, failed: true).ConfigureAwait(false);
            // The sent mails wait for the next pass, within their lease: on new connections, not
            // on the dead ones a restart left in the pool, one failed pass each.
            database.ForgetIdleConnections();
        }
        catch (DbException ex)
        {
            // The database is away (restart, failover, network): say so in one line and try
            // again at the next poll. Outcomes this pass could not write are written first then;
            // mails it had claimed and not tried come back when their lease ends.
            DatabaseUnavailable(logger, ex.Message);
            health.PassEnded(ex.Message, dispatcher.Pauses);
            database.ForgetIdleConnections();
        }
    }

    /// <summary>A pass in one line, for the worker's row: "sent 3, retry later 0, failed 0, not tried 1".</summary>
    public static string Describe(DispatchSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var unconfirmed = summary.Unconfirmed > 0 ? $", held unconfirmed {summary.Unconfirmed}" : string.Empty;
        var expired = summary.Expired > 0 ? $", expired {summary.Expired}" : string.Empty;
        var paused = summary.PausedBecause is { } reason ? $"; {reason}" : string.Empty;
        return $"sent {summary.Sent}, retry later {summary.Retried}, failed {summary.Failed}, not tried {summary.Released}{unconfirmed}{expired}{paused}";
    }

    // The row says what the last pass did; a database that is away is said by the health
    // endpoint and the log, and the row's last_seen_at growing old.
    private async Task RecordAsync(string result, bool failed)
    {
        try
        {
            await record.PassAsync(result, Pause.Scopes(dispatcher.Pauses), failed, CancellationToken.None).ConfigureAwait(false);
        }
        catch (DbException ex)
        {
            WorkerNotRecorded(logger, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not update this worker's row in outbox_worker: {Reason}")]
    private static partial void WorkerNotRecorded(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Stopped sending: {Reason}. Trying again at the next poll.")]
    private static partial void OutcomesNotRecorded(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Cannot reach the outbox database: {Reason}. Trying again at the next poll.")]
    private static partial void DatabaseUnavailable(ILogger logger, string reason);
}
