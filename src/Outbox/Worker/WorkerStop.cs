using System.Data.Common;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Outbox.Storage;

namespace Outbox.Worker;

/// <summary>
/// Marks this worker's row in outbox_worker stopped when the host stops cleanly, after the last
/// pass (its hosted service is registered before Quartz's, so it stops after it).
/// </summary>
public sealed partial class WorkerStop(WorkerRecord record, ILogger<WorkerStop> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // A database that is away must not hold up the stop: a few seconds, then the row ages out.
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await record.StoppedAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DbException or OperationCanceledException)
        {
            // The row then ages out like a crashed worker's; stopping goes on.
            NotMarked(logger, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not mark this worker stopped in outbox_worker: {Reason}")]
    private static partial void NotMarked(ILogger logger, string reason);
}
