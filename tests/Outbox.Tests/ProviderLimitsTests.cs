using Microsoft.Extensions.Logging.Abstractions;
using Outbox.Configuration;
using Outbox.Core.Messages;
using Outbox.Core.Sending;
using Outbox.Core.Sending.Accounts;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;
using Outbox.Worker;

namespace Outbox.Tests;

/// <summary>
/// Limits that hold across every worker sharing a database: an account's MaxConnections counted
/// in the database (real worker processes against a server that counts its open sessions), a
/// dead worker's connection slot taken over after its lease, throttling replies taken as the
/// account's rate limit and never charged to the mail, provider presets, and rate limits counted
/// by recipients.
/// </summary>
public sealed class ProviderLimitsTests(PostgresServer postgres) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-limits-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task Three_workers_with_three_lanes_each_never_open_more_sessions_than_the_accounts_MaxConnections()
    {
        // Each reply to the data takes a while, so every lane wants its session at the same time.
        await using var smtp = ScriptedSmtpServer.Start(step => step.Phase == "dot" ? SmtpFault.Delay(TimeSpan.FromMilliseconds(150)) : null);
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        const int Mails = 36;
        for (var i = 0; i < Mails; i++)
        {
            await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["someone@example.com"], Subject = $"limited {i}", TextBody = "hello" });
        }

        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = "postgresql", outbox.ConnectionString },
            Transport = "smtp",
            Accounts = new { limited = new { Host = "127.0.0.1", smtp.Port, Security = "None", AllowInsecure = true, Timeout = "00:00:05", MaxConnections = 3 } },
            Dispatch = new { PollInterval = "00:00:00.200", Connections = 3, BatchSize = 2, LeaseDuration = "00:00:30", StopTimeout = "00:00:02" },
        });
        var workers = Enumerable.Range(1, 3).Select(n => WorkerProcess.Start(
            _dir.FullName, new Dictionary<string, string> { ["Outbox__Dispatch__WorkerName"] = $"worker-{n}" }, "run", "--config", config)).ToList();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (smtp.Received.Count < Mails && DateTime.UtcNow < deadline && workers.All(w => !w.HasExited))
            {
                await Task.Delay(200, Ct);
            }

            Assert.True(smtp.Received.Count == Mails, $"{smtp.Received.Count} of {Mails} sent; {string.Join(" | ", workers.Select(w => w.Output))}");
            Assert.InRange(smtp.MostOpenSessions, 2, 3);
            // All three workers sent, and none was charged an attempt for a full account.
            Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_attempt where outcome <> 'sent'"));
            Assert.True(await outbox.ScalarAsync<long>("select count(distinct worker) from outbox.outbox_attempt") >= 2, "the mails went through more than one worker");
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.TerminateAsync();
            }

            foreach (var worker in workers)
            {
                await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));
                worker.Dispose();
            }
        }

        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_connection_slot"));
    }

    [Fact]
    public async Task Three_dispatchers_never_have_more_graph_requests_in_flight_than_the_presets_concurrency_overridden_to_two()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync("outbox@contoso.com", token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var options = new OutboxOptions { Transport = "smtp" };
        options.Dispatch.PollInterval = TimeSpan.FromMilliseconds(100);
        options.Accounts["m365"] = GraphTests.GraphAccount(graph, tokens);
        options.Accounts["m365"].Preset = "microsoft-graph";
        options.Accounts["m365"].MaxConnections = 2;

        // Each worker with its own transport and limiter: only the database is shared.
        var most = await MostGraphRequestsInFlightAsync(outbox, graph, name => outbox.Dispatcher(
            Transport(options, outbox, name), TestOutbox.FastRetries(d => { d.Connections = 3; d.BatchSize = 1; }), name));

        Assert.Equal(2, most);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message where attempt_count > 1"));
    }

    // Outbox:Graph alone (Graph as Outbox:Transport) counts its limits in the database as an
    // account's: three workers, Graph's preset with MaxConnections 2, never a third request.
    [Fact]
    public async Task Outbox_graph_alone_counts_its_concurrent_requests_across_workers()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync("outbox@contoso.com", token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.PostgresAsync(postgres);

        var most = await MostGraphRequestsInFlightAsync(outbox, graph, name =>
        {
            var options = new OutboxOptions { Transport = "graph" };
            options.Graph = GraphTests.GraphAccount(graph, tokens).ToGraph();
            options.Graph.Preset = "microsoft-graph";
            options.Graph.MaxConnections = 2;
            options.Dispatch.WorkerName = name;
            options.Dispatch.Connections = 3;
            options.Dispatch.BatchSize = 1;
            options.Dispatch.RetryBaseDelay = TimeSpan.FromMilliseconds(100);
            return OutboxRuntime.CreateDispatcher(options, outbox.Database, NullLoggerFactory.Instance);
        });

        Assert.Equal(2, most);
        Assert.Equal(["default"], await outbox.QueryAsync<string>("select distinct account from outbox.outbox_attempt"));
    }

    // Twelve mails sent by three workers (three lanes each) against the Graph stand-in, until all
    // arrived; returns the most requests the stand-in had in flight at once.
    private static async Task<int> MostGraphRequestsInFlightAsync(TestOutbox outbox, TestGraphServer graph, Func<string, Core.Dispatch.Dispatcher> worker)
    {
        var (inFlight, most) = (0, 0);
        graph.OnSendMail = async _ =>
        {
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref most, now);
            // Long enough that the workers' requests overlap even on a loaded machine, so the
            // cap is reached (and a missing cap shows as a third).
            await Task.Delay(400, Ct);
            Interlocked.Decrement(ref inFlight);
        };
        const int Mails = 12;
        for (var i = 0; i < Mails; i++)
        {
            await outbox.EnqueueAsync(new MailRequest { Sender = "outbox@contoso.com", To = ["to@example.com"], Subject = $"g{i}", TextBody = "x" });
        }

        var workers = new[] { "w1", "w2", "w3" }.Select(worker).ToList();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (graph.Received.Count < Mails && DateTime.UtcNow < deadline)
        {
            await Task.WhenAll(workers.Select(w => w.DispatchDueAsync(Ct)));
            await outbox.ExecuteAsync("update outbox.outbox_message set due_at = now() where status = 'queued'");
        }

        Assert.Equal(Mails, graph.Received.Count);
        return most;
    }

    [Fact]
    public async Task A_killed_workers_connection_slot_counts_until_its_lease_ends_and_is_then_taken_over()
    {
        // The first session never gets its reply to the data: the worker holds it until killed.
        await using var smtp = ScriptedSmtpServer.Start(step => step is { Phase: "dot", Connection: 0 } ? SmtpFault.Silence : null);
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["a@example.com"], Subject = "held", TextBody = "x" });
        var lease = TimeSpan.FromSeconds(10);
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = "postgresql", outbox.ConnectionString },
            Transport = "smtp",
            Accounts = new { limited = new { Host = "127.0.0.1", smtp.Port, Security = "None", AllowInsecure = true, Timeout = "00:01:00", MaxConnections = 1 } },
            Dispatch = new { PollInterval = "00:00:00.200", LeaseDuration = "00:00:10" },
        });
        using var doomed = WorkerProcess.Start(_dir.FullName, new Dictionary<string, string> { ["Outbox__Dispatch__WorkerName"] = "doomed" }, "run", "--config", config);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (smtp.DataReceived.IsEmpty && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, Ct);
        }

        Assert.False(smtp.DataReceived.IsEmpty, doomed.Output);
        Assert.Equal(["doomed"], await outbox.QueryAsync<string>("select worker from outbox.outbox_connection_slot"));
        doomed.Kill();
        await doomed.WaitForExitAsync(TimeSpan.FromSeconds(10));
        var killedAt = DateTime.UtcNow;

        // Another worker, with its own limiter: while the dead one's lease runs, the account is full.
        var next = await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["b@example.com"], Subject = "next", TextBody = "x" });
        var options = Options(("limited", smtp));
        options.Accounts["limited"].MaxConnections = 1;
        var dispatcher = outbox.Dispatcher(Transport(options, outbox, "survivor"), TestOutbox.FastRetries(d => d.LeaseDuration = lease), "survivor");
        await dispatcher.DispatchDueAsync(Ct);
        var waiting = (await outbox.QueryAsync<(string Status, long AttemptCount, string LastError)>(
            "select status, attempt_count, last_error from outbox.outbox_message where id = @next", new { next })).Single();
        Assert.Equal(("queued", 0L), (waiting.Status, waiting.AttemptCount));
        Assert.Contains("account limited has all its 1 connections open", waiting.LastError, StringComparison.Ordinal);

        while (await outbox.StatusOfAsync(next) != "sent" && DateTime.UtcNow < killedAt.AddSeconds(30))
        {
            await outbox.MakeDueAsync(next);
            await dispatcher.DispatchDueAsync(Ct);
            await Task.Delay(200, Ct);
        }

        await outbox.AssertStatusAsync(next, "sent");
        Assert.True(DateTime.UtcNow - killedAt >= lease - TimeSpan.FromSeconds(1), "the slot was taken over before the dead worker's lease ended");
        Assert.Contains(smtp.Received, m => m.To.SequenceEqual(["b@example.com"]));
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_connection_slot where worker = 'doomed'"));
    }

    [Theory]
    [InlineData("dot", "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded")]
    [InlineData("connect", "421 4.7.0 Too many connections, closing transmission channel")]
    [InlineData("MAIL", "454 4.7.0 Temporary server error. Please try again later. PRX4")]
    [InlineData("RCPT", "451 4.7.500 Server busy: concurrent connections limit exceeded")]
    [InlineData("MAIL", "421 4.7.66 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending")]
    public async Task A_throttling_reply_is_the_accounts_rate_limit_and_never_charged_to_the_mail(string phase, string reply)
    {
        await using var smtp = ScriptedSmtpServer.Start(step => step.Phase == phase ? SmtpFault.Reply(reply) : null);
        await using var outbox = await TestOutbox.SqliteAsync();
        var options = Options(("limited", smtp));
        var id = await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["a@example.com"], Subject = "throttled", TextBody = "x" });

        var summary = await outbox.Dispatcher(Transport(options, outbox)).DispatchDueAsync(Ct);

        Assert.Equal(0, summary.Sent);
        var row = (await outbox.QueryAsync<(string Status, long AttemptCount, string LastError, double DueInSeconds)>(
            "select status, attempt_count, last_error, (julianday(due_at) - julianday('now')) * 86400 from outbox_message where id = @id", new { id })).Single();
        Assert.Equal(("queued", 0L), (row.Status, row.AttemptCount));
        Assert.Contains($"the server throttles account limited ({reply})", row.LastError, StringComparison.Ordinal);
        // The account's own backoff starts at RetryBaseDelay (a minute here).
        Assert.InRange(row.DueInSeconds, 50, 61);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox_attempt"));
    }

    [Fact]
    public async Task A_throttled_account_waits_what_the_reply_names_else_doubles_its_backoff_and_starts_over_after_a_send()
    {
        const string Busy = "421 4.7.0 Too many connections";
        var throttle = new Queue<string?>([Busy, Busy, null, Busy, $"{Busy}, try again in 7 seconds"]);
        string? current = null;
        await using var smtp = ScriptedSmtpServer.Start(step => step.Phase == "connect" && current is { } line ? SmtpFault.Reply(line) : null);
        await using var outbox = await TestOutbox.SqliteAsync();
        var options = Options(("limited", smtp));
        options.Dispatch.RetryBaseDelay = TimeSpan.FromSeconds(1);
        var transport = Transport(options, outbox);
        var waits = new List<double>();
        while (throttle.TryDequeue(out current))
        {
            var id = await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["a@example.com"], Subject = "t", TextBody = "x" });
            await outbox.Dispatcher(transport).DispatchDueAsync(Ct);
            if (current is null)
            {
                await outbox.AssertStatusAsync(id, "sent");
                continue;
            }

            waits.Add(await outbox.ScalarAsync<double>("select (julianday(due_at) - julianday('now')) * 86400 from outbox_message where id = @id", new { id }));
            await outbox.ExecuteAsync("update outbox_message set status = 'cancelled' where id = @id", new { id });
            // Past the account's rest, so the next mail reaches the server again.
            await Task.Delay(TimeSpan.FromSeconds(waits[^1] + 0.2), Ct);
        }

        Assert.Equal(5, smtp.Connections);
        Assert.InRange(waits[0], 0.5, 1.05);
        Assert.InRange(waits[1], 1.5, 2.05);
        Assert.InRange(waits[2], 0.5, 1.05);
        Assert.InRange(waits[3], 6.5, 7.05);
    }

    [Fact]
    public async Task Without_accounts_a_throttling_reply_still_waits_uncharged()
    {
        await using var smtp = ScriptedSmtpServer.Start(step => step.Phase == "dot" ? SmtpFault.Reply("432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded") : null);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["a@example.com"], Subject = "t", TextBody = "x" });

        await outbox.SmtpDispatcher(smtp.Options()).DispatchDueAsync(Ct);

        var row = (await outbox.QueryAsync<(string Status, long AttemptCount, string LastError)>("select status, attempt_count, last_error from outbox_message where id = @id", new { id })).Single();
        Assert.Equal(("queued", 0L), (row.Status, row.AttemptCount));
        Assert.StartsWith("the server throttles account default (432 4.3.2", row.LastError, StringComparison.Ordinal);
        // An operator sees why the mail waits in `outbox status`.
        var config = WorkerProcess.WriteConfig(_dir.FullName, new { Database = new { Provider = "sqlite", outbox.ConnectionString } });
        var (code, status) = await Cli.RunAsync("status", "--config", config);
        Assert.Equal(0, code);
        Assert.Contains("the server throttles account default (432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded)", status, StringComparison.Ordinal);
    }

    [Fact]
    public void A_preset_gives_the_providers_published_limits_and_each_explicit_key_overrides_its_value()
    {
        var file = Path.Combine(_dir.FullName, "outbox.json");
        File.WriteAllText(file, """
            { "Outbox": { "Accounts": {
                "m365": { "Host": "smtp.office365.com", "Preset": "microsoft365" },
                "tuned": { "Host": "smtp.office365.com", "Preset": "Microsoft365", "MaxConnections": 1,
                           "RateLimits": [ { "Messages": 20, "Per": "1m" }, { "Messages": 5, "Per": "1h" } ] },
                "graph": { "Transport": "graph", "Mailbox": "outbox@contoso.com", "Preset": "microsoft-graph",
                           "OAuth2": { "Provider": "TokenEndpoint", "TokenEndpoint": "https://login.example.com/token", "ClientId": "app", "ClientSecret": "s" } },
                "plain": { "Host": "mail.example.com", "MaxConnections": 0 } },
              "Profiles": { "default": { "Accounts": [ "m365", "tuned", "graph", "plain" ] } } } }
            """);

        var accounts = OutboxConfiguration.Load(file).Accounts;

        Assert.Equal(3, accounts["m365"].EffectiveMaxConnections());
        Assert.Equal(["30 mails per 00:01:00", "10000 recipients per 1.00:00:00"], accounts["m365"].EffectiveRateLimits().Select(l => l.ToString()));
        Assert.Equal(1, accounts["tuned"].EffectiveMaxConnections());
        Assert.Equal(["20 mails per 00:01:00", "5 mails per 01:00:00", "10000 recipients per 1.00:00:00"], accounts["tuned"].EffectiveRateLimits().Select(l => l.ToString()));
        Assert.Equal(4, accounts["graph"].EffectiveMaxConnections());
        Assert.Equal(["10000 mails per 00:10:00", "10000 recipients per 1.00:00:00"], accounts["graph"].EffectiveRateLimits().Select(l => l.ToString()));
        Assert.Equal(0, accounts["plain"].EffectiveMaxConnections());
        Assert.Empty(accounts["plain"].EffectiveRateLimits());
    }

    [Fact]
    public async Task An_unknown_preset_is_refused_in_one_line_naming_the_key_and_the_presets()
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" },
            Transport = "smtp",
            Accounts = new { main = new { Host = "mail.example.com", Preset = "office365\u001b[31m" + new string('x', 500) } },
        });

        var (code, output) = await Cli.RunAsync("config", "--config", config);

        Assert.NotEqual(0, code);
        var line = Assert.Single(output.Split('\n'), l => l.Contains("Outbox:Accounts:main:Preset:", StringComparison.Ordinal));
        Assert.Contains("is not a preset; use microsoft365 or microsoft-graph, or remove it and set MaxConnections and RateLimits.", line, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b", line, StringComparison.Ordinal);
        Assert.True(line.Length < 300, line);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task A_limit_counted_by_recipients_takes_one_for_each_recipient_of_a_mail(string provider)
    {
        await using var smtp = ScriptedSmtpServer.Start();
        await using var outbox = provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);
        var options = Options(("limited", smtp));
        options.Accounts["limited"].RateLimits.Add(new RateLimit { Messages = 60, Per = TimeSpan.FromHours(1), CountBy = RateCount.Recipients });
        options.Accounts["limited"].RateLimits.Add(new RateLimit { Messages = 100, Per = TimeSpan.FromHours(1) });
        var fifty = await outbox.EnqueueAsync(Mail(50));
        var ten = await outbox.EnqueueAsync(Mail(10));
        var one = await outbox.EnqueueAsync(Mail(1));
        var transport = Transport(options, outbox);

        var summary = await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        // 50 + 10 fill the 60; the third mail waits, uncharged, though only two mails went out.
        Assert.Equal(2, summary.Sent);
        await outbox.AssertStatusAsync(fifty, "sent");
        await outbox.AssertStatusAsync(ten, "sent");
        var waiting = (await outbox.QueryAsync<(string Status, long AttemptCount, string LastError)>(
            $"select status, attempt_count, last_error from {outbox.T("outbox_message")} where id = @one", new { one })).Single();
        Assert.Equal(("queued", 0L), (waiting.Status, waiting.AttemptCount));
        Assert.Contains("account limited has used its rate limits 60 recipients per 01:00:00, 100 mails per 01:00:00", waiting.LastError, StringComparison.Ordinal);
        Assert.Equal([10L, 50L], (await outbox.QueryAsync<long>($"select recipients from {outbox.T("outbox_rate_slot")}")).Order());
    }

    [Fact]
    public async Task The_dashboard_shows_a_presets_limits_in_use_with_recipients_summed_and_the_connections_open()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var limiter = new DatabaseRateLimiter(outbox.Database, "worker-a");
        var m365 = new SmtpOptions { Preset = "microsoft365" };
        var slot = await limiter.ReserveAsync("default", m365.EffectiveRateLimits(), 50, TimeSpan.FromMinutes(1), Ct);
        await limiter.ReleaseAsync(slot, used: true, Ct);
        await limiter.TakeConnectionAsync("default", 3, TimeSpan.FromMinutes(1), Ct);
        await using var dashboard = await Dashboard.DashboardHost.StartAsync(outbox.ConnectionString, _ => { }, configure: o => o.Smtp.Preset = "microsoft365");
        using var client = new HttpClient { BaseAddress = new Uri(dashboard.Url) };

        var overview = await client.GetStringAsync("/", Ct);

        var row = overview.Split('\n').Single(l => l.Contains("<tr class=\"account\"><td>default</td>", StringComparison.Ordinal));
        Assert.Contains("<div>1 of 30 per 00:01:00</div><div>50 of 10000 recipients per 1.00:00:00</div><div>1 of 3 connections open</div>", row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sqlite_file_of_schema_version_6_gets_the_connection_slots_and_recipients_and_counts_a_slot_from_before_as_one()
    {
        var file = Path.Combine(_dir.FullName, "v6.db");
        await using (var old = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=False"))
        {
            await old.OpenAsync(Ct);
            var v6 = SchemaInstaller.ReadScript("sql/sqlite/01_tables.sql")
                .Replace("    done_at      text not null,\n    recipients   integer\n", "    done_at      text not null\n", StringComparison.Ordinal);
            v6 = v6[..v6.IndexOf("-- Connection limits", StringComparison.Ordinal)] + v6[v6.IndexOf("-- Mail templates", StringComparison.Ordinal)..];
            Assert.DoesNotContain("recipients   integer", v6, StringComparison.Ordinal);
            Assert.DoesNotContain("outbox_connection_slot", v6, StringComparison.Ordinal);
            await Dapper.SqlMapper.ExecuteAsync(old, v6 + "update outbox_setting set value = '6' where name = 'schema_version';"
                + "insert into outbox_rate_slot (account, done_at) values ('limited', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));");
        }

        await using var outbox = TestOutbox.Existing("sqlite", $"Data Source={file}");
        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);
        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);

        Assert.Empty(await new SchemaInstaller(outbox.Database).MissingTablesAsync(Ct));
        Assert.Equal("7", await outbox.ScalarAsync<string>("select value from outbox_setting where name = 'schema_version'"));
        var limiter = new DatabaseRateLimiter(outbox.Database, "upgraded");
        RateLimit[] limits = [new() { Messages = 12, Per = TimeSpan.FromHours(1), CountBy = RateCount.Recipients }];
        // The slot from before counts one: 1 + 10 fit, 1 + 10 + 2 do not.
        Assert.True((await limiter.ReserveAsync("limited", limits, 10, TimeSpan.FromMinutes(1), Ct)).Granted);
        Assert.False((await limiter.ReserveAsync("limited", limits, 2, TimeSpan.FromMinutes(1), Ct)).Granted);
        Assert.NotNull(await limiter.TakeConnectionAsync("limited", 1, TimeSpan.FromMinutes(1), Ct));
        Assert.Null(await limiter.TakeConnectionAsync("limited", 1, TimeSpan.FromMinutes(1), Ct));
    }

    private static void InterlockedMax(ref int most, int value)
    {
        for (var seen = Volatile.Read(ref most); value > seen; seen = Volatile.Read(ref most))
        {
            Interlocked.CompareExchange(ref most, value, seen);
        }
    }

    private static MailRequest Mail(int recipients) => new()
    {
        Sender = "app@example.com",
        To = [.. Enumerable.Range(0, recipients).Select(i => $"r{i}@example.com")],
        Subject = $"to {recipients}",
        TextBody = "x",
    };

    private static OutboxOptions Options(params (string Name, ScriptedSmtpServer Server)[] accounts)
    {
        var options = new OutboxOptions { Transport = "smtp" };
        options.Dispatch.RetryBaseDelay = TimeSpan.FromMinutes(1);
        options.Dispatch.PollInterval = TimeSpan.FromSeconds(1);
        foreach (var (name, server) in accounts)
        {
            options.Accounts[name] = server.Options();
        }

        return options;
    }

    private static RoutedTransport Transport(OutboxOptions options, TestOutbox outbox, string worker = "test-worker") =>
        OutboxRuntime.CreateRoutedTransport(options, new DatabaseRateLimiter(outbox.Database, worker), NullLoggerFactory.Instance);
}
