using Dapper;
using Npgsql;
using Outbox.Core.Messages;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// Bad input is refused at enqueue with an error that names the parameter, by outbox_mail in
/// PostgreSQL and by OutboxClient alike, and nothing is written.
/// </summary>
public sealed class ValidationTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, string, string, string, string> BadInputs => new()
    {
        // field named in the error, sender, recipients, subject, replyto
        { "subject", "app@example.com", "to@example.com", "Hello\r\nBcc: victim@example.com", "" },
        { "subject", "app@example.com", "to@example.com", "Hello\nX-Injected: 1", "" },
        { "sender", "app@example.com\r\nBcc: victim@example.com", "to@example.com", "s", "" },
        { "replyto", "app@example.com", "to@example.com", "s", "a@example.com\nBcc: b@example.com" },
        { "recipients", "app@example.com", "not-an-address", "s", "" },
        { "recipients", "app@example.com", "user@", "s", "" },
        { "recipients", "app@example.com", "ok@example.com, broken@@example.com", "s", "" },
        { "replyto", "app@example.com", "to@example.com", "s", "nobody" },
        { "sender", "no domain", "to@example.com", "s", "" },
        { "sender", "", "to@example.com", "s", "" },
        { "recipients", "app@example.com", "", "s", "" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Outbox_mail_send_refuses_bad_input_naming_the_parameter(string field, string sender, string recipients, string subject, string replyto)
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);

        var error = await Assert.ThrowsAsync<PostgresException>(() => outbox.ScalarAsync<long>(
            "select outbox_mail.send(sender => @sender, recipients => @recipients, subject => @subject, message => 'b', replyto => nullif(@replyto, ''))",
            new { sender, recipients, subject, replyto }));

        Assert.Equal("22023", error.SqlState);
        Assert.StartsWith(field + ":", error.MessageText, StringComparison.Ordinal);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message"));
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task OutboxClient_refuses_the_same_bad_input_naming_the_field(string field, string sender, string recipients, string subject, string replyto)
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var connection = await outbox.OpenAsync();
        var request = new MailRequest
        {
            Sender = sender,
            To = MailAddressRulesSplitOrRaw(recipients),
            Subject = subject,
            ReplyTo = replyto.Length == 0 ? null : replyto,
            TextBody = "b",
        };

        var error = await Assert.ThrowsAsync<MailValidationException>(() => OutboxClient.For(connection).EnqueueAsync(connection, null, request, Ct));

        var expected = field == "recipients" && recipients.Length > 0 ? "to" : field;
        Assert.Equal(expected, error.Field);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox_message"));
    }

    [Theory]
    [InlineData("billing\n")]
    [InlineData("bill ing")]
    [InlineData("")]
    public async Task A_profile_name_is_judged_alike_by_postgresql_and_dotnet(string profile)
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var sql = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync("select outbox_mail.create_mail('app@example.com', profile => @profile)", new { profile }));
        var dotnet = Assert.Throws<MailValidationException>(() => MailRequestValidator.Validate(new MailRequest { Sender = "app@example.com", To = ["to@example.com"], Profile = profile }));

        Assert.StartsWith("profile:", sql.MessageText, StringComparison.Ordinal);
        Assert.Equal("profile", dotnet.Field);
    }

    [Fact]
    public async Task Builder_refuses_enqueue_without_recipient_and_changes_to_a_queued_mail()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var id = await outbox.ScalarAsync<long>("select outbox_mail.create_mail('app@example.com', subject => 's')");

        var none = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync("select outbox_mail.enqueue(@id)", new { id }));
        Assert.StartsWith("recipients:", none.MessageText, StringComparison.Ordinal);

        await outbox.ExecuteAsync("select outbox_mail.add_recipient(@id, 'to@example.com'); select outbox_mail.enqueue(@id)", new { id });
        var late = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync("select outbox_mail.add_recipient(@id, 'late@example.com')", new { id }));
        Assert.Contains("only a draft can be changed", late.MessageText, StringComparison.Ordinal);

        var kind = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync(
            "select outbox_mail.add_recipient(outbox_mail.create_mail('app@example.com'), 'x@example.com', kind => 'from')"));
        Assert.StartsWith("kind:", kind.MessageText, StringComparison.Ordinal);

        var attachmentName = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync(
            "select outbox_mail.add_attachment(outbox_mail.create_mail('app@example.com'), E'evil\\r\\nContent-Type: text/html', '\\x00'::bytea)"));
        Assert.StartsWith("filename:", attachmentName.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Raw_path_refuses_close_without_rcpt_or_text_and_bad_recipients()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var id = await outbox.ScalarAsync<long>("select outbox_mail.open_mail('app@example.com')");

        var noRcpt = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync("select outbox_mail.close_mail(@id)", new { id }));
        Assert.StartsWith("recipients:", noRcpt.MessageText, StringComparison.Ordinal);
        var badRcpt = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync("select outbox_mail.rcpt(@id, 'a@b.com\r\nRCPT TO:<x@y.com>')", new { id }));
        Assert.StartsWith("recipient:", badRcpt.MessageText, StringComparison.Ordinal);

        await outbox.ExecuteAsync("select outbox_mail.rcpt(@id, 'to@example.com')", new { id });
        var noText = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync("select outbox_mail.close_mail(@id)", new { id }));
        Assert.StartsWith("data:", noText.MessageText, StringComparison.Ordinal);
        var wrongPath = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync("select outbox_mail.enqueue(@id)", new { id }));
        Assert.Contains("use rcpt / write_data / close_mail", wrongPath.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sender_role_can_only_call_outbox_mail_and_reader_role_cannot_write()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        await outbox.ExecuteAsync($"""
            create role app_{suffix} login password 'pw' in role outbox_sender;
            grant usage on schema outbox_mail to app_{suffix};
            create role dba_{suffix} login password 'pw' in role outbox_reader;
            grant usage on schema outbox to dba_{suffix};
            """);
        var builder = new NpgsqlConnectionStringBuilder(outbox.ConnectionString) { Username = $"app_{suffix}", Password = "pw", Pooling = false };
        await using (var app = new NpgsqlConnection(builder.ConnectionString))
        {
            await app.OpenAsync(Ct);
            var id = await app.ExecuteScalarAsync<long>("select outbox_mail.send('app@example.com', 'to@example.com', message => 'allowed')");
            Assert.True(id > 0);
            var tables = await Assert.ThrowsAsync<PostgresException>(() => app.ExecuteScalarAsync<long>("select count(*) from outbox.outbox_message"));
            Assert.Equal("42501", tables.SqlState);
            var helper = await Assert.ThrowsAsync<PostgresException>(() => app.ExecuteAsync("select outbox.queue(1)"));
            Assert.Equal("42501", helper.SqlState);
        }

        builder.Username = $"dba_{suffix}";
        await using var reader = new NpgsqlConnection(builder.ConnectionString);
        await reader.OpenAsync(Ct);
        Assert.Equal(1L, await reader.ExecuteScalarAsync<long>("select count(*) from outbox.outbox_message"));
        var write = await Assert.ThrowsAsync<PostgresException>(() => reader.ExecuteAsync("update outbox.outbox_message set status = 'sent'"));
        Assert.Equal("42501", write.SqlState);
    }

    [Fact]
    public void Address_rules_accept_the_usual_forms()
    {
        Assert.Equal("a@example.com", MailAddressRules.CheckAddress("to", " a@example.com "));
        Assert.Equal("Jane Doe <jane@example.com>", MailAddressRules.CheckAddress("to", "Jane Doe <jane@example.com>"));
        Assert.Equal("jörg@bücher.example", MailAddressRules.CheckAddress("to", "jörg@bücher.example"));
        Assert.Equal(["a@x.com", "\"Doe, Jane\" <j@y.com>", "b@z.com"], MailAddressRules.SplitAddresses("to", "a@x.com, \"Doe, Jane\" <j@y.com>; b@z.com"));
    }

    private static List<string> MailAddressRulesSplitOrRaw(string recipients) =>
        recipients.Length == 0 ? [] : recipients.Split(',').Select(r => r.Trim()).ToList();
}
