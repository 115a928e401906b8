using System.Reflection;
using Dapper;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// The mark before each mail's SMTP transaction finds its row by primary key, whatever
/// PostgreSQL's statistics say. They are taken while mails wait (due_at in the past), so the
/// planner believes "due_at > now()" matches almost nothing in the claim's index; a plainly
/// written lease test then had every mark read all the leased mails to find its own.
/// </summary>
public sealed class StatementPlanTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_mark_reads_its_mail_by_primary_key_while_many_mails_are_leased()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("select outbox_mail.send('app@example.com', 'to@example.com', subject => 'm' || g, message => 'x') from generate_series(1, 300) g");
        await outbox.ExecuteAsync("analyze outbox.outbox_message");
        var store = new OutboxStore(outbox.Database, "planner-worker");
        var claimed = await store.ClaimAsync(200, TimeSpan.FromMinutes(5), holdTakenOver: false, Ct);
        Assert.Equal(200, claimed.Count);

        await using var connection = await outbox.OpenAsync();
        var plan = string.Join("\n", await connection.QueryAsync<string>(
            "explain " + StatementText(store, "MarkDataStarting"), new { claimed[^1].Id, Worker = "planner-worker", RenderedSubject = (string?)null }));

        Assert.Contains("outbox_message_pkey", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("outbox_message_due_ix", plan, StringComparison.Ordinal);
        Assert.Equal(Core.Dispatch.DataStart.Marked, await store.MarkDataStartingAsync(claimed[^1], null, Ct));
    }

    // The mark also decides the mail's expiry (in its SET, not its WHERE): a mail that expired
    // in the batch is still found by primary key, and recorded expired by that one statement.
    [Fact]
    public async Task The_mark_of_a_mail_that_expired_in_its_batch_reads_it_by_primary_key()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("select outbox_mail.send('app@example.com', 'to@example.com', subject => 'm' || g, message => 'x', expires_after => interval '1 hour') from generate_series(1, 300) g");
        await outbox.ExecuteAsync("analyze outbox.outbox_message");
        var store = new OutboxStore(outbox.Database, "planner-worker");
        var claimed = await store.ClaimAsync(200, TimeSpan.FromMinutes(5), holdTakenOver: false, Ct);
        await outbox.ExecuteAsync("update outbox.outbox_message set expires_at = now() - interval '1 second' where id = @Id", new { claimed[^1].Id });

        await using var connection = await outbox.OpenAsync();
        var plan = string.Join("\n", await connection.QueryAsync<string>(
            "explain " + StatementText(store, "MarkDataStarting"), new { claimed[^1].Id, Worker = "planner-worker", RenderedSubject = (string?)null }));

        Assert.Contains("outbox_message_pkey", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("outbox_message_due_ix", plan, StringComparison.Ordinal);
        Assert.Equal(Core.Dispatch.DataStart.Expired, await store.MarkDataStartingAsync(claimed[^1], null, Ct));
        Assert.Equal("expired", await outbox.ScalarAsync<string>("select status from outbox.outbox_message where id = @Id", new { claimed[^1].Id }));
    }

    // Expiry adds no condition to the claim's WHERE (the claim only reports expires_at): it keeps
    // reading the claim's partial indexes however much expired history the table holds, and the
    // claim's expired mails are then recorded by primary key.
    [Fact]
    public async Task The_claim_keeps_its_indexes_and_records_expired_mails_by_primary_key()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("select outbox_mail.send('app@example.com', 'to@example.com', subject => 'm' || g, message => 'x', expires_after => interval '1 hour') from generate_series(1, 3000) g");
        await outbox.ExecuteAsync("update outbox.outbox_message set status = 'expired', due_at = null where id % 10 <> 0");
        await outbox.ExecuteAsync("update outbox.outbox_message set expires_at = now() - interval '1 second' where id % 20 = 0");
        await outbox.ExecuteAsync("analyze outbox.outbox_message");
        var store = new OutboxStore(outbox.Database, "planner-worker");
        await using var connection = await outbox.OpenAsync();

        var claimPlan = string.Join("\n", await connection.QueryAsync<string>(
            "explain " + StatementText(store, "Claim"), new { ByPriority = 30, ByAge = 10, Worker = "planner-worker", LeaseSeconds = 300.0 }));
        var claimed = await store.ClaimAsync(40, TimeSpan.FromMinutes(5), holdTakenOver: false, Ct);
        var expirePlan = string.Join("\n", await connection.QueryAsync<string>(
            "explain " + StatementText(store, "Expire"), new { Ids = claimed.Select(m => m.Id).ToList(), Worker = "planner-worker" }));

        // Both choices (by priority, by age) read a partial index of waiting and leased mails.
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(claimPlan, "Index Scan using outbox_message_(priority|due)_ix"));
        Assert.Contains("outbox_message_pkey", expirePlan, StringComparison.Ordinal);
        Assert.Equal(20, claimed.Count(m => m.Expired));
        Assert.Equal(20, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message where status = 'sending'"));
    }

    // The store's statement as it sends it (its statements are private to it).
    private static string StatementText(OutboxStore store, string name)
    {
        var statements = typeof(OutboxStore).GetField("_sql", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(store)!;
        return (string)statements.GetType().GetProperty(name)!.GetValue(statements)!;
    }
}
