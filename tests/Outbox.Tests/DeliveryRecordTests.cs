using Outbox.Core.Messages;
using Outbox.Core.Sending;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// The delivery record against real worker processes (killed, paused, stopped) and a scripted
/// server that records each message before it replies: a mail reaches the server twice only
/// where its attempt log holds an 'unconfirmed' attempt naming the worker that lost it, a mail
/// that was never tried is never recorded unconfirmed, and a stop leaves nothing 'sending'.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class DeliveryRecordTests(PostgresServer postgres) : IDisposable
{
    // The shortest lease the configuration allows: a paused or killed worker's mail is taken
    // over this long after it last renewed.
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(10);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-record-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Delete(recursive: true);

    [Theory]
    [InlineData("postgresql", LostReplyPolicy.Resend)]
    [InlineData("sqlite", LostReplyPolicy.Hold)]
    public async Task A_take_over_is_recorded_by_the_claim_and_survives_a_hand_back(string provider, LostReplyPolicy policy)
    {
        await using var outbox = await OutboxAsync(provider);
        await EnqueueAsync(outbox, 5);
        // Worker A sends mail 1 and waits for its 250, which never comes in time: A is killed
        // with the data at the server, and mails 2-5 claimed but untouched.
        await using var slow = ScriptedSmtpServer.Start(step => step is { Phase: "dot", Message: 0 } ? SmtpFault.Delay(TimeSpan.FromMinutes(1)) : null);
        using (var a = StartWorker(outbox, slow.Port, "worker-a", policy, batchSize: 5))
        {
            await EventuallyAsync(() => !slow.DataReceived.IsEmpty, a);
            a.Kill();
        }

        await Task.Delay(Lease + TimeSpan.FromSeconds(1), Ct);

        // Worker B takes the batch over, but its server refuses the session: everything goes back.
        await using (var refusing = ScriptedSmtpServer.Start(step => step.Phase == "connect" ? SmtpFault.Reply("421 4.3.2 Service not available") : null))
        {
            var handedBack = await outbox.SmtpDispatcher(refusing.Options(o => o.LostReplyPolicy = policy), Dispatch(), worker: "worker-b").DispatchDueAsync(Ct);
            Assert.Equal(policy == LostReplyPolicy.Hold ? 1 : 0, handedBack.Unconfirmed);
            Assert.Equal(0, handedBack.Sent);
        }

        // Worker C sends what is left.
        await using var good = ScriptedSmtpServer.Start();
        await outbox.ExecuteAsync($"update {outbox.T("outbox_message")} set due_at = {Now(outbox)} where status = 'queued'");
        await outbox.SmtpDispatcher(good.Options(o => o.LostReplyPolicy = policy), Dispatch(), worker: "worker-c").DispatchDueAsync(Ct);

        var attempts = await AttemptsAsync(outbox);
        var deliveries = Deliveries(slow.DataReceived, good.Received);
        Assert.Equal([("worker-a", "unconfirmed")], attempts[1].Where(a => a.Outcome == "unconfirmed"));
        for (var i = 2; i <= 5; i++)
        {
            // Never tried by A: not unconfirmed, not charged for A's claim or B's hand-back.
            Assert.Equal([("worker-c", "sent")], attempts[i]);
            Assert.Equal(1, deliveries[$"m{i}@example.com"]);
            Assert.Equal(1, await outbox.ScalarAsync<int>($"select attempt_count from {outbox.T("outbox_message")} where id = @i", new { i }));
        }

        if (policy == LostReplyPolicy.Hold)
        {
            await outbox.AssertStatusAsync(1, "unconfirmed");
            Assert.Equal(1, deliveries["m1@example.com"]);
        }
        else
        {
            await outbox.AssertStatusAsync(1, "sent");
            Assert.Equal(2, deliveries["m1@example.com"]);
        }
    }

    [Theory]
    [InlineData("postgresql")]
    [InlineData("sqlite")]
    public async Task Sigterm_records_what_the_server_accepted_hands_back_the_rest_and_exits_0(string provider)
    {
        await using var outbox = await OutboxAsync(provider);
        await EnqueueAsync(outbox, 300);
        await using var server = ScriptedSmtpServer.Start(step => step.Phase == "dot" ? SmtpFault.Delay(TimeSpan.FromMilliseconds(20)) : null);
        using var worker = StartWorker(outbox, server.Port, "worker-a", LostReplyPolicy.Resend, batchSize: 50, connections: 2);
        await EventuallyAsync(() => server.Received.Count >= 20, worker);

        await worker.TerminateAsync();
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(worker.ExitCode == 0, worker.Output);
        // StopTimeout is 2 s; the bound leaves room for a slow machine, not for a 10-minute lease.
        Assert.InRange(stopping.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(20));
        Assert.Contains("handed back", worker.Output, StringComparison.Ordinal);
        var rows = await outbox.QueryAsync<(string Status, int AttemptCount, string Address)>(
            $"select m.status, m.attempt_count, r.address from {outbox.T("outbox_message")} m join {outbox.T("outbox_recipient")} r on r.message_id = m.id");
        var received = Deliveries(server.DataReceived);
        Assert.DoesNotContain(rows, r => r.Status is "sending" or "unconfirmed");
        Assert.All(rows.Where(r => r.Status == "sent"), r => Assert.Equal(1, received.GetValueOrDefault(r.Address)));
        Assert.All(rows.Where(r => r.Status == "queued"), r => Assert.Equal((0, 0), (r.AttemptCount, received.GetValueOrDefault(r.Address))));
        Assert.Equal(received.Count, rows.Count(r => r.Status == "sent"));
        Assert.Equal(0, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_attempt")} where outcome <> 'sent'"));
    }

    [Fact]
    public async Task Sigterm_cuts_a_reply_slower_than_the_stop_timeout_and_records_it_unconfirmed()
    {
        await using var outbox = await OutboxAsync("sqlite");
        await EnqueueAsync(outbox, 3);
        await using var server = ScriptedSmtpServer.Start(step => step is { Phase: "dot", Message: 0 } ? SmtpFault.Delay(TimeSpan.FromMinutes(1)) : null);
        using var worker = StartWorker(outbox, server.Port, "worker-a", LostReplyPolicy.Hold, batchSize: 3);
        await EventuallyAsync(() => !server.DataReceived.IsEmpty, worker);

        await worker.TerminateAsync();
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(worker.ExitCode == 0, worker.Output);
        await outbox.AssertStatusAsync(1, "unconfirmed");
        var attempt = Assert.Single((await AttemptsAsync(outbox))[1]);
        Assert.Equal(("worker-a", "unconfirmed"), attempt);
        foreach (var id in new long[] { 2, 3 })
        {
            await outbox.AssertStatusAsync(id, "queued");
        }

        Assert.Equal(0, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_attempt")} where message_id <> 1"));
        Assert.Single(server.DataReceived);
    }

    [Fact]
    public async Task A_paused_worker_whose_lease_ran_out_sends_nothing_more_of_its_batch()
    {
        await using var outbox = await OutboxAsync("postgresql");
        await EnqueueAsync(outbox, 10);
        await using var server = ScriptedSmtpServer.Start(step => step.Phase == "dot" ? SmtpFault.Delay(TimeSpan.FromMilliseconds(300)) : null);
        using var a = StartWorker(outbox, server.Port, "worker-a", LostReplyPolicy.Resend, batchSize: 10);
        await EventuallyAsync(() => server.DataReceived.Count >= 2, a);
        await a.PauseAsync();
        try
        {
            await Task.Delay(Lease + TimeSpan.FromSeconds(1), Ct);
            await outbox.SmtpDispatcher(server.Options(), Dispatch(), worker: "worker-b").DispatchDueAsync(Ct);
        }
        finally
        {
            await a.ResumeAsync();
        }

        // A wakes up in the middle of its batch: it may finish the mail it was sending, nothing more.
        await Task.Delay(TimeSpan.FromSeconds(3), Ct);
        a.Kill();

        var deliveries = Deliveries(server.DataReceived);
        var attempts = await AttemptsAsync(outbox);
        var twice = deliveries.Where(d => d.Value > 1).Select(d => long.Parse(d.Key[1..d.Key.IndexOf('@', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(twice.Count <= 2, $"delivered twice: {string.Join(", ", twice)}; {a.Output}");
        Assert.All(twice, id => Assert.Contains(("worker-a", "unconfirmed"), attempts[id]));
        Assert.Equal(10, deliveries.Count);
        Assert.Equal(10L, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_message")} where status = 'sent'"));
        Assert.Contains("Stopped sending the batch", a.Output, StringComparison.Ordinal);
    }

    private async Task<TestOutbox> OutboxAsync(string provider) =>
        provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);

    private static async Task EnqueueAsync(TestOutbox outbox, int count)
    {
        for (var i = 1; i <= count; i++)
        {
            await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = [$"m{i}@example.com"], Subject = $"mail {i}", TextBody = "x" });
        }
    }

    private WorkerProcess StartWorker(TestOutbox outbox, int port, string name, LostReplyPolicy policy, int batchSize, int connections = 1)
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = outbox.Provider, outbox.ConnectionString },
            Transport = "smtp",
            Smtp = new { Host = "127.0.0.1", Port = port, Security = "None", AllowInsecure = true, Timeout = "00:02:00", LostReplyPolicy = policy.ToString() },
            Dispatch = new { PollInterval = "00:00:00.200", BatchSize = batchSize, Connections = connections, LeaseDuration = "00:00:10", StopTimeout = "00:00:02", WorkerName = name },
        });
        return WorkerProcess.Start(_dir.FullName, null, "run", "--config", config);
    }

    private static Core.Dispatch.DispatchOptions Dispatch() => TestOutbox.FastRetries(o => o.BatchSize = 20);

    private static string Now(TestOutbox outbox) => outbox.Database.Dialect.Now;

    private static async Task EventuallyAsync(Func<bool> condition, WorkerProcess worker)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline && !worker.HasExited, $"the worker did not get there: {worker.Output}");
            await Task.Delay(50, Ct);
        }
    }

    private static async Task<Dictionary<long, List<(string Worker, string Outcome)>>> AttemptsAsync(TestOutbox outbox)
    {
        var rows = await outbox.QueryAsync<(long MessageId, string Worker, string Outcome)>(
            $"select message_id, worker, outcome from {outbox.T("outbox_attempt")} order by id");
        var ids = await outbox.QueryAsync<long>($"select id from {outbox.T("outbox_message")}");
        return ids.ToDictionary(id => id, id => rows.Where(r => r.MessageId == id).Select(r => (r.Worker, r.Outcome)).ToList());
    }

    // How many times each recipient's message reached a server (its data complete).
    private static Dictionary<string, int> Deliveries(params IEnumerable<ScriptedMail>[] servers) =>
        servers.SelectMany(s => s).SelectMany(m => m.To).GroupBy(a => a, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Count(), StringComparer.OrdinalIgnoreCase);
}
