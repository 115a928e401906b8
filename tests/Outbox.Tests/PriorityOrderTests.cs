using Outbox.Core.Dispatch;
using Outbox.Core.Messages;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// Priority orders sending: the claim takes most of a batch by priority (1 first) and a quarter
/// by time due alone, so urgent mail overtakes a backlog while the longest-waiting mails still
/// leave with every batch.
/// </summary>
public sealed class PriorityOrderTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Priority_one_mail_overtakes_an_older_backlog_of_priority_five(string provider)
    {
        await using var outbox = await OutboxAsync(provider);
        var backlog = await EnqueueAsync(outbox, 40, priority: 5);
        var urgent = await EnqueueAsync(outbox, 8, priority: 1);
        await SpreadDueTimesAsync(outbox);

        // A batch of 12: 9 by priority (the 8 urgent, then the oldest of the backlog), 3 by age.
        var claimed = await new OutboxStore(outbox.Database, "w").ClaimAsync(12, TimeSpan.FromMinutes(5), holdTakenOver: false, Ct);

        Assert.Equal([.. urgent, .. backlog.Take(4)], claimed.Select(m => m.Id));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task A_stream_of_urgent_mail_does_not_starve_the_longest_waiting(string provider)
    {
        await using var outbox = await OutboxAsync(provider);
        var backlog = await EnqueueAsync(outbox, 10, priority: 5);
        await EnqueueAsync(outbox, 60, priority: 1);
        await SpreadDueTimesAsync(outbox);

        var claimed = await new OutboxStore(outbox.Database, "w").ClaimAsync(8, TimeSpan.FromMinutes(5), holdTakenOver: false, Ct);

        Assert.Equal(backlog.Take(2), claimed.Where(m => m.Priority == 5).Select(m => m.Id));
        Assert.Equal(6, claimed.Count(m => m.Priority == 1));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task A_batch_of_one_goes_by_priority(string provider)
    {
        await using var outbox = await OutboxAsync(provider);
        await EnqueueAsync(outbox, 3, priority: 5);
        var urgent = await EnqueueAsync(outbox, 1, priority: 1);
        await SpreadDueTimesAsync(outbox);

        var claimed = await new OutboxStore(outbox.Database, "w").ClaimAsync(1, TimeSpan.FromMinutes(5), holdTakenOver: false, Ct);

        Assert.Equal(urgent, claimed.Select(m => m.Id));
    }

    [Fact]
    public async Task The_worker_sends_a_batch_in_priority_order()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        await EnqueueAsync(outbox, 6, priority: 5);
        await EnqueueAsync(outbox, 3, priority: 1);
        await SpreadDueTimesAsync(outbox);

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp), new DispatchOptions { BatchSize = 20, Connections = 1 }).DispatchDueAsync(Ct);

        var subjects = smtp.Received.Select(m => MimeKit.MimeMessage.Load(new MemoryStream(m.Data), Ct).Subject).ToList();
        Assert.Equal(9, subjects.Count);
        Assert.All(subjects.Take(3), s => Assert.StartsWith("p1 ", s, StringComparison.Ordinal));
    }

    private async Task<TestOutbox> OutboxAsync(string provider) =>
        provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);

    private static async Task<List<long>> EnqueueAsync(TestOutbox outbox, int count, int priority)
    {
        var ids = new List<long>();
        for (var i = 0; i < count; i++)
        {
            ids.Add(await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["to@example.com"], Subject = $"p{priority} {i}", Priority = priority }));
        }

        return ids;
    }

    // Due one second apart in the order enqueued, all in the past: ages the test can rely on.
    private static Task SpreadDueTimesAsync(TestOutbox outbox) => outbox.ExecuteAsync(outbox.Provider == "sqlite"
        ? "update outbox_message set due_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (10000 - id) || ' seconds')"
        : "update outbox.outbox_message set due_at = now() - make_interval(secs => 10000 - id)");
}
