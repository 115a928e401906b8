using System.Diagnostics;
using Outbox.Storage;

namespace Outbox.Bench;

/// <summary>The time to claim a batch of 50 with 10 k and with 1 M finished rows in the table.</summary>
public static class ClaimCostScenario
{
    public static async Task RunAsync(BenchOptions options, Report report)
    {
        Console.WriteLine("claim cost ...");
        await using var database = await BenchDatabase.CreateAsync(options, "bench_claim");
        await BenchDatabase.EnqueueAsync(database, 2000, 100);
        var store = new OutboxStore(database, "bench");
        var finished = 0;
        double? small = null;
        foreach (var target in new[] { 10_000, options.Quick ? 200_000 : 1_000_000 })
        {
            await BenchDatabase.ExecuteAsync(database, """
                insert into outbox.outbox_message (status, kind, sender, subject, mime_message_id, created_at, sent_at, attempt_count)
                select 'sent', 'mime', 'bench@example.com', 'old ' || g, '<old' || g || '@example.com>', now() - interval '1 day', now() - interval '1 day', 1
                from generate_series(@from, @to) g
                """, new { from = finished + 1, to = target });
            finished = target;
            await BenchDatabase.ExecuteAsync(database, "vacuum analyze outbox.outbox_message");

            var times = new List<double>();
            for (var i = 0; i < (options.Quick ? 10 : 30); i++)
            {
                var clock = Stopwatch.StartNew();
                var batch = await store.ClaimAsync(50, TimeSpan.FromMinutes(5), holdTakenOver: false, CancellationToken.None);
                times.Add(clock.Elapsed.TotalMilliseconds);
                await store.ReleaseAsync(batch, TimeSpan.FromSeconds(-1), null, null, CancellationToken.None);
            }

            var median = Report.Median(times);
            small ??= median;
            report.Add("claim cost", $"batch of 50, {target:N0} finished rows", [median], "ms",
                target == 10_000 ? "median of the claims" : $"{median / small.Value:0.00}× the cost at 10 k");
        }
    }
}
