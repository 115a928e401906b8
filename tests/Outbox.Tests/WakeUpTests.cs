using Dapper;
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
        await WaitUntilListeningAsync(outbox);

        // Idle: the worker holds one LISTEN connection and polls once an hour, so none of its
        // connections starts a statement. (Counting transactions in pg_stat_database was
        // flaky: backends report them up to seconds late, so the start's leaked into the window.)
        var windowStart = await outbox.ScalarAsync<DateTime>("select clock_timestamp() + interval '100 milliseconds'");
        await Task.Delay(TimeSpan.FromSeconds(5), Ct);
        var idle = await outbox.QueryAsync<string>(
            "select query from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and query not like '%pg_stat_activity%' and query_start > @windowStart",
            new { windowStart });

        var id = await outbox.ScalarAsync<long>("select outbox_mail.send('a@example.com', 'b@example.com', subject => 'wake up')");
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline && await outbox.StatusOfAsync(id) != "sent")
        {
            await Task.Delay(100, Ct);
        }

        await outbox.AssertStatusAsync(id, "sent");
        Assert.True(idle.Count == 0, $"an idle worker should issue nothing; in 5 s its connections ran: {string.Join("; ", idle)}");
        await worker.TerminateAsync();
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, worker.ExitCode);
    }

    [Fact]
    public async Task A_flood_of_notifications_without_mail_costs_a_bounded_number_of_passes()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var metricsPort = LoopbackPort.Free();
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = "postgresql", outbox.ConnectionString },
            Pickup = new { Directory = Path.Combine(_dir.FullName, "pickup") },
            Dispatch = new { PollInterval = "01:00:00" },
            Monitoring = new { PrometheusUrl = $"http://localhost:{metricsPort}/", QueueInterval = "01:00:00" },
        });
        using var worker = WorkerProcess.Start(_dir.FullName, null, "run", "--config", config);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await WaitUntilListeningAsync(outbox);
        var before = await PassesAsync(http, metricsPort);

        // Any login may notify the channel; none of these announces a mail.
        await using (var flooder = await outbox.OpenAsync())
        {
            for (var i = 0; i < 3000; i++)
            {
                await flooder.ExecuteAsync("select pg_notify('outbox_mail', '')");
            }
        }

        await WaitUntilListeningAsync(outbox);
        var passes = await PassesAsync(http, metricsPort) - before;

        // The pass the first notification asks for, the one asked for while it ran, and one
        // more asked for before the second ended; then notifications wait for the poll interval.
        Assert.True(passes <= 3, $"3000 notifications without mail started {passes} dispatch passes");
        await worker.TerminateAsync();
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, worker.ExitCode);
    }

    // The worker's count of dispatch passes, whatever started them.
    private static async Task<long> PassesAsync(HttpClient http, int port)
    {
        var metrics = await http.GetStringAsync(new Uri($"http://localhost:{port}/metrics"), Ct);
        return System.Text.RegularExpressions.Regex.Matches(metrics, @"^outbox_dispatch_passes_total\{[^}]*\} (\d+)", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Sum(match => long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    // Started once its LISTEN shows and its connections have been quiet for a second (the pass
    // the LISTEN triggers is done): a fixed wait was too short on a loaded machine.
    private static async Task WaitUntilListeningAsync(TestOutbox outbox)
    {
        const string Others = "datname = current_database() and pid <> pg_backend_pid() and query not like '%pg_stat_activity%'";
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await outbox.ScalarAsync<long>($"select count(*) from pg_stat_activity where {Others} and query = 'listen outbox_mail'") == 0
            || await outbox.ScalarAsync<long>($"select count(*) from pg_stat_activity where {Others} and (state = 'active' or query_start > clock_timestamp() - interval '1 second')") > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the worker did not start listening and settle within 60 s");
            await Task.Delay(200, Ct);
        }
    }
}
