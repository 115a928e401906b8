using System.Text.RegularExpressions;
using Dapper;
using Npgsql;
using Outbox.Core.Messages;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Catalogue;

/// <summary>
/// One validator's yes is the worker's yes: each case of <see cref="EnqueueValueCatalogue"/> is
/// judged alike by outbox_mail (PostgreSQL) and OutboxClient, every accepted one is sent by the
/// worker, and OUTBOX_MAIL (Oracle, checked in its text) holds the same rules.
/// </summary>
public sealed class ValidatorParityTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string PostgresApi = SchemaInstaller.ReadScript("sql/postgresql/02_api.sql");
    private static readonly string OracleBody = SchemaInstaller.ReadScript("sql/oracle/04_outbox_mail_body.sql");

    private static (string Sql, string Field) PostgresCall(ValueKind kind) => kind switch
    {
        ValueKind.Address => ("select outbox_mail.send(@v, 'to@example.com')", "sender"),
        ValueKind.FileName => ("select outbox_mail.send_attach_raw('a@example.com', 'b@example.com', attachment => '\\x01'::bytea, att_filename => @v)", "att_filename"),
        ValueKind.MimeType => ("select outbox_mail.send_attach_raw('a@example.com', 'b@example.com', attachment => '\\x01'::bytea, att_mime_type => @v, att_filename => 'a.bin')", "att_mime_type"),
        // The second create_mail with the key returns the first one's draft.
        _ => ("select outbox_mail.add_recipient(outbox_mail.create_mail('a@example.com', idempotency_key => @v), 'b@example.com'); "
            + "select outbox_mail.enqueue(outbox_mail.create_mail('a@example.com', idempotency_key => @v))", "idempotency_key"),
    };

    private static (MailRequest Request, string Field) DotnetRequest(EnqueueCase item) => item.Kind switch
    {
        ValueKind.Address => (new MailRequest { Sender = item.Value, To = ["to@example.com"], TextBody = "x" }, "sender"),
        ValueKind.FileName => (Attached(item.Value, "application/octet-stream"), "filename"),
        ValueKind.MimeType => (Attached("a.bin", item.Value), "mime_type"),
        _ => (new MailRequest { Sender = "a@example.com", To = ["b@example.com"], IdempotencyKey = item.Value, TextBody = "x" }, "idempotency_key"),
    };

    private static MailRequest Attached(string name, string mimeType) => new()
    {
        Sender = "a@example.com",
        To = ["b@example.com"],
        TextBody = "x",
        Attachments = [new MailAttachment { FileName = name, Content = new MemoryStream([1]), MimeType = mimeType }],
    };

    [Theory]
    [MemberData(nameof(EnqueueValueCatalogue.All), MemberType = typeof(EnqueueValueCatalogue))]
    public async Task PlPgSql_judges_the_case_as_the_catalogue_says(EnqueueCase item)
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var (sql, field) = PostgresCall(item.Kind);
        await using var connection = new NpgsqlConnection(outbox.ConnectionString);
        await connection.OpenAsync(Ct);

        if (item.Accepted)
        {
            await connection.ExecuteAsync(sql, new { v = item.Value });
            await using var smtp = TestSmtpServer.Start();
            var summary = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);
            Assert.True(summary.Sent == 1, $"{item}: the worker did not send it; last error: {await outbox.ScalarAsync<string?>("select max(last_error) from outbox.outbox_message")}");
        }
        else
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync(sql, new { v = item.Value }));
            Assert.Equal("22023", error.SqlState);
            Assert.StartsWith($"{field}: ", error.MessageText, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(EnqueueValueCatalogue.All), MemberType = typeof(EnqueueValueCatalogue))]
    public async Task OutboxClient_judges_the_case_as_the_catalogue_says(EnqueueCase item)
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        var (request, field) = DotnetRequest(item);

        if (item.Accepted)
        {
            await outbox.EnqueueAsync(request);
            await using var smtp = TestSmtpServer.Start();
            var summary = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);
            Assert.True(summary.Sent == 1, $"{item}: the worker did not send it; last error: {await outbox.ScalarAsync<string?>("select max(last_error) from outbox_message")}");
        }
        else
        {
            var error = await Assert.ThrowsAsync<MailValidationException>(() => outbox.EnqueueAsync(request));
            Assert.Equal(field, error.Field);
            Assert.StartsWith($"{field}: ", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_mime_type_pattern_is_the_same_in_plpgsql_plsql_and_csharp()
    {
        Assert.Contains($"!~ '{MimeTypeRules.Pattern}'", PostgresApi, StringComparison.Ordinal);
        Assert.Contains($"regexp_like(nvl(p_value, ' '), '{MimeTypeRules.Pattern}')", OracleBody, StringComparison.Ordinal);
        Assert.Contains("regexp_like(lower(p_value), '; *(file)?name *=')", OracleBody, StringComparison.Ordinal);
        Assert.Contains("lower(value) ~ '; *(file)?name *='", PostgresApi, StringComparison.Ordinal);
    }

    // Oracle's check_file_name, reduced to what can be read without a server: control characters
    // refused, each part around ":" judged, trailing dots and spaces dropped, case ignored.
    [Fact]
    public void Plsql_judges_file_names_as_the_other_validators_do()
    {
        var body = Between(OracleBody, "function check_file_name(", "end check_file_name;");
        Assert.Contains("for c in 1 .. 31 loop", body, StringComparison.Ordinal);
        Assert.Contains("chr(127)", body, StringComparison.Ordinal);
        Assert.Contains("v_colon := instr(v_rest, ':');", body, StringComparison.Ordinal);
        Assert.Contains("rtrim(case when v_colon > 0 then substr(v_rest, 1, v_colon - 1) else v_rest end, '. ')", body, StringComparison.Ordinal);
        Assert.Contains("v_extension := lower(", body, StringComparison.Ordinal);
    }

    [Fact]
    public void Plsql_refuses_the_same_display_name_specials_and_limits_the_key()
    {
        var address = Between(OracleBody, "function check_address(", "end check_address;");
        Assert.Contains("translate(v_name, 'x():;@\"[]\\', 'x')", address, StringComparison.Ordinal);
        Assert.Contains("'[():;@\"\\[\\]\\\\]'", PostgresApi, StringComparison.Ordinal);
        Assert.Contains("if length(p_idempotency_key) > 400 then", Between(OracleBody, "function new_message(", "end new_message;"), StringComparison.Ordinal);
        Assert.Equal(400, MailRequestValidator.MaxKeyLength);
    }

    [Fact]
    public void Plsql_checks_the_mime_type_of_utl_mails_attachments()
    {
        var sendSimple = Between(OracleBody, "procedure send_simple(", "end send_simple;");
        Assert.Contains("check_mime_type('att_mime_type', p_att_mime_type);", sendSimple, StringComparison.Ordinal);
    }

    // The Oracle pattern is plain POSIX ERE, which .NET reads alike: run it on the catalogue.
    [Fact]
    public void The_plsql_mime_type_pattern_judges_the_catalogue_as_the_others_do()
    {
        var pattern = Regex.Match(OracleBody, @"regexp_like\(nvl\(p_value, ' '\), '([^']+)'\)").Groups[1].Value;
        var names = new Regex("; *(file)?name *=");
        foreach (var item in EnqueueValueCatalogue.Cases.Where(c => c.Kind == ValueKind.MimeType))
        {
            var accepted = Regex.IsMatch(item.Value, pattern) && !names.IsMatch(item.Value.ToLowerInvariant());
            Assert.True(accepted == item.Accepted, item.ToString());
        }
    }

    private static string Between(string text, string start, string end)
    {
        var from = text.IndexOf(start, StringComparison.Ordinal);
        Assert.True(from >= 0, $"{start} not found");
        return text[from..text.IndexOf(end, from, StringComparison.Ordinal)];
    }
}
