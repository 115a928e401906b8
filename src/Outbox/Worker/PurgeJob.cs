using Microsoft.Extensions.Logging;
using Outbox.Configuration;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Quartz;

namespace Outbox.Worker;

/// <summary>The scheduled retention purge (Outbox:Retention), run by Quartz on its cron schedule.</summary>
[DisallowConcurrentExecution]
public sealed partial class PurgeJob(OutboxDatabase database, OutboxOptions options, ILogger<PurgeJob> logger) : IJob
{
    public static readonly JobKey Key = new("purge", "outbox");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var keepFor = options.Retention.KeepFor ?? throw new InvalidOperationException("the purge is scheduled only when Outbox:Retention:KeepFor is set");
        var deleted = await new OutboxAdmin(database).PurgeAsync(keepFor, options.Retention.BatchSize, null, cancellationToken).ConfigureAwait(false);
        Purged(logger, deleted, keepFor);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention: deleted {Count} finished mail(s) older than {KeepFor}")]
    private static partial void Purged(ILogger logger, long count, TimeSpan keepFor);
}
