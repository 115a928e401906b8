using Microsoft.Extensions.Logging;
using Outbox.Configuration;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Quartz;

namespace Outbox.Worker;

/// <summary>The scheduled retention purge (Outbox:Retention: finished mails, abandoned drafts), run by Quartz on its cron schedule.</summary>
[DisallowConcurrentExecution]
public sealed partial class PurgeJob(OutboxDatabase database, OutboxOptions options, ILogger<PurgeJob> logger) : IJob
{
    public static readonly JobKey Key = new("purge", "outbox");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var admin = new OutboxAdmin(database);
        if (options.Retention.KeepFor is { } keepFor)
        {
            var done = await admin.PurgeAsync(keepFor, options.Retention.BatchSize, null, cancellationToken).ConfigureAwait(false);
            Purged(logger, done.Deleted, keepFor, done.Skipped);
        }

        if (options.Retention.DraftsKeepFor is { } draftsFor)
        {
            var done = await admin.PurgeDraftsAsync(draftsFor, options.Retention.BatchSize, cancellationToken).ConfigureAwait(false);
            PurgedDrafts(logger, done.Deleted, draftsFor, done.Skipped);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention: deleted {Count} finished mail(s) older than {KeepFor}; skipped {Skipped} held by another transaction, for the next run")]
    private static partial void Purged(ILogger logger, long count, TimeSpan keepFor, long skipped);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention: deleted {Count} draft(s) never queued, older than {KeepFor}; skipped {Skipped} an application's open transaction holds, for the next run")]
    private static partial void PurgedDrafts(ILogger logger, long count, TimeSpan keepFor, long skipped);
}
