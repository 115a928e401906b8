using Dapper;
using Npgsql;
using Outbox.Core.Messages;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>Idempotent enqueue and the limits a DBA sets, in both databases and both ways of enqueuing.</summary>
public sealed class EnqueueRulesTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<TestOutbox> OutboxAsync(string provider) =>
        provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);

    private static Task<long> EnqueueAsync(TestOutbox outbox, MailRequest request) => outbox.EnqueueAsync(request);

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task OutboxClient_with_a_known_idempotency_key_returns_the_existing_mail(string provider)
    {
        await using var outbox = await OutboxAsync(provider);
        var request = new MailRequest { Sender = "a@example.com", To = ["b@example.com"], IdempotencyKey = "order-42-confirmation" };

        var first = await EnqueueAsync(outbox, request);
        var second = await EnqueueAsync(outbox, request);

        Assert.Equal(first, second);
        Assert.Equal(1L, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_message")}"));
        Assert.Equal(1L, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_recipient")}"));
    }

    [Fact]
    public async Task Builder_block_run_twice_with_one_key_makes_one_mail()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        const string block = """
            do $$
            declare id bigint;
            begin
                id := outbox_mail.create_mail('app@example.com', subject => 'once', idempotency_key => 'invoice-7');
                perform outbox_mail.add_recipient(id, 'to@example.com');
                perform outbox_mail.add_attachment(id, 'a.txt', 'abc'::bytea, 'text/plain');
                perform outbox_mail.enqueue(id);
            end $$;
            """;

        await outbox.ExecuteAsync(block);
        await outbox.ExecuteAsync(block);

        Assert.Equal(1L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message"));
        Assert.Equal(1L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_recipient"));
        Assert.Equal(1L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_attachment"));
    }

    [Fact]
    public async Task Two_transactions_racing_with_one_key_get_the_same_mail()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var first = new NpgsqlConnection(outbox.ConnectionString);
        await using var second = new NpgsqlConnection(outbox.ConnectionString);
        await first.OpenAsync(Ct);
        await second.OpenAsync(Ct);
        await using var tx1 = await first.BeginTransactionAsync(Ct);
        await using var tx2 = await second.BeginTransactionAsync(Ct);
        var id1 = await first.ExecuteScalarAsync<long>("select outbox_mail.create_mail('a@example.com', idempotency_key => 'race')", transaction: tx1);

        // The second waits on the unique index until the first commits, then gets its mail.
        var racing = second.ExecuteScalarAsync<long>("select outbox_mail.create_mail('a@example.com', idempotency_key => 'race')", transaction: tx2);
        await Task.Delay(300, Ct);
        Assert.False(racing.IsCompleted);
        await tx1.CommitAsync(Ct);
        var id2 = await racing;
        await tx2.CommitAsync(Ct);

        Assert.Equal(id1, id2);
        Assert.Equal(1L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message"));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Blocked_extension_and_size_cap_are_refused_at_enqueue_by_OutboxClient(string provider)
    {
        await using var outbox = await OutboxAsync(provider);
        await outbox.ExecuteAsync($"update {outbox.T("outbox_setting")} set value = '1000' where name = 'max_message_bytes'");

        var blocked = await Assert.ThrowsAsync<MailValidationException>(() => EnqueueAsync(outbox, new MailRequest
        {
            Sender = "a@example.com", To = ["b@example.com"],
            Attachments = [new MailAttachment { FileName = "setup.EXE", Content = new MemoryStream([1, 2, 3]) }],
        }));
        Assert.Equal("filename", blocked.Field);
        Assert.Contains("*.exe are refused", blocked.Message, StringComparison.Ordinal);

        var large = await Assert.ThrowsAsync<MailValidationException>(() => EnqueueAsync(outbox, new MailRequest
        {
            Sender = "a@example.com", To = ["b@example.com"],
            Attachments = [new MailAttachment { FileName = "data.bin", Content = new PatternStream(1001) }],
        }));
        Assert.Equal("message", large.Field);
        Assert.Equal(0L, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_message")}"));

        var id = await EnqueueAsync(outbox, new MailRequest
        {
            Sender = "a@example.com", To = ["b@example.com"],
            Attachments = [new MailAttachment { FileName = "C:\\reports\\..\\\"q3\".pdf", Content = new MemoryStream(new byte[900]) }],
        });
        Assert.Equal("\"q3\".pdf", await outbox.ScalarAsync<string>($"select file_name from {outbox.T("outbox_attachment")} where message_id = @id", new { id }));
    }

    [Fact]
    public async Task Blocked_extension_and_size_cap_are_refused_by_outbox_mail()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("update outbox.outbox_setting set value = '1000' where name = 'max_message_bytes'");

        var blocked = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync(
            "select outbox_mail.send_attach_raw('a@example.com', 'b@example.com', attachment => '\\x00'::bytea, att_filename => 'run.vbs')"));
        Assert.StartsWith("att_filename: attachments named *.vbs are refused", blocked.MessageText, StringComparison.Ordinal);

        var large = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync(
            "select outbox_mail.send('a@example.com', 'b@example.com', message => repeat('x', 1001))"));
        Assert.StartsWith("message:", large.MessageText, StringComparison.Ordinal);

        var path = await outbox.ScalarAsync<long>(
            "select outbox_mail.send_attach_raw('a@example.com', 'b@example.com', attachment => '\\x00'::bytea, att_filename => '/srv/reports/q3.pdf')");
        Assert.Equal("q3.pdf", await outbox.ScalarAsync<string>("select file_name from outbox.outbox_attachment where message_id = @path", new { path }));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Max_message_bytes_counts_the_subject_and_the_recipients_in_OutboxClient(string provider)
    {
        await using var outbox = await OutboxAsync(provider);
        await outbox.ExecuteAsync($"update {outbox.T("outbox_setting")} set value = '1000' where name = 'max_message_bytes'");
        await outbox.ExecuteAsync($"update {outbox.T("outbox_setting")} set value = '0' where name = 'max_header_chars'");

        var subject = await Assert.ThrowsAsync<MailValidationException>(() => EnqueueAsync(outbox,
            new MailRequest { Sender = "a@example.com", To = ["b@example.com"], Subject = new string('s', 1001) }));
        var recipients = await Assert.ThrowsAsync<MailValidationException>(() => EnqueueAsync(outbox,
            new MailRequest { Sender = "a@example.com", Bcc = Enumerable.Range(1, 100).Select(i => $"r{i}@example.com").ToList() }));

        Assert.Equal(("message", "message"), (subject.Field, recipients.Field));
        Assert.Equal(0L, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_message")}"));
    }

    [Fact]
    public async Task Max_message_bytes_counts_everything_stored_and_bounds_drafts_in_outbox_mail()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("update outbox.outbox_setting set value = '1000' where name = 'max_message_bytes'");

        var subject = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync(
            "select outbox_mail.send('a@example.com', 'b@example.com', subject => repeat('s', 1001))"));
        var recipients = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync(
            "select outbox_mail.send('a@example.com', (select string_agg('r' || i || '@example.com', ',') from generate_series(1, 100) i))"));
        var id = await outbox.ScalarAsync<long>("select outbox_mail.create_mail('a@example.com')");
        var draft = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync(
            "select outbox_mail.add_attachment(@id, 'big.bin', convert_to(repeat('x', 2000), 'UTF8'))", new { id }));
        var raw = await outbox.ScalarAsync<long>("select outbox_mail.open_mail('a@example.com')");
        var rawDraft = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync(
            "select outbox_mail.write_data(@raw, repeat('x', 2000))", new { raw }));

        foreach (var error in new[] { subject, recipients, draft, rawDraft })
        {
            Assert.StartsWith("message: ", error.MessageText, StringComparison.Ordinal);
        }

        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_attachment"));
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_raw_part"));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Abandoned_drafts_older_than_the_age_are_purged_with_their_parts(string provider)
    {
        await using var outbox = await OutboxAsync(provider);
        var old = outbox.Database.Dialect.NowPlusSeconds("-86400 * 8");
        var abandoned = await EnqueueAsync(outbox, new MailRequest { Sender = "a@example.com", To = ["b@example.com"], Attachments = [new MailAttachment { FileName = "a.bin", Content = new MemoryStream([1]) }] });
        var fresh = await EnqueueAsync(outbox, new MailRequest { Sender = "a@example.com", To = ["b@example.com"] });
        var queued = await EnqueueAsync(outbox, new MailRequest { Sender = "a@example.com", To = ["b@example.com"] });
        await outbox.ExecuteAsync($"update {outbox.T("outbox_message")} set status = 'draft', created_at = {old} where id = @abandoned", new { abandoned });
        await outbox.ExecuteAsync($"update {outbox.T("outbox_message")} set status = 'draft' where id = @fresh", new { fresh });
        await outbox.ExecuteAsync($"update {outbox.T("outbox_message")} set created_at = {old} where id = @queued", new { queued });

        var deleted = await new OutboxAdmin(outbox.Database).PurgeDraftsAsync(TimeSpan.FromDays(7), 100, Ct);

        Assert.Equal(new PurgeOutcome(1, 0), deleted);
        Assert.Equal([fresh, queued], await outbox.QueryAsync<long>($"select id from {outbox.T("outbox_message")} order by id"));
        Assert.Equal(0L, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_attachment")}"));
    }
}
