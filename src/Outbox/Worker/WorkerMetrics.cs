using System.Diagnostics.Metrics;
using Outbox.Core.Dispatch;

namespace Outbox.Worker;

/// <summary>The worker host's own counters, in the same meter ("Outbox") as the dispatcher's.</summary>
internal static class WorkerMetrics
{
    private static readonly Meter Meter = new(OutboxMetrics.MeterName);

    /// <summary>Dispatch passes by what started them: the poll schedule, or a notification of new mail.</summary>
    internal static readonly Counter<long> Passes = Meter.CreateCounter<long>("outbox.dispatch.passes", "{pass}", "Dispatch passes, by what started them (poll or notification)");
}
