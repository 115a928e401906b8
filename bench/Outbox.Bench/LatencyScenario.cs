using System.Diagnostics;
using Dapper;
using Npgsql;

namespace Outbox.Bench;

/// <summary>
/// From the commit of the enqueuing transaction to the server's 250, with an idle worker polling
/// at the default 10 s (LISTEN/NOTIFY wakes it); and how many statements the idle worker issues.
/// </summary>
public static class LatencyScenario
{
    public static async Task RunAsync(BenchOptions options, Report report)
    {
        Console.WriteLine("latency ...");
        await using var database = await BenchDatabase.CreateAsync(options, "bench_latency");
        await using var receiver = new Receiver(tls: false, options.Work);
        var config = WorkerChild.WriteConfig(options, "bench_latency",
            new { Host = "127.0.0.1", receiver.Port, Security = "None", AllowInsecure = true });
        using var worker = WorkerChild.Start(["run", "--config", config]);
        _ = worker.StandardOutput.ReadToEndAsync();
        _ = worker.StandardError.ReadToEndAsync();
        await Task.Delay(TimeSpan.FromSeconds(3));

        var p50 = new List<double>();
        var p99 = new List<double>();
        var samples = options.Quick ? 40 : 100;
        await using var connection = new NpgsqlConnection(BenchDatabase.ConnectionString(options, "bench_latency"));
        await connection.OpenAsync();

        // Warm-up, not measured: the worker's first sends pay for JIT compilation and connections.
        for (var i = 0; i < 10; i++)
        {
            await connection.ExecuteAsync("select outbox_mail.send('bench@example.com', 'sink@example.com', subject => 'warm-up', message => 'x')");
            await Task.Delay(100);
        }

        for (var run = 0; run < options.Runs; run++)
        {
            var committed = new Dictionary<string, long>();
            for (var i = 0; i < samples; i++)
            {
                var subject = $"latency {run}-{i}";
                await connection.ExecuteAsync("select outbox_mail.send('bench@example.com', 'sink@example.com', subject => @subject, message => 'x')", new { subject });
                committed[subject] = Stopwatch.GetTimestamp();
                await Task.Delay(100);
            }

            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline && committed.Keys.Any(s => !receiver.Arrivals.ContainsKey(s)))
            {
                await Task.Delay(50);
            }

            var latencies = committed.Select(c => Stopwatch.GetElapsedTime(c.Value, receiver.Arrivals[c.Key]).TotalMilliseconds).Order().ToList();
            p50.Add(latencies[latencies.Count / 2]);
            p99.Add(latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(latencies.Count * 0.99) - 1)]);
        }

        report.Add("latency (idle worker, PollInterval 10 s)", "commit → 250, p50", p50, "ms");
        report.Add("latency (idle worker, PollInterval 10 s)", "commit → 250, p99", p99, "ms");

        var idle = new List<double>();
        await Task.Delay(TimeSpan.FromSeconds(2));
        for (var run = 0; run < options.Runs; run++)
        {
            var before = await TransactionsAsync(connection);
            await Task.Delay(TimeSpan.FromSeconds(10));
            idle.Add((await TransactionsAsync(connection) - before - 1) / 10.0);
        }

        report.Add("idle worker", "transactions per second on its database", idle, "/s", "PollInterval 10 s: one claim per poll; LISTEN costs none");
        worker.Kill();
    }

    private static async Task<long> TransactionsAsync(NpgsqlConnection connection)
    {
        await connection.ExecuteAsync("select pg_stat_clear_snapshot()");
        await Task.Delay(1100);
        return await connection.ExecuteScalarAsync<long>("select xact_commit + xact_rollback from pg_stat_database where datname = current_database()");
    }
}
