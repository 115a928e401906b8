using Dapper;
using Npgsql;
using Outbox.Core.Messages;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// Several callers, each a login role granted only outbox_sender (or outbox_worker, for
/// OutboxClient): a mail belongs to the role that made it, an idempotency key reaches only the
/// caller's own mails, an error for another's id says no more than for a missing one, and a
/// caller's open transaction never holds a row the worker writes to.
/// </summary>
public sealed class CallerIsolationTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A new login role granted only <paramref name="grant"/>; returns a connection string for it.</summary>
    private static async Task<string> LoginRoleAsync(TestOutbox outbox, string grant = "outbox_sender")
    {
        return outbox.As(await outbox.LoginAsync(grant, "caller"));
    }

    private static async Task<NpgsqlConnection> OpenAsync(string connectionString)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        return connection;
    }

    private static async Task<string> ErrorOfAsync(NpgsqlConnection connection, string sql, object parameters)
    {
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync(sql, parameters));
        Assert.Equal("22023", error.SqlState);
        return error.MessageText;
    }

    [Fact]
    public async Task Another_roles_idempotency_key_makes_a_new_mail_and_leaves_the_first_untouched()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var a = await OpenAsync(await LoginRoleAsync(outbox));
        await using var b = await OpenAsync(await LoginRoleAsync(outbox));
        var payroll = await a.ExecuteScalarAsync<long>(
            "select outbox_mail.create_mail('hr@example.com', subject => 'payroll', text_body => 'salaries', idempotency_key => 'payroll-2026')");

        var other = await b.ExecuteScalarAsync<long>(
            "select outbox_mail.create_mail('b@example.com', subject => 'mine', idempotency_key => 'payroll-2026')");
        await b.ExecuteAsync("select outbox_mail.add_recipient(@other, 'attacker@example.com', 'bcc')", new { other });

        Assert.NotEqual(payroll, other);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_recipient where message_id = @payroll", new { payroll }));
        Assert.Equal("salaries", await outbox.ScalarAsync<string>("select text_body from outbox.outbox_message where id = @payroll", new { payroll }));
        // The owner's own replay still finds its mail.
        Assert.Equal(payroll, await a.ExecuteScalarAsync<long>("select outbox_mail.create_mail('hr@example.com', idempotency_key => 'payroll-2026')"));
    }

    [Theory]
    [InlineData("select outbox_mail.add_recipient(@id, 'attacker@example.com', 'bcc')")]
    [InlineData("select outbox_mail.set_body(@id, 'changed')")]
    [InlineData("select outbox_mail.add_attachment(@id, 'a.txt', '\\x00'::bytea)")]
    [InlineData("select outbox_mail.enqueue(@id)")]
    [InlineData("select outbox_mail.rcpt(@id, 'attacker@example.com')")]
    [InlineData("select outbox_mail.write_data(@id, 'Subject: x')")]
    [InlineData("select outbox_mail.close_mail(@id)")]
    public async Task Another_roles_mail_cannot_be_changed_and_the_error_is_that_of_a_missing_id(string call)
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var a = await OpenAsync(await LoginRoleAsync(outbox));
        await using var b = await OpenAsync(await LoginRoleAsync(outbox));
        var draft = await a.ExecuteScalarAsync<long>("select outbox_mail.create_mail('hr@example.com', idempotency_key => 'k')");
        var raw = await a.ExecuteScalarAsync<long>("select outbox_mail.open_mail('hr@example.com')");
        var sent = await a.ExecuteScalarAsync<long>("select outbox_mail.send('hr@example.com', 'boss@example.com')");
        var missing = sent + 1000;

        var expected = (await ErrorOfAsync(b, call, new { id = missing })).Replace(missing.ToString(System.Globalization.CultureInfo.InvariantCulture), "ID", StringComparison.Ordinal);
        foreach (var id in new[] { draft, raw, sent })
        {
            var error = await ErrorOfAsync(b, call, new { id });
            Assert.Equal(expected, error.Replace(id.ToString(System.Globalization.CultureInfo.InvariantCulture), "ID", StringComparison.Ordinal));
        }

        Assert.StartsWith("mail_id: no mail with id", expected, StringComparison.Ordinal);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_recipient where address like 'attacker%'"));
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_attachment"));
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_raw_part"));
        Assert.Equal("draft", await outbox.StatusOfAsync(draft));
    }

    [Fact]
    public async Task OutboxClient_keys_are_per_database_user()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var request = new MailRequest { Sender = "a@example.com", To = ["b@example.com"], IdempotencyKey = "order-42" };
        long first, second, again;
        await using (var a = await OpenAsync(await LoginRoleAsync(outbox, "outbox_sender")))
        {
            first = await OutboxClient.For(a).EnqueueAsync(a, null, request, Ct);
            again = await OutboxClient.For(a).EnqueueAsync(a, null, request, Ct);
        }

        await using (var b = await OpenAsync(await LoginRoleAsync(outbox, "outbox_sender")))
        {
            second = await OutboxClient.For(b).EnqueueAsync(b, null, request, Ct);
        }

        Assert.Equal(first, again);
        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task A_callers_open_transaction_never_holds_a_row_the_worker_writes()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var aConnection = await LoginRoleAsync(outbox);
        await using var a = await OpenAsync(aConnection);
        await using var b = await OpenAsync(await LoginRoleAsync(outbox));
        var id = await a.ExecuteScalarAsync<long>("select outbox_mail.create_mail('hr@example.com', idempotency_key => 'report')");
        await a.ExecuteAsync("select outbox_mail.add_recipient(@id, 'boss@example.com'); select outbox_mail.enqueue(@id)", new { id });
        await outbox.ExecuteAsync("update outbox.outbox_message set status = 'sending', lease_owner = 'w' where id = @id", new { id });

        // The owner replaying its block and another role trying the id, each in an open transaction.
        await using var txA = await a.BeginTransactionAsync(Ct);
        await a.ExecuteAsync("select outbox_mail.add_recipient(@id, 'x@example.com')", new { id }, txA);
        await using var txB = await b.BeginTransactionAsync(Ct);
        await Assert.ThrowsAsync<PostgresException>(() => b.ExecuteAsync("select outbox_mail.set_body(@id, 'x')", new { id }, txB));

        // The worker's write-back goes through at once.
        await using var worker = await OpenAsync(outbox.ConnectionString);
        await worker.ExecuteAsync("set lock_timeout = '1s'");
        Assert.Equal(1, await worker.ExecuteAsync("update outbox.outbox_message set status = 'sent' where id = @id and lease_owner = 'w'", new { id }));
    }

    [Fact]
    public async Task A_draft_locked_by_another_transaction_is_refused_at_once()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var role = await LoginRoleAsync(outbox);
        await using var first = await OpenAsync(role);
        await using var second = await OpenAsync(role);
        var id = await first.ExecuteScalarAsync<long>("select outbox_mail.create_mail('hr@example.com')");
        await using var tx = await first.BeginTransactionAsync(Ct);
        await first.ExecuteAsync("select outbox_mail.add_recipient(@id, 'boss@example.com')", new { id }, tx);

        var started = System.Diagnostics.Stopwatch.StartNew();
        var error = await ErrorOfAsync(second, "select outbox_mail.add_recipient(@id, 'other@example.com')", new { id });

        Assert.StartsWith($"mail_id: mail {id} is being changed by another transaction", error, StringComparison.Ordinal);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"took {started.Elapsed}");
    }
}
