using Dapper;
using Npgsql;
using Outbox.Core.Messages;
using Outbox.Core.Validation;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// Every value a caller stores is bounded at enqueue (outbox_setting max_header_chars,
/// max_address_chars, max_recipients), the same through outbox_mail as through OutboxClient,
/// with an error naming the field; a DBA's 0 lifts a limit.
/// </summary>
public sealed class EnqueueBoundsTests(PostgresServer postgres)
{
    private async Task<TestOutbox> OutboxAsync(string provider) =>
        provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);

    private static async Task<string> ErrorOfAsync(TestOutbox outbox, string sql)
    {
        var error = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync(sql));
        Assert.Equal("22023", error.SqlState);
        return error.MessageText;
    }

    private static string Addresses(int count) => string.Join(",", Enumerable.Range(0, count).Select(i => $"r{i}@example.com"));

    [Theory]
    [InlineData("select outbox_mail.send('a@example.com', 'b@example.com', subject => repeat('s', 1001))", "subject: is 1001 characters, more than the 1000 allowed")]
    [InlineData("select outbox_mail.create_mail('a@example.com', subject => repeat('é', 1001))", "subject: is 1001 characters")]
    [InlineData("select outbox_mail.send('a@example.com', repeat('b', 489) || '@example.com')", "recipients: is 501 characters, more than the 500 allowed")]
    [InlineData("select outbox_mail.send(repeat('a', 489) || '@example.com', 'b@example.com')", "sender: is 501 characters")]
    [InlineData("select outbox_mail.send_attach_raw('a@example.com', 'b@example.com', att_filename => repeat('f', 1001) || '.pdf', attachment => '\\x00'::bytea)", "att_filename: is 1005 characters")]
    public async Task Outbox_mail_refuses_an_overlong_value_naming_the_field(string call, string expected)
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);

        Assert.StartsWith(expected, await ErrorOfAsync(outbox, call), StringComparison.Ordinal);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message"));
    }

    [Fact]
    public async Task Outbox_mail_refuses_more_recipients_than_max_recipients_whichever_call_adds_them()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("update outbox.outbox_setting set value = '3' where name = 'max_recipients'");

        Assert.StartsWith("cc: the mail would have 4 recipients, more than the 3 allowed",
            await ErrorOfAsync(outbox, $"select outbox_mail.send('a@example.com', 'b@example.com', cc => '{Addresses(4)}')"), StringComparison.Ordinal);
        Assert.StartsWith("recipients: the mail would have 4 recipients",
            await ErrorOfAsync(outbox, $"select outbox_mail.send('a@example.com', '{Addresses(2)}', cc => '{Addresses(2)}')"), StringComparison.Ordinal);

        // One call at a time: the fourth add_recipient (or rcpt) is the one refused.
        var draft = await outbox.ScalarAsync<long>("select outbox_mail.create_mail('a@example.com')");
        await outbox.ExecuteAsync($"select outbox_mail.add_recipient({draft}, '{Addresses(3)}')");
        Assert.StartsWith("recipient: the mail would have 4 recipients",
            await ErrorOfAsync(outbox, $"select outbox_mail.add_recipient({draft}, 'x@example.com', 'bcc')"), StringComparison.Ordinal);
        var raw = await outbox.ScalarAsync<long>("select outbox_mail.open_mail('a@example.com')");
        await outbox.ExecuteAsync($"select outbox_mail.rcpt({raw}, 'r1@example.com'); select outbox_mail.rcpt({raw}, 'r2@example.com'); select outbox_mail.rcpt({raw}, 'r3@example.com')");
        Assert.StartsWith("recipient: the mail would have 4 recipients",
            await ErrorOfAsync(outbox, $"select outbox_mail.rcpt({raw}, 'r4@example.com')"), StringComparison.Ordinal);
        await outbox.ExecuteAsync("insert into outbox.outbox_template (name, subject, text_body) values ('t', 'hi', 'hello')");
        Assert.StartsWith("recipients: the mail would have 4 recipients",
            await ErrorOfAsync(outbox, $"select outbox_mail.send_template('a@example.com', '{Addresses(4)}', 't')"), StringComparison.Ordinal);

        Assert.Equal(6L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_recipient"));
    }

    [Fact]
    public async Task A_list_of_a_hundred_thousand_recipients_is_refused_without_storing_any()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var draft = await outbox.ScalarAsync<long>("select outbox_mail.create_mail('a@example.com')");

        Assert.StartsWith("recipient: the mail would have 100000 recipients, more than the 1000 allowed",
            await ErrorOfAsync(outbox, $"select outbox_mail.add_recipient({draft}, string_agg('r' || i || '@example.com', ',')) from generate_series(1, 100000) i"),
            StringComparison.Ordinal);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_recipient"));
    }

    [Fact]
    public async Task A_dba_lifts_a_limit_with_0()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("update outbox.outbox_setting set value = '0' where name in ('max_header_chars', 'max_recipients')");

        var id = await outbox.ScalarAsync<long>($"select outbox_mail.send('a@example.com', '{Addresses(1001)}', subject => repeat('s', 5000))");

        Assert.Equal(1001L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_recipient where message_id = @id", new { id }));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task OutboxClient_applies_the_same_limits_naming_the_field(string provider)
    {
        await using var outbox = await OutboxAsync(provider);
        var ok = new MailRequest { Sender = "a@example.com", To = ["b@example.com"] };

        async Task<MailValidationException> RefusedAsync(MailRequest request) =>
            await Assert.ThrowsAsync<MailValidationException>(() => outbox.EnqueueAsync(request));

        var subject = await RefusedAsync(new MailRequest { Sender = ok.Sender, To = ok.To, Subject = new string('s', 1001) });
        Assert.Equal(("subject", true), (subject.Field, subject.Message.Contains("is 1001 characters, more than the 1000 allowed", StringComparison.Ordinal)));
        var address = await RefusedAsync(new MailRequest { Sender = ok.Sender, To = ok.To, Bcc = [new string('b', 489) + "@example.com"] });
        Assert.Equal("bcc", address.Field);
        var file = await RefusedAsync(new MailRequest
        {
            Sender = ok.Sender, To = ok.To,
            Attachments = [new MailAttachment { FileName = new string('f', 1001), Content = new MemoryStream([1]) }],
        });
        Assert.Equal("filename", file.Field);
        var many = await RefusedAsync(new MailRequest { Sender = ok.Sender, To = [.. Addresses(600).Split(',')], Cc = [.. Addresses(401).Split(',')] });
        Assert.Equal("recipients", many.Field);
        Assert.Contains("1001 recipients, more than the 1000 allowed", many.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_message")}"));

        await outbox.ExecuteAsync($"update {outbox.T("outbox_setting")} set value = '2000' where name = 'max_recipients'");
        await outbox.EnqueueAsync(new MailRequest { Sender = ok.Sender, To = [.. Addresses(600).Split(',')], Cc = [.. Addresses(401).Split(',')], Subject = new string('s', 1000) });
    }
}
