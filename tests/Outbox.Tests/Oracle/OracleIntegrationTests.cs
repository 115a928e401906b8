using System.Data.Common;
using System.Security.Cryptography;
using Dapper;
using MimeKit;
using Outbox.Core.Messages;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Oracle;

/// <summary>
/// The PostgreSQL pipeline's scenarios on a live Oracle schema: the shipped scripts installed
/// as `outbox init` runs them, OUTBOX_MAIL called exactly as UTL_MAIL was, the worker sending
/// over STARTTLS + AUTH. Skipped unless OUTBOX_TEST_ORACLE and the driver are there (see
/// OracleTestDatabase); they share one schema, so they do not run in parallel.
/// </summary>
[Collection("Oracle schema")]
public sealed class OracleIntegrationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Utl_mail_call_unchanged_but_the_package_is_sent_after_commit_and_nothing_after_rollback()
    {
        await using var outbox = await OracleTestDatabase.RequireAsync();
        await using var smtp = TestSmtpServer.Start();
        await using (var connection = await outbox.OpenAsync())
        {
            await using (var rolledBack = await connection.BeginTransactionAsync(Ct))
            {
                await connection.ExecuteAsync("begin outbox_mail.send(sender => 'app@example.com', recipients => 'gone@example.com', subject => 'rolled back', message => 'x'); end;", transaction: rolledBack);
                await rolledBack.RollbackAsync(Ct);
            }

            await using var committed = await connection.BeginTransactionAsync(Ct);
            await connection.ExecuteAsync("""
                begin
                    outbox_mail.send(
                        sender     => 'Orders <orders@example.com>',
                        recipients => 'a@example.com, "Doe, Jane" <jane@example.com>',
                        cc         => 'c@example.com',
                        bcc        => 'hidden@example.com',
                        subject    => 'Order 42 confirmed',
                        message    => 'Thank you for your order.',
                        mime_type  => 'text/plain; charset=us-ascii',
                        priority   => 1,
                        replyto    => 'support@example.com');
                end;
                """, transaction: committed);
            await committed.CommitAsync(Ct);
        }

        var summary = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Sent);
        var received = Assert.Single(smtp.Received);
        Assert.True(received.Secure);
        Assert.Equal(["a@example.com", "jane@example.com", "c@example.com", "hidden@example.com"], received.To);
        var message = MimeMessage.Load(new MemoryStream(received.Data), Ct);
        Assert.Equal("Order 42 confirmed", message.Subject);
        Assert.Equal(XMessagePriority.Highest, message.XPriority);
        var row = (await outbox.QueryAsync<(string Status, int SmtpCode)>("select status, smtp_code from outbox_message")).Single();
        Assert.Equal(("sent", 250), row);
        Assert.Equal("sent", await outbox.ScalarAsync<string>("select outcome from outbox_attempt"));
    }

    [Fact]
    public async Task Builder_with_a_large_blob_attachment_arrives_byte_for_byte()
    {
        await using var outbox = await OracleTestDatabase.RequireAsync();
        await using var smtp = TestSmtpServer.Start();
        await outbox.ExecuteAsync("""
            declare
                l_id   number;
                l_blob blob;
                l_raw  raw(1000);
            begin
                dbms_lob.createtemporary(l_blob, true);
                for i in 1 .. 3000 loop
                    l_raw := utl_raw.cast_to_raw(rpad(to_char(i), 1000, 'x'));
                    dbms_lob.writeappend(l_blob, 1000, l_raw);
                end loop;
                l_id := outbox_mail.create_mail(sender => 'app@example.com', subject => 'report', text_body => 'see attached', html_body => '<p>see attached</p>');
                outbox_mail.add_recipient(l_id, 'dba@example.com');
                outbox_mail.add_attachment(l_id, 'report.bin', l_blob);
                outbox_mail.enqueue(l_id);
                commit;
            end;
            """);

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        var message = MimeMessage.Load(new MemoryStream(Assert.Single(smtp.Received).Data), Ct);
        var part = Assert.Single(message.Attachments.OfType<MimePart>());
        using var content = new MemoryStream();
        await part.Content!.DecodeToAsync(content, Ct);
        var expected = string.Concat(Enumerable.Range(1, 3000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture).PadRight(1000, 'x')));
        Assert.Equal(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(expected)), SHA256.HashData(content.ToArray()));
        Assert.Equal("see attached", message.TextBody!.TrimEnd());
    }

    [Fact]
    public async Task Utl_smtp_shaped_calls_send_the_text_as_written()
    {
        await using var outbox = await OracleTestDatabase.RequireAsync();
        await using var smtp = TestSmtpServer.Start();
        await outbox.ExecuteAsync("""
            declare
                l_id number;
            begin
                l_id := outbox_mail.open_mail('app@example.com');
                outbox_mail.rcpt(l_id, 'dba@example.com');
                outbox_mail.write_data(l_id, 'From: app@example.com' || utl_tcp.crlf);
                outbox_mail.write_data(l_id, 'To: dba@example.com' || utl_tcp.crlf);
                outbox_mail.write_data(l_id, 'Subject: nightly load' || utl_tcp.crlf || utl_tcp.crlf);
                outbox_mail.write_data(l_id, 'Loaded 42 rows.' || utl_tcp.crlf);
                outbox_mail.close_mail(l_id);
                commit;
            end;
            """);

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        var message = MimeMessage.Load(new MemoryStream(Assert.Single(smtp.Received).Data), Ct);
        Assert.Equal("nightly load", message.Subject);
        Assert.Equal("Loaded 42 rows.", message.TextBody!.TrimEnd());
    }

    [Theory]
    [InlineData("outbox_mail.send(sender => 'a@example.com', recipients => 'b@example.com', subject => 'x' || chr(13) || chr(10) || 'Bcc: evil@example.com')", "ORA-20002: subject: must not contain a line break")]
    [InlineData("outbox_mail.send(sender => 'a@example.com', recipients => 'not an address')", "ORA-20003: recipients: \"not an address\" is not a valid mail address")]
    [InlineData("outbox_mail.send(sender => null, recipients => 'b@example.com')", "ORA-20001: sender: is required")]
    [InlineData("outbox_mail.send(sender => 'a@example.com', recipients => ' ')", "ORA-20001: recipients: is required")]
    [InlineData("outbox_mail.enqueue(outbox_mail.create_mail(sender => 'a@example.com'))", "ORA-20004: recipients: mail")]
    [InlineData("outbox_mail.send_attach_raw(sender => 'a@example.com', recipients => 'b@example.com', attachment => hextoraw('00'), att_filename => 'run.exe')", "ORA-20006: att_filename: attachments named *.exe are refused")]
    [InlineData("outbox_mail.send(sender => 'a@example.com', recipients => 'b@example.com', subject => rpad('x', 2001, 'x'))", "ORA-20005: subject: is 2001 bytes, more than the 2000 allowed")]
    [InlineData("outbox_mail.send(sender => 'a@example.com', recipients => 'b@example.com', subject => rpad(unistr('\\00E9'), 1001, unistr('\\00E9')))", "ORA-20005: subject: is 2002 bytes, more than the 2000 allowed")]
    [InlineData("outbox_mail.send(sender => 'a@example.com', recipients => rpad('b', 1000, 'b') || '@example.com')", "ORA-20005: recipients: is 1012 bytes, more than the 1000 allowed")]
    [InlineData("outbox_mail.send_attach_raw(sender => 'a@example.com', recipients => 'b@example.com', attachment => hextoraw('00'), att_mime_type => 'application/' || rpad('y', 400, 'y'))", "ORA-20005: att_mime_type: is 412 bytes, more than the 400 allowed")]
    public async Task Bad_input_raises_the_documented_code_naming_the_parameter_and_leaves_nothing(string call, string expected)
    {
        await using var outbox = await OracleTestDatabase.RequireAsync();

        var error = await Assert.ThrowsAnyAsync<DbException>(() => outbox.ExecuteAsync($"begin {call}; end;"));

        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox_message where status <> 'draft'"));
    }

    // The Message-ID is made of the sender's domain, cut so that it fits its column; a NULL
    // priority is the default, as UTL_MAIL's callers pass it.
    [Fact]
    public async Task A_sender_with_a_long_domain_and_a_null_priority_is_queued()
    {
        await using var outbox = await OracleTestDatabase.RequireAsync();

        await outbox.ExecuteAsync("begin outbox_mail.send(sender => 'a@' || rpad('d', 500, 'd') || '.example.com', recipients => 'b@example.com', priority => null); commit; end;");

        var row = (await outbox.QueryAsync<(string Status, int Priority, int IdLength)>("select status, priority, length(mime_message_id) from outbox_message")).Single();
        Assert.Equal(("queued", 3), (row.Status, row.Priority));
        Assert.True(row.IdLength <= 400, $"mime_message_id is {row.IdLength} characters");
    }

    [Fact]
    public async Task Outbox_client_enqueues_through_an_oracle_connection_once_per_idempotency_key()
    {
        await using var outbox = await OracleTestDatabase.RequireAsync();
        await using var smtp = TestSmtpServer.Start();
        // Past PL/SQL's 32767 bytes in characters of two: only a CLOB bind takes it.
        var body = string.Concat(Enumerable.Repeat("Grüße ", 6000));
        MailRequest Request(Stream content) => new()
        {
            Sender = "app@example.com",
            To = ["b@example.com"],
            Subject = "from .NET",
            TextBody = body,
            IdempotencyKey = "order-42",
            Attachments = [new MailAttachment { FileName = "big.bin", Content = content }],
        };
        long first, second;
        await using (var connection = await outbox.OpenAsync())
        {
            first = await OutboxClient.For(connection).EnqueueAsync(connection, null, Request(new PatternStream(2_500_000)), Ct);
            second = await OutboxClient.For(connection).EnqueueAsync(connection, null, Request(new PatternStream(2_500_000)), Ct);
        }

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        Assert.Equal(first, second);
        var message = MimeMessage.Load(new MemoryStream(Assert.Single(smtp.Received).Data), Ct);
        Assert.Equal(body.TrimEnd(), message.TextBody?.TrimEnd());
        var part = Assert.Single(message.Attachments.OfType<MimePart>());
        using var content = new MemoryStream();
        await part.Content!.DecodeToAsync(content, Ct);
        Assert.True(content.ToArray().Select((b, i) => b == PatternStream.ByteAt(i)).All(same => same));
    }
}
