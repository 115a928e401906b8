using System.Security.Cryptography;
using Dapper;
using MimeKit;
using Npgsql;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// The spine on PostgreSQL: outbox_mail called from SQL in a transaction, the worker sending
/// over STARTTLS + AUTH to a real SMTP server, the outcome written back.
/// </summary>
public sealed class PostgresPipelineTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Rolled_back_enqueue_sends_nothing_and_committed_one_is_sent()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        await using (var connection = new NpgsqlConnection(outbox.ConnectionString))
        {
            await connection.OpenAsync(Ct);
            await using (var rolledBack = await connection.BeginTransactionAsync(Ct))
            {
                await connection.ExecuteAsync("select outbox_mail.send('app@example.com', 'gone@example.com', subject => 'rolled back', message => 'x')", transaction: rolledBack);
                await rolledBack.RollbackAsync(Ct);
            }

            await using var committed = await connection.BeginTransactionAsync(Ct);
            await connection.ExecuteAsync("select outbox_mail.send('app@example.com', 'kept@example.com', subject => 'committed', message => 'y')", transaction: committed);
            await committed.CommitAsync(Ct);
        }

        var summary = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Sent);
        var mail = Assert.Single(smtp.Received);
        Assert.Equal(["kept@example.com"], mail.To);
        Assert.Equal(1L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message"));
    }

    [Fact]
    public async Task Send_with_utl_mail_named_parameters_is_sent_over_starttls_and_auth_with_the_reply_recorded()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        var id = await outbox.ScalarAsync<long>("""
            select outbox_mail.send(
                sender     => 'Orders <orders@example.com>',
                recipients => 'a@example.com, "Doe, Jane" <jane@example.com>',
                cc         => 'c@example.com',
                bcc        => 'hidden@example.com',
                subject    => 'Order 42 confirmed',
                message    => 'Thank you for your order.',
                mime_type  => 'text/plain; charset=us-ascii',
                priority   => 1,
                replyto    => 'support@example.com')
            """);

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        var received = Assert.Single(smtp.Received);
        Assert.True(received.Secure, "the mail must travel over TLS");
        Assert.Equal(TestSmtpServer.User, received.User);
        Assert.Equal("orders@example.com", received.From);
        Assert.Equal(["a@example.com", "jane@example.com", "c@example.com", "hidden@example.com"], received.To);
        var message = MimeMessage.Load(new MemoryStream(received.Data), Ct);
        Assert.Equal("Order 42 confirmed", message.Subject);
        Assert.Equal("Thank you for your order.", message.TextBody!.TrimEnd());
        Assert.Equal(XMessagePriority.Highest, message.XPriority);
        Assert.Equal("support@example.com", message.ReplyTo.Mailboxes.Single().Address);
        Assert.Empty(message.Bcc);
        Assert.DoesNotContain("hidden@example.com", System.Text.Encoding.UTF8.GetString(received.Data), StringComparison.Ordinal);

        var row = await outbox.QueryAsync<(string Status, int SmtpCode, string SmtpReply)>(
            "select status, smtp_code, smtp_reply from outbox.outbox_message where id = @id", new { id });
        Assert.Equal(("sent", 250, "2.0.0 Ok: queued as TEST0000"), row.Single());
        Assert.Equal("sent", await outbox.ScalarAsync<string>("select outcome from outbox.outbox_attempt where message_id = @id", new { id }));
    }

    [Fact]
    public async Task Attachment_of_several_megabytes_arrives_byte_identical()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        var content = RandomNumberGenerator.GetBytes(6 * 1024 * 1024 + 123);
        var id = await outbox.ScalarAsync<long>(
            "select outbox_mail.send_attach_raw('app@example.com', 'to@example.com', subject => 'report', message => 'attached', attachment => @content, att_inline => false, att_mime_type => 'application/pdf', att_filename => 'report.pdf')",
            new { content });

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        await outbox.AssertStatusAsync(id, "sent");
        var message = MimeMessage.Load(new MemoryStream(Assert.Single(smtp.Received).Data), Ct);
        var part = Assert.IsType<MimePart>(Assert.Single(message.Attachments));
        Assert.Equal("report.pdf", part.FileName);
        Assert.Equal("application/pdf", part.ContentType.MimeType);
        using var decoded = new MemoryStream();
        await part.Content!.DecodeToAsync(decoded, Ct);
        Assert.Equal(content, decoded.ToArray());
    }

    [Fact]
    public async Task Builder_makes_text_html_and_inline_image_into_alternative_inside_related_inside_mixed()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        var png = RandomNumberGenerator.GetBytes(5000);
        var pdf = RandomNumberGenerator.GetBytes(7000);
        await using (var connection = new NpgsqlConnection(outbox.ConnectionString))
        {
            await connection.OpenAsync(Ct);
            await using var tx = await connection.BeginTransactionAsync(Ct);
            var id = await connection.ExecuteScalarAsync<long>(
                "select outbox_mail.create_mail('news@example.com', subject => 'Newsletter', text_body => 'Plain version', html_body => '<p>HTML <img src=\"cid:logo\"></p>')", transaction: tx);
            await connection.ExecuteAsync("select outbox_mail.add_recipient(@id, 'reader@example.com')", new { id }, tx);
            await connection.ExecuteAsync("select outbox_mail.add_attachment(@id, 'logo.png', @png, 'image/png', content_id => 'logo')", new { id, png }, tx);
            await connection.ExecuteAsync("select outbox_mail.add_attachment(@id, 'terms.pdf', @pdf, 'application/pdf')", new { id, pdf }, tx);
            await connection.ExecuteAsync("select outbox_mail.enqueue(@id)", new { id }, tx);
            await tx.CommitAsync(Ct);
        }

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        await outbox.AssertStatusAsync(1, "sent");
        var message = MimeMessage.Load(new MemoryStream(Assert.Single(smtp.Received).Data), Ct);
        var mixed = Assert.IsType<Multipart>(message.Body);
        Assert.Equal("multipart/mixed", mixed.ContentType.MimeType);
        var related = Assert.IsType<MultipartRelated>(mixed[0]);
        var alternative = Assert.IsType<MultipartAlternative>(related[0]);
        Assert.Equal("text/plain", alternative[0].ContentType.MimeType);
        Assert.Equal("text/html", alternative[1].ContentType.MimeType);
        var logo = Assert.IsType<MimePart>(related[1]);
        Assert.Equal("logo", logo.ContentId);
        Assert.Equal("image/png", logo.ContentType.MimeType);
        var terms = Assert.IsType<MimePart>(mixed[1]);
        Assert.Equal("terms.pdf", terms.FileName);
        Assert.True(terms.IsAttachment);
    }

    [Fact]
    public async Task Send_attach_varchar2_attaches_text_as_utf8_with_utl_mail_defaults()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        await outbox.ExecuteAsync(
            "select outbox_mail.send_attach_varchar2('app@example.com', 'to@example.com', subject => 'csv', message => 'see file', attachment => @csv, att_filename => 'prices.csv')",
            new { csv = "name;price\nKäse;4,20\n" });

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        var message = MimeMessage.Load(new MemoryStream(Assert.Single(smtp.Received).Data), Ct);
        var part = message.BodyParts.OfType<MimePart>().Single(p => p.FileName == "prices.csv");
        Assert.Equal("text/plain", part.ContentType.MimeType);
        Assert.Equal("utf-8", part.ContentType.Charset);
        Assert.Equal("inline", part.ContentDisposition!.Disposition);
        using var decoded = new MemoryStream();
        await part.Content!.DecodeToAsync(decoded, Ct);
        Assert.Equal("name;price\nKäse;4,20\n", System.Text.Encoding.UTF8.GetString(decoded.ToArray()));
    }

    [Fact]
    public async Task A_draft_is_never_sent()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        var id = await outbox.ScalarAsync<long>("select outbox_mail.create_mail('app@example.com', subject => 'not yet')");
        await outbox.ExecuteAsync("select outbox_mail.add_recipient(@id, 'x@example.com')", new { id });

        var summary = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        Assert.Equal(0, summary.Sent);
        Assert.Empty(smtp.Received);
        Assert.Equal("draft", await outbox.StatusOfAsync(id));
    }

    [Fact]
    public async Task Send_after_holds_the_mail_until_its_time()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        var id = await outbox.ScalarAsync<long>("select outbox_mail.create_mail('app@example.com', subject => 'later', send_after => now() + interval '1 hour')");
        await outbox.ExecuteAsync("select outbox_mail.add_recipient(@id, 'x@example.com'); select outbox_mail.enqueue(@id)", new { id });
        var dispatcher = outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp));

        Assert.Equal(0, (await dispatcher.DispatchDueAsync(Ct)).Sent);
        await outbox.ExecuteAsync("update outbox.outbox_message set send_after = now(), due_at = now() where id = @id", new { id });
        Assert.Equal(1, (await dispatcher.DispatchDueAsync(Ct)).Sent);
    }

    /// <summary>Written the way the classic UTL_SMTP recipe writes a mail: header lines, then a hand-made multipart body.</summary>
    [Fact]
    public async Task Utl_smtp_shaped_mail_is_sent_as_written_to_the_envelope_recipients()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        var attachment = RandomNumberGenerator.GetBytes(3000);
        var base64 = Convert.ToBase64String(attachment, Base64FormattingOptions.InsertLineBreaks);
        await using (var connection = new NpgsqlConnection(outbox.ConnectionString))
        {
            await connection.OpenAsync(Ct);
            await using var tx = await connection.BeginTransactionAsync(Ct);
            var id = await connection.ExecuteScalarAsync<long>("select outbox_mail.open_mail('reports@example.com')", transaction: tx);
            await connection.ExecuteAsync("select outbox_mail.rcpt(@id, 'boss@example.com')", new { id }, tx);
            await connection.ExecuteAsync("select outbox_mail.rcpt(@id, 'archive@example.com')", new { id }, tx);
            string[] lines =
            [
                "From: Reports <reports@example.com>",
                "To: boss@example.com",
                "Subject: Monthly report",
                "MIME-Version: 1.0",
                "X-Custom: kept as written",
                "Content-Type: multipart/mixed; boundary=\"-----SECBOUND\"",
                "",
                "-------SECBOUND",
                "Content-Type: text/plain; charset=us-ascii",
                "",
                "See the attachment.",
                "-------SECBOUND",
                "Content-Type: application/octet-stream; name=\"data.bin\"",
                "Content-Transfer-Encoding: base64",
                "Content-Disposition: attachment; filename=\"data.bin\"",
                "",
                base64,
                "-------SECBOUND--",
            ];
            foreach (var line in lines)
            {
                await connection.ExecuteAsync("select outbox_mail.write_data(@id, @text)", new { id, text = line + "\r\n" }, tx);
            }

            await connection.ExecuteAsync("select outbox_mail.close_mail(@id)", new { id }, tx);
            await tx.CommitAsync(Ct);
        }

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        var received = Assert.Single(smtp.Received);
        Assert.Equal(["boss@example.com", "archive@example.com"], received.To);
        var text = System.Text.Encoding.ASCII.GetString(received.Data);
        Assert.Contains("X-Custom: kept as written", text, StringComparison.Ordinal);
        Assert.Contains("Subject: Monthly report", text, StringComparison.Ordinal);
        var message = MimeMessage.Load(new MemoryStream(received.Data), Ct);
        Assert.NotNull(message.MessageId);
        Assert.NotEqual(default, message.Date);
        var part = Assert.IsType<MimePart>(Assert.Single(message.Attachments));
        using var decoded = new MemoryStream();
        await part.Content!.DecodeToAsync(decoded, Ct);
        Assert.Equal(attachment, decoded.ToArray());
    }

    [Fact]
    public async Task Last_mail_id_gives_code_written_for_oracles_procedures_the_id_of_the_mail_it_queued()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var connection = await outbox.OpenAsync();

        Assert.Null(await connection.ExecuteScalarAsync<long?>("select outbox_mail.last_mail_id()"));
        var sent = await connection.ExecuteScalarAsync<long>("select outbox_mail.send('a@example.com', 'b@example.com')");
        Assert.Equal(sent, await connection.ExecuteScalarAsync<long?>("select outbox_mail.last_mail_id()"));
        var built = await connection.ExecuteScalarAsync<long>("select outbox_mail.create_mail('a@example.com')");
        await connection.ExecuteAsync("select outbox_mail.add_recipient(@built, 'c@example.com')", new { built });
        Assert.Equal(sent, await connection.ExecuteScalarAsync<long?>("select outbox_mail.last_mail_id()"));
        await connection.ExecuteAsync("select outbox_mail.enqueue(@built)", new { built });
        Assert.Equal(built, await connection.ExecuteScalarAsync<long?>("select outbox_mail.last_mail_id()"));
    }
}
