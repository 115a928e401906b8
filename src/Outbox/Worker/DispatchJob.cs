using Outbox.Core.Dispatch;
using Quartz;

namespace Outbox.Worker;

/// <summary>
/// The Quartz job: one dispatch pass (everything due, batch after batch). Never two at once in
/// one process; other processes are kept apart by the database's claim.
/// </summary>
[DisallowConcurrentExecution]
public sealed class DispatchJob(Dispatcher dispatcher) : IJob
{
    public static readonly JobKey Key = new("dispatch", "outbox");

    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        new(dispatcher.DispatchDueAsync(cancellationToken));
}
