using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>New mail wakes an idle worker (LISTEN/NOTIFY), and an idle worker stays quiet.</summary>
public sealed class WakeUpTests(PostgresServer postgres) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-wake-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task Committed_mail_wakes_a_worker_that_polls_only_hourly_and_an_idle_worker_issues_almost_no_statements()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = "postgresql", outbox.ConnectionString },
            Pickup = new { Directory = Path.Combine(_dir.FullName, "pickup") },
            Dispatch = new { PollInterval = "01:00:00" },
        });
        using var worker = WorkerProcess.Start(_dir.FullName, null, "run", "--config", config);
        await Task.Delay(TimeSpan.FromSeconds(3), Ct);

        // Idle: the worker holds one LISTEN connection and polls once an hour.
        var before = await TransactionsAsync(outbox);
        await Task.Delay(TimeSpan.FromSeconds(5), Ct);
        var idle = await TransactionsAsync(outbox) - before;

        var id = await outbox.ScalarAsync<long>("select outbox_mail.send('a@example.com', 'b@example.com', subject => 'wake up')");
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline && await outbox.StatusOfAsync(id) != "sent")
        {
            await Task.Delay(100, Ct);
        }

        await outbox.AssertStatusAsync(id, "sent");
        Assert.True(idle <= 5, $"an idle worker should issue about nothing; the database counted {idle} transactions in 5 s (the test's own included)");
        await worker.TerminateAsync();
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, worker.ExitCode);
    }

    private static async Task<long> TransactionsAsync(TestOutbox outbox)
    {
        // Statistics reach pg_stat_database when a backend flushes them; force our view to be fresh.
        await outbox.ExecuteAsync("select pg_stat_clear_snapshot()");
        await Task.Delay(1100, Ct);
        return await outbox.ScalarAsync<long>("select xact_commit + xact_rollback from pg_stat_database where datname = current_database()");
    }
}
