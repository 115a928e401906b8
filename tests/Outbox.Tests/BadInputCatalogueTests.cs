using System.Text;
using Dapper;
using MimeKit;
using Outbox.Core.Messages;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// Awkward input, one case each: every one ends in a clear error at enqueue or a mail that is
/// sent (and arrives intact) or failed with a reason, never in an exception that stops the worker.
/// </summary>
public sealed class BadInputCatalogueTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<MimeMessage> SendOneAsync(MailRequest request, Action<TestSmtpServer.Settings>? server = null)
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = TestSmtpServer.Start(server);
        long id;
        await using (var connection = await outbox.OpenAsync())
        {
            id = await OutboxClient.For(connection).EnqueueAsync(connection, null, request, Ct);
        }

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);
        await outbox.AssertStatusAsync(id, "sent");
        return MimeMessage.Load(new MemoryStream(Assert.Single(smtp.Received).Data), Ct);
    }

    private static MailRequest Mail(string? body = "body", string subject = "s") =>
        new() { Sender = "app@example.com", To = ["to@example.com"], Subject = subject, TextBody = body };

    [Fact]
    public void Nul_in_a_header_is_refused_at_enqueue()
    {
        var error = Assert.Throws<MailValidationException>(() => MailRequestValidator.Validate(Mail(subject: "a\0b")));
        Assert.Equal("subject", error.Field);
    }

    [Fact]
    public async Task Eight_bit_and_emoji_subjects_and_names_are_encoded_and_arrive_unchanged()
    {
        var message = await SendOneAsync(new MailRequest
        {
            Sender = "Jürgen Größe 🚀 <app@example.com>",
            To = ["Zoë Ñandú <to@example.com>"],
            Subject = "Grüße 👋 — Überweisung fällig",
            TextBody = "Ça marche 😀",
        });

        Assert.Equal("Grüße 👋 — Überweisung fällig", message.Subject);
        Assert.Equal("Jürgen Größe 🚀", message.From.Mailboxes.Single().Name);
        Assert.Equal("Zoë Ñandú", message.To.Mailboxes.Single().Name);
        Assert.Equal("Ça marche 😀", message.TextBody!.TrimEnd());
        var rawSubject = Encoding.ASCII.GetString(message.Headers.First(h => h.Id == HeaderId.Subject).RawValue);
        Assert.Contains("=?utf-8?", rawSubject, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Idn_domain_is_sent_in_ascii_form_when_the_server_lacks_smtputf8()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var server = ScriptedSmtpServer.Start();
        await using (var connection = await outbox.OpenAsync())
        {
            await OutboxClient.For(connection).EnqueueAsync(connection, null, new MailRequest { Sender = "app@example.com", To = ["info@bücher.example"], TextBody = "x" }, Ct);
        }

        var summary = await outbox.SmtpDispatcher(server.Options()).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Sent);
        Assert.Equal(["info@xn--bcher-kva.example"], Assert.Single(server.Received).To);
    }

    [Fact]
    public async Task A_thousand_recipients_are_sent_in_one_transaction()
    {
        var to = Enumerable.Range(1, 1000).Select(i => $"r{i}@example.com").ToList();
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = TestSmtpServer.Start();
        await using (var connection = await outbox.OpenAsync())
        {
            await OutboxClient.For(connection).EnqueueAsync(connection, null, new MailRequest { Sender = "app@example.com", Bcc = to, TextBody = "x" }, Ct);
        }

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        Assert.Equal(to, Assert.Single(smtp.Received).To);
        Assert.Equal(1000L, await outbox.ScalarAsync<long>("select count(*) from outbox_recipient where status = 'accepted'"));
    }

    [Fact]
    public async Task Empty_and_missing_bodies_are_sent()
    {
        Assert.Equal(string.Empty, (await SendOneAsync(Mail(body: ""))).TextBody ?? string.Empty);
        Assert.Equal(string.Empty, (await SendOneAsync(Mail(body: null))).TextBody ?? string.Empty);
    }

    [Fact]
    public async Task Lone_line_feeds_lone_carriage_returns_and_a_line_with_a_single_dot_survive()
    {
        var message = await SendOneAsync(Mail(body: "first\nsecond\rthird\r\n.\r\n..\r\nlast"));

        var lines = message.TextBody!.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        Assert.Contains(".", lines);
        Assert.Contains("..", lines);
        Assert.Contains("last", lines);
        Assert.Contains("first", lines);
    }

    [Fact]
    public async Task A_line_longer_than_998_characters_is_encoded_and_arrives_whole()
    {
        var line = string.Concat(Enumerable.Repeat("0123456789", 250));

        var message = await SendOneAsync(Mail(body: line));

        Assert.Equal(line, message.TextBody!.TrimEnd());
        Assert.NotEqual(ContentEncoding.SevenBit, ((TextPart)message.BodyParts.First()).ContentTransferEncoding);
    }

    [Fact]
    public async Task Invalid_utf8_written_through_the_raw_path_is_sent_as_written()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        var id = await outbox.ScalarAsync<long>("select outbox_mail.open_mail('app@example.com')");
        await outbox.ExecuteAsync("select outbox_mail.rcpt(@id, 'to@example.com')", new { id });
        await outbox.ExecuteAsync("select outbox_mail.write_data(@id, E'Subject: broken bytes\\r\\n\\r\\n')", new { id });
        await outbox.ExecuteAsync("select outbox_mail.write_raw_data(@id, '\\x c328 ff 0d0a'::bytea)", new { id });
        await outbox.ExecuteAsync("select outbox_mail.close_mail(@id)", new { id });

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        await outbox.AssertStatusAsync(id, "sent");
        var data = Assert.Single(smtp.Received).Data;
        Assert.True(data.AsSpan().IndexOf(new byte[] { 0xC3, 0x28, 0xFF }) >= 0, "the caller's bytes must be sent unchanged");
    }

    [Fact]
    public async Task Zero_byte_attachment_and_a_name_with_folders_and_quotes_arrive()
    {
        var message = await SendOneAsync(new MailRequest
        {
            Sender = "app@example.com",
            To = ["to@example.com"],
            TextBody = "x",
            Attachments =
            [
                new MailAttachment { FileName = "empty.txt", Content = new MemoryStream(), MimeType = "text/plain" },
                new MailAttachment { FileName = "../../etc/\"quoted\" name;.pdf", Content = new MemoryStream([1, 2]), MimeType = "application/pdf" },
            ],
        });

        var parts = message.Attachments.OfType<MimePart>().ToList();
        Assert.Equal(["empty.txt", "\"quoted\" name;.pdf"], parts.Select(p => p.FileName));
        using var empty = new MemoryStream();
        await parts[0].Content!.DecodeToAsync(empty, Ct);
        Assert.Equal(0, empty.Length);
    }

    [Fact]
    public async Task Content_id_that_nothing_references_is_still_sent_as_an_inline_part()
    {
        var message = await SendOneAsync(new MailRequest
        {
            Sender = "app@example.com",
            To = ["to@example.com"],
            HtmlBody = "<p>no image here</p>",
            Attachments = [new MailAttachment { FileName = "logo.png", Content = new MemoryStream([1]), MimeType = "image/png", ContentId = "unused" }],
        });

        var related = Assert.IsType<MultipartRelated>(message.Body);
        Assert.Equal("unused", related[1].ContentId);
    }

    [Fact]
    public async Task Address_without_a_domain_is_refused_at_enqueue_in_both_ways()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var sql = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => outbox.ExecuteAsync("select outbox_mail.send('app@example.com', 'postmaster')"));
        Assert.StartsWith("recipients:", sql.MessageText, StringComparison.Ordinal);
        var dotnet = Assert.Throws<MailValidationException>(() => MailRequestValidator.Validate(new MailRequest { Sender = "app@example.com", To = ["postmaster@"] }));
        Assert.Equal("to", dotnet.Field);
    }

    [Fact]
    public async Task Nul_in_a_body_is_refused_at_enqueue_naming_the_body()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var error = await Assert.ThrowsAsync<MailValidationException>(() => outbox.EnqueueAsync(Mail(body: "a\0b")));
        Assert.Equal("text_body", error.Field);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message"));
    }

    [Fact]
    public async Task A_send_time_of_infinity_is_refused_at_enqueue_in_both_ways()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var sql = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => outbox.ExecuteAsync(
            "select outbox_mail.create_mail('app@example.com', send_after => 'infinity')"));
        Assert.StartsWith("send_after:", sql.MessageText, StringComparison.Ordinal);
        var dotnet = await Assert.ThrowsAsync<MailValidationException>(() => outbox.EnqueueAsync(
            new MailRequest { Sender = "app@example.com", To = ["to@example.com"], SendAfter = DateTimeOffset.MaxValue }));
        Assert.Equal("send_after", dotnet.Field);
    }

    // 12,000 quoted entries took about 30 s per call when each separator looked ahead to the end.
    [Fact]
    public async Task A_long_quoted_recipient_list_is_split_in_linear_time_in_both_ways()
    {
        var list = string.Join(", ", Enumerable.Range(1, 12_000).Select(i => $"\"Doe, No. {i}\" <r{i}@example.com>"));
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("update outbox.outbox_setting set value = '0' where name = 'max_recipients'");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var split = MailAddressRules.SplitAddresses("to", list);
        var dotnet = clock.Elapsed;
        clock.Restart();
        var id = await outbox.ScalarAsync<long>("select outbox_mail.send('app@example.com', @list)", new { list });
        var sql = clock.Elapsed;

        Assert.Equal(12_000, split.Count);
        Assert.Equal("\"Doe, No. 7\" <r7@example.com>", split[6]);
        Assert.Equal(12_000L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_recipient where message_id = @id", new { id }));
        Assert.True(dotnet < TimeSpan.FromSeconds(2), $"C# took {dotnet}");
        Assert.True(sql < TimeSpan.FromSeconds(8), $"PL/pgSQL took {sql}");
    }
}
