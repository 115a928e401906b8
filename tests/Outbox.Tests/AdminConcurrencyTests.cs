using System.Data.Common;
using Dapper;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// Operator actions never wait on callers and never race each other: purge and retry at once,
/// a bulk retry while workers fail its mails again, cancel and the draft purge against an
/// application's open transaction.
/// </summary>
public sealed class AdminConcurrencyTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<TestOutbox> OutboxAsync(string provider) =>
        provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);

    // Mails failed 40 days ago, each with a rejected recipient, written in one statement.
    private static async Task AddOldFailedAsync(TestOutbox outbox, int count)
    {
        var old = outbox.Database.Dialect.NowPlusSeconds("-86400 * 40");
        await outbox.ExecuteAsync(
            $"""
            with recursive n(i) as (select 1 union all select i + 1 from n where i < {count})
            insert into {outbox.T("outbox_message")} (status, sender, mime_message_id, created_at, last_error)
            select 'failed', 'a@example.com', 'old-' || i || '@example.com', {old}, 'rejected' from n
            """);
        await outbox.ExecuteAsync(
            $"""
            insert into {outbox.T("outbox_recipient")} (message_id, kind, address, status)
            select id, 'to', 'b@example.com', 'rejected' from {outbox.T("outbox_message")}
            """);
    }

    // Runs the action and tells whether it finished without ever waiting on a lock: it fails the
    // test as soon as PostgreSQL shows one of its sessions waiting for one (then the holder is
    // released so the action can end).
    private static async Task<T> WithoutWaitingAsync<T>(TestOutbox outbox, Func<Task<T>> action, Func<Task> releaseHolder)
    {
        var running = action();
        while (!running.IsCompleted)
        {
            var waiting = await outbox.ScalarAsync<long>(
                "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'");
            if (waiting > 0)
            {
                await releaseHolder();
                await running.ContinueWith(_ => { }, TaskScheduler.Default);
                Assert.Fail("the operator's action waited for a lock another transaction held");
            }

            await Task.WhenAny(running, Task.Delay(20, Ct));
        }

        return await running;
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Purge_and_bulk_retry_at_once_delete_nothing_the_retry_queued(string provider)
    {
        await using var outbox = await OutboxAsync(provider);
        const int mails = 4000;
        await AddOldFailedAsync(outbox, mails);
        var admin = new OutboxAdmin(outbox.Database);

        var retry = Task.Run(() => admin.RetryAllAsync("failed", 50, null, Ct), Ct);
        var purge = Task.Run(() => admin.PurgeAsync(TimeSpan.FromDays(30), 50, null, Ct), Ct);
        await Task.WhenAll(retry, purge);

        var (retried, purged) = (await retry, await purge);
        var queued = await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_message")} where status = 'queued'");
        Assert.Equal(retried.Queued, queued);
        Assert.Equal(mails, retried.Queued + purged.Deleted);
        Assert.Equal(queued, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_attempt")} where outcome = 'retried'"));
        Assert.Equal(0L, await outbox.ScalarAsync<long>(
            $"select count(*) from {outbox.T("outbox_message")} m where status = 'queued' and exists (select 1 from {outbox.T("outbox_recipient")} r where r.message_id = m.id and r.status = 'rejected')"));
    }

    [Fact]
    public async Task Purge_skips_a_mail_a_retry_is_queueing_and_leaves_it_queued()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await AddOldFailedAsync(outbox, 3);
        var first = await outbox.ScalarAsync<long>("select min(id) from outbox.outbox_message");
        await using var retrying = await outbox.OpenAsync();
        var transaction = await retrying.BeginTransactionAsync(Ct);
        await retrying.ExecuteAsync("update outbox.outbox_message set status = 'queued', due_at = now() where id = @first", new { first }, transaction);

        var purged = await WithoutWaitingAsync(outbox, () => new OutboxAdmin(outbox.Database).PurgeAsync(TimeSpan.FromDays(30), 100, null, Ct), () => transaction.CommitAsync(Ct));
        await transaction.CommitAsync(Ct);

        Assert.Equal(new PurgeOutcome(2, 1), purged);
        Assert.Equal("queued", await outbox.StatusOfAsync(first));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Bulk_retry_queues_each_mail_of_its_set_once_while_workers_fail_them_again(string provider)
    {
        await using var outbox = await OutboxAsync(provider);
        const int mails = 600;
        await AddOldFailedAsync(outbox, mails);
        await using var worker = await outbox.OpenAsync();
        var failAgain = $"update {outbox.T("outbox_message")} set status = 'failed' where status = 'queued'";
        long reported = 0;
        // After each batch, "workers" fail every queued mail again at once.
        var progress = new SynchronousProgress(total =>
        {
            reported = total;
            Assert.True(total <= mails, $"the retry queued {total} mails of a set of {mails}");
            worker.Execute(failAgain);
        });

        var done = await new OutboxAdmin(outbox.Database).RetryAllAsync("failed", 50, progress, Ct);

        Assert.Equal(new BulkRetryOutcome(mails, mails), done);
        Assert.Equal(mails, reported);
        Assert.Equal(1L, await outbox.ScalarAsync<long>(
            $"select max(c) from (select count(*) as c from {outbox.T("outbox_attempt")} where outcome = 'retried' group by message_id) x"));
    }

    [Fact]
    public async Task Bulk_retry_reports_the_mails_it_skipped()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await AddOldFailedAsync(outbox, 5);
        var held = await outbox.ScalarAsync<long>("select min(id) from outbox.outbox_message");
        await using var dba = await outbox.OpenAsync();
        var transaction = await dba.BeginTransactionAsync(Ct);
        await dba.ExecuteAsync("select 1 from outbox.outbox_message where id = @held for update", new { held }, transaction);

        var done = await WithoutWaitingAsync(outbox, () => new OutboxAdmin(outbox.Database).RetryAllAsync("failed", 100, null, Ct), () => transaction.RollbackAsync(Ct));
        await transaction.RollbackAsync(Ct);

        Assert.Equal(new BulkRetryOutcome(5, 4), done);
        Assert.Equal(1, done.Skipped);
        Assert.Equal("failed", await outbox.StatusOfAsync(held));
    }

    // An application building a draft: outbox_mail.add_recipient locks it until its transaction ends.
    private static async Task<(DbConnection Connection, DbTransaction Transaction)> BuildingAsync(TestOutbox outbox, long draft)
    {
        var application = await outbox.OpenAsync();
        var transaction = await application.BeginTransactionAsync(Ct);
        await application.ExecuteAsync("select outbox_mail.add_recipient(@draft, 'c@example.com')", new { draft }, transaction);
        return (application, transaction);
    }

    [Fact]
    public async Task Cancel_does_not_wait_for_a_draft_an_application_is_building()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var draft = await outbox.ScalarAsync<long>("select outbox_mail.create_mail('a@example.com', 'b@example.com')");
        var (application, transaction) = await BuildingAsync(outbox, draft);
        await using (application)
        {
            var refused = await WithoutWaitingAsync(
                outbox,
                () => Assert.ThrowsAsync<MailValidationException>(() => new OutboxAdmin(outbox.Database).CancelAsync(draft, Ct)),
                () => transaction.RollbackAsync(Ct));
            await transaction.CommitAsync(Ct);

            Assert.Contains("held by another transaction", refused.Message, StringComparison.Ordinal);
            Assert.Equal("draft", await outbox.StatusOfAsync(draft));
        }

        await new OutboxAdmin(outbox.Database).CancelAsync(draft, Ct);
        Assert.Equal("cancelled", await outbox.StatusOfAsync(draft));
    }

    [Fact]
    public async Task The_draft_purge_skips_a_draft_an_application_is_building_and_purges_the_rest()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var drafts = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            drafts.Add(await outbox.ScalarAsync<long>("select outbox_mail.create_mail('a@example.com', 'b@example.com')"));
        }

        await outbox.ExecuteAsync("update outbox.outbox_message set created_at = now() - interval '8 days'");
        var (application, transaction) = await BuildingAsync(outbox, drafts[2]);
        await using (application)
        {
            var purged = await WithoutWaitingAsync(
                outbox,
                () => new OutboxAdmin(outbox.Database).PurgeDraftsAsync(TimeSpan.FromDays(7), 2, Ct),
                () => transaction.RollbackAsync(Ct));
            await transaction.CommitAsync(Ct);

            Assert.Equal(new PurgeOutcome(4, 1), purged);
            Assert.Equal([drafts[2]], await outbox.QueryAsync<long>("select id from outbox.outbox_message"));
        }
    }

    [Fact]
    public async Task Init_on_a_current_schema_does_not_wait_for_open_transactions_on_the_tables()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        // An application in the middle of a send, and a maintenance job (ANALYZE, VACUUM) that
        // holds what ALTER TABLE ... SET would need.
        await using var application = await outbox.OpenAsync();
        var sending = await application.BeginTransactionAsync(Ct);
        await application.ExecuteAsync("select outbox_mail.send('a@example.com', 'b@example.com', subject => 'in flight')", transaction: sending);
        await using var maintenance = await outbox.OpenAsync();
        var analyzing = await maintenance.BeginTransactionAsync(Ct);
        await maintenance.ExecuteAsync(
            "lock table outbox.outbox_message, outbox.outbox_recipient, outbox.outbox_attachment, outbox.outbox_attempt, outbox.outbox_template in share update exclusive mode",
            transaction: analyzing);
        var changes = new List<string>();

        await WithoutWaitingAsync(
            outbox,
            async () =>
            {
                await new SchemaInstaller(outbox.Database).InstallAsync(TimeSpan.FromMinutes(5), changes.Add, Ct);
                return true;
            },
            async () =>
            {
                await sending.RollbackAsync(Ct);
                await analyzing.RollbackAsync(Ct);
            });
        await sending.CommitAsync(Ct);
        await analyzing.CommitAsync(Ct);

        Assert.Empty(changes);
        Assert.Equal(1L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message"));
    }

    [Fact]
    public async Task Init_that_must_change_a_busy_table_gives_up_after_its_lock_timeout_naming_the_holder()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("drop index outbox.outbox_message_finished_ix");
        var named = new Npgsql.NpgsqlConnectionStringBuilder(outbox.ConnectionString) { ApplicationName = "billing-app" };
        await using var application = new Npgsql.NpgsqlConnection(named.ConnectionString);
        await application.OpenAsync(Ct);
        var sending = await application.BeginTransactionAsync(Ct);
        await application.ExecuteAsync("select outbox_mail.send('a@example.com', 'b@example.com')", transaction: sending);
        var changes = new List<string>();

        var refused = await Assert.ThrowsAsync<MailValidationException>(() =>
            new SchemaInstaller(outbox.Database).InstallAsync(TimeSpan.FromMilliseconds(300), changes.Add, Ct));
        await sending.CommitAsync(Ct);

        Assert.Contains(changes, change => change.StartsWith("create index outbox_message_finished_ix", StringComparison.Ordinal));
        Assert.Contains("outbox_message_finished_ix", refused.Message, StringComparison.Ordinal);
        Assert.Contains("\"billing-app\"", refused.Message, StringComparison.Ordinal);
        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);
        Assert.Equal(1L, await outbox.ScalarAsync<long>("select count(*) from pg_indexes where indexname = 'outbox_message_finished_ix'"));
    }

    private sealed class SynchronousProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
