using Dapper;
using Npgsql;
using Outbox.Core.Dispatch;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>Several workers on one PostgreSQL, and a worker that dies holding a lease.</summary>
public sealed class ConcurrencyTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Two_workers_on_one_database_send_each_mail_exactly_once()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        const int count = 200;
        await outbox.ExecuteAsync(
            "select outbox_mail.send('app@example.com', 'to' || g || '@example.com', subject => 'mail ' || g, message => 'x') from generate_series(1, @count) g",
            new { count });
        var options = TestOutbox.FastRetries(o => o.BatchSize = 7);
        var first = outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp), options, "worker-a");
        var second = outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp), options, "worker-b");

        var results = await Task.WhenAll(first.DispatchDueAsync(Ct), second.DispatchDueAsync(Ct));

        Assert.Equal(count, results.Sum(r => r.Sent));
        Assert.All(results, r => Assert.True(r.Sent > 0, "both workers should have taken a share"));
        var subjects = smtp.Received.Select(m => MimeKit.MimeMessage.Load(new MemoryStream(m.Data), Ct).Subject).ToList();
        Assert.Equal(count, subjects.Count);
        Assert.Equal(count, subjects.Distinct().Count());
        Assert.Equal((long)count, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message where status = 'sent' and attempt_count = 1"));
    }

    [Fact]
    public async Task One_worker_sends_over_several_connections_at_once_each_mail_once()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = ScriptedSmtpServer.Start(step => step.Phase == "dot" ? SmtpFault.Delay(TimeSpan.FromMilliseconds(5)) : null);
        await outbox.ExecuteAsync("select outbox_mail.send('app@example.com', 'to' || g || '@example.com', subject => 'mail ' || g, message => 'x') from generate_series(1, 200) g");

        var summary = await outbox.SmtpDispatcher(smtp.Options(), TestOutbox.FastRetries(o => { o.Connections = 4; o.BatchSize = 10; })).DispatchDueAsync(Ct);

        Assert.Equal(200, summary.Sent);
        Assert.Equal(4, smtp.Connections);
        Assert.Equal(200, smtp.Received.Select(m => m.Data).Distinct().Count());
    }

    [Fact]
    public async Task Messages_per_connection_opens_a_new_connection_when_reached()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = ScriptedSmtpServer.Start();
        await outbox.ExecuteAsync("select outbox_mail.send('app@example.com', 'to@example.com', message => 'x') from generate_series(1, 7) g");

        var summary = await outbox.SmtpDispatcher(smtp.Options(o => o.MessagesPerConnection = 3)).DispatchDueAsync(Ct);

        Assert.Equal(7, summary.Sent);
        Assert.Equal(3, smtp.Connections);
    }

    [Fact]
    public async Task A_crashed_workers_lease_expires_and_another_worker_sends_the_mail()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        var id = await outbox.ScalarAsync<long>("select outbox_mail.send('app@example.com', 'to@example.com', subject => 'orphan', message => 'x')");

        // The crashed worker: claimed the mail with a short lease, then never came back.
        var crashed = new Storage.OutboxStore(outbox.Database, "crashed-worker");
        var claimed = await crashed.ClaimAsync(10, TimeSpan.FromSeconds(1), holdTakenOver: false, Ct);
        Assert.Equal(id, Assert.Single(claimed).Id);
        Assert.Equal(Core.Dispatch.DataStart.Marked, await crashed.MarkDataStartingAsync(claimed[0], null, Ct));
        var survivor = outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp), worker: "survivor");
        Assert.Equal(0, (await survivor.DispatchDueAsync(Ct)).Sent);

        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        var summary = await survivor.DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Sent);
        await outbox.AssertStatusAsync(id, "sent");
        var attempts = await outbox.QueryAsync<(string Worker, string Outcome)>("select worker, outcome from outbox.outbox_attempt where message_id = @id order by id", new { id });
        Assert.Equal([("crashed-worker", "unconfirmed"), ("survivor", "sent")], attempts);

        // The crashed worker's late write-back must not overwrite the outcome.
        await crashed.MarkFailedAsync(claimed[0], new SendFailure(FailureKind.Permanent, 550, "late", false, []), Ct);
        await outbox.AssertStatusAsync(id, "sent");
    }

    [Fact]
    public async Task Claims_skip_rows_locked_by_another_transaction_instead_of_waiting()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("select outbox_mail.send('app@example.com', 'to' || g || '@example.com', message => 'x') from generate_series(1, 4) g");
        await using var blocker = new NpgsqlConnection(outbox.ConnectionString);
        await blocker.OpenAsync(Ct);
        await using var tx = await blocker.BeginTransactionAsync(Ct);
        await blocker.ExecuteAsync("select id from outbox.outbox_message where id in (1, 2) for update", transaction: tx);

        var store = new Storage.OutboxStore(outbox.Database, "w");
        var claim = store.ClaimAsync(10, TimeSpan.FromMinutes(1), holdTakenOver: false, Ct);
        var finished = await Task.WhenAny(claim, Task.Delay(TimeSpan.FromSeconds(10), Ct));

        Assert.Same(claim, finished);
        Assert.Equal([3L, 4L], (await claim).Select(m => m.Id));
    }
}
