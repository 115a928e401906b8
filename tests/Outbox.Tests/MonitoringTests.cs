using Outbox.Tests.Infrastructure;
using Outbox.Worker;

namespace Outbox.Tests;

/// <summary>The worker's Prometheus endpoint and health endpoint, scraped from a running `outbox run` process.</summary>
public sealed class MonitoringTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-monitoring-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task A_running_worker_exports_its_counters_and_queue_gauges_and_answers_health_checks()
    {
        var (metricsPort, healthPort) = (LoopbackPort.Free(), LoopbackPort.Free());
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" },
            Transport = "pickup",
            Pickup = new { Directory = Path.Combine(_dir.FullName, "pickup") },
            Dispatch = new { PollInterval = "00:00:01" },
            Monitoring = new { PrometheusUrl = $"http://localhost:{metricsPort}/", HealthUrl = $"http://localhost:{healthPort}/", QueueInterval = "00:00:01" },
        });
        using var worker = WorkerProcess.Start(_dir.FullName, null, "run", "--config", config);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Outbox.Commands.OutboxCli.RunAsync(["send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--text", "x"], TextWriter.Null, TextWriter.Null, Ct);

        var metrics = await PollAsync(http, $"http://localhost:{metricsPort}/metrics",
            text => System.Text.RegularExpressions.Regex.IsMatch(text, @"outbox_queue_messages\{[^}]*status=""sent""\} 1"), worker);
        var health = await http.GetAsync(new Uri($"http://localhost:{healthPort}/health"), Ct);

        Assert.Matches(@"outbox_mails_sent_total\{[^}]*account=""pickup""[^}]*\} 1", metrics);
        // The count, not a bucket: how long the send took depends on the machine.
        Assert.Matches(@"outbox_send_duration_seconds_count\{[^}]*account=""pickup""[^}]*\} 1", metrics);
        Assert.Matches(@"outbox_smtp_replies_total\{[^}]*account=""pickup"",class=""2xx""\} 1", metrics);
        Assert.Contains("outbox_queue_oldest_age_seconds", metrics, StringComparison.Ordinal);
        Assert.Equal(200, (int)health.StatusCode);
        Assert.Contains("\"status\":\"healthy\"", await health.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        await worker.TerminateAsync();
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_paused_worker_is_healthy_and_says_so_in_health_and_metrics()
    {
        var (metricsPort, healthPort) = (LoopbackPort.Free(), LoopbackPort.Free());
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" },
            Transport = "pickup",
            Pickup = new { Directory = Path.Combine(_dir.FullName, "pickup") },
            Dispatch = new { PollInterval = "00:00:00.500" },
            Monitoring = new { PrometheusUrl = $"http://localhost:{metricsPort}/", HealthUrl = $"http://localhost:{healthPort}/" },
        });
        await Outbox.Commands.OutboxCli.RunAsync(["pause", "--profile", "bulk", "--reason", "provider incident", "--config", config], TextWriter.Null, TextWriter.Null, Ct);
        using var worker = WorkerProcess.Start(_dir.FullName, null, "run", "--config", config);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

        var health = await PollAsync(http, $"http://localhost:{healthPort}/health", text => text.Contains("\"paused\"", StringComparison.Ordinal), worker);
        var metrics = await PollAsync(http, $"http://localhost:{metricsPort}/metrics", text => text.Contains("outbox_paused", StringComparison.Ordinal), worker);

        Assert.Matches("^\\{\"status\":\"healthy\",\"detail\":\"polling; last pass [^\"]+; profile \\\\u0022bulk\\\\u0022 paused by [^\"]+ \\(provider incident\\)\",\"paused\":\"bulk\"\\}$", health);
        Assert.Matches(@"outbox_paused\{[^}]*scope=""bulk""[^}]*\} 1", metrics);
        await Outbox.Commands.OutboxCli.RunAsync(["resume", "--config", config], TextWriter.Null, TextWriter.Null, Ct);
        health = await PollAsync(http, $"http://localhost:{healthPort}/health", text => !text.Contains("\"paused\"", StringComparison.Ordinal), worker);
        Assert.Contains("\"status\":\"healthy\"", health, StringComparison.Ordinal);
        await worker.TerminateAsync();
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Health_answers_any_host_and_both_endpoints_listen_on_every_address_when_told()
    {
        var (metricsPort, healthPort) = (LoopbackPort.Free(), LoopbackPort.Free());
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" },
            Transport = "pickup",
            Pickup = new { Directory = Path.Combine(_dir.FullName, "pickup") },
            Monitoring = new { PrometheusUrl = $"http://0.0.0.0:{metricsPort}/", HealthUrl = $"http://localhost:{healthPort}/" },
        });
        using var worker = WorkerProcess.Start(_dir.FullName, null, "run", "--config", config);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

        // Configured as localhost, probed by address with a balancer's Host header.
        var metrics = await PollAsync(http, $"http://127.0.0.1:{metricsPort}/metrics", text => text.Contains("target_info", StringComparison.Ordinal), worker);
        using var probe = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://127.0.0.1:{healthPort}/health"));
        probe.Headers.Host = "probe.example";
        using var health = await http.SendAsync(probe, Ct);

        Assert.Contains("target_info", metrics, StringComparison.Ordinal);
        Assert.Equal(200, (int)health.StatusCode);
        Assert.Contains("\"status\":\"healthy\"", await health.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        await worker.TerminateAsync();
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(worker.ExitCode == 0, worker.Output);
    }

    [Fact]
    public void Health_turns_bad_when_passes_stop_or_the_database_is_away()
    {
        var time = new ManualTime(DateTimeOffset.Parse("2026-11-29T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var health = new WorkerHealth(time);
        var poll = TimeSpan.FromSeconds(10);

        Assert.Equal((true, "starting"), health.Evaluate(poll));
        health.PassStarted();
        health.PassEnded(null, []);
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(health.Evaluate(poll).Healthy);
        health.PassStarted();
        health.PassEnded("connection refused", []);
        Assert.Equal((false, "the last pass could not reach the database: connection refused"), health.Evaluate(poll));
        health.PassStarted();
        health.PassEnded(null, []);
        health.PassStarted();
        health.PassEnded(null, [new Core.Dispatch.Pause { Scope = "*", PausedBy = "ops", PausedAt = "2026-11-29T10:00:30.000Z", Reason = "database upgrade" }]);
        Assert.Equal((true, "polling; last pass 00:00:00 ago; all sending paused by ops at 2026-11-29T10:00:30.000Z (database upgrade)"), health.Evaluate(poll));
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.False(health.Evaluate(poll).Healthy);
        Assert.StartsWith("no dispatch pass for 00:02:00", health.Evaluate(poll).Status, StringComparison.Ordinal);
    }

    private static async Task<string> PollAsync(HttpClient http, string url, Func<string, bool> done, WorkerProcess worker)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var last = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await http.GetStringAsync(new Uri(url), Ct);
                if (done(last))
                {
                    return last;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200, Ct);
        }

        Assert.Fail($"{url} never showed what was expected; last answer:\n{last}\nworker output:\n{worker.Output}");
        return last;
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset _now = now;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
