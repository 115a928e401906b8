using System.Data.Common;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Outbox.Configuration;
using Outbox.Storage;
using Quartz;

namespace Outbox.Worker;

/// <summary>
/// Wakes the dispatch job as soon as new mail is committed (PostgreSQL LISTEN/NOTIFY), so an
/// idle worker sends within milliseconds without polling often. Polling every PollInterval stays
/// as the safety net; on SQLite it is the only way. <see cref="WakeSignal"/> decides which
/// notifications start a pass: any login may send them.
/// </summary>
public sealed partial class NewMailListener(OutboxDatabase database, OutboxOptions options, ISchedulerFactory schedulers, WakeSignal signal, ILogger<NewMailListener> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (database.Dialect.WakeWorkersStatement is null)
        {
            return;
        }

        var scheduler = await schedulers.GetScheduler(stoppingToken).ConfigureAwait(false);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await database.Dialect.ListenForNewMailAsync(
                    database.DataSource,
                    async cancellationToken =>
                    {
                        if (signal.Request())
                        {
                            await scheduler.TriggerJob(DispatchJob.Key, cancellationToken).ConfigureAwait(false);
                        }
                    },
                    stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is DbException or IOException or TimeoutException)
            {
                ListenerLost(logger, ex.Message, options.Dispatch.PollInterval);
                await Task.Delay(options.Dispatch.PollInterval, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not listening for new mail ({Reason}); polling every {PollInterval} until the database is back.")]
    private static partial void ListenerLost(ILogger logger, string reason, TimeSpan pollInterval);
}
