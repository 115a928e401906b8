using Outbox.Core.Messages;
using Outbox.Storage.Admin;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// Every recipient is accounted for: accepted, deferred (4xx: tried again, alone) or rejected
/// (5xx), and a mail is never recorded sent while a recipient it owes waits.
/// </summary>
public sealed class RecipientAccountingTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<TestOutbox> OpenAsync(string provider) => provider == "postgresql" ? TestOutbox.PostgresAsync(postgres) : TestOutbox.SqliteAsync();

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task A_recipient_deferred_beside_an_accepted_one_is_retried_alone_with_the_same_message_id(string provider)
    {
        var full = true;
        await using var server = ScriptedSmtpServer.Start(step => full && step.Phase == "RCPT" && step.Line.Contains("full@", StringComparison.Ordinal)
            ? SmtpFault.Reply("452 4.2.2 Mailbox full")
            : null);
        await using var outbox = await OpenAsync(provider);
        var id = await outbox.EnqueueAsync(Mail("good@example.com", "full@example.com"));
        var dispatcher = outbox.SmtpDispatcher(server.Options(), SlowRetries());

        var first = await dispatcher.DispatchDueAsync(Ct);

        Assert.Equal((0, 1), (first.Sent, first.Retried));
        await outbox.AssertStatusAsync(id, "queued");
        Assert.Equal([("good@example.com", "accepted", null), ("full@example.com", "deferred", "452 4.2.2 Mailbox full")], await RecipientsAsync(outbox, id));
        var error = await outbox.ScalarAsync<string>($"select last_error from {outbox.T("outbox_message")} where id = @id", new { id });
        Assert.Contains("delivered to 1 of 2 recipients; 1 deferred: full@example.com: 452 4.2.2 Mailbox full", error, StringComparison.Ordinal);

        full = false;
        await outbox.MakeDueAsync(id);
        var second = await dispatcher.DispatchDueAsync(Ct);

        Assert.Equal(1, second.Sent);
        await outbox.AssertStatusAsync(id, "sent");
        Assert.All(await RecipientsAsync(outbox, id), r => Assert.Equal("accepted", r.Status));
        var mails = server.Received.ToList();
        Assert.Equal([["good@example.com"], ["full@example.com"]], mails.Select(m => m.To.ToArray()));
        Assert.Equal(MessageId(mails[0].Data), MessageId(mails[1].Data));
        // Both still see every recipient in the headers.
        Assert.All(mails, m => Assert.Contains("To: good@example.com, full@example.com", m.Data, StringComparison.Ordinal));
        var attempts = await outbox.QueryAsync<(string Outcome, int? Code)>($"select outcome, smtp_code from {outbox.T("outbox_attempt")} where message_id = @id order by id", new { id });
        Assert.Equal([("retry", (int?)250), ("sent", 250)], attempts);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task A_server_that_caps_recipients_per_transaction_gets_the_rest_in_further_transactions(string provider)
    {
        await using var server = ScriptedSmtpServer.Start(recipientLimit: 3);
        await using var outbox = await OpenAsync(provider);
        var recipients = Enumerable.Range(1, 7).Select(i => $"r{i}@example.com").ToArray();
        var id = await outbox.EnqueueAsync(Mail(recipients));

        var summary = await outbox.SmtpDispatcher(server.Options(), SlowRetries()).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Sent);
        await outbox.AssertStatusAsync(id, "sent");
        Assert.Equal([3, 3, 1], server.Received.Select(m => m.To.Count));
        Assert.Equal(recipients, server.Received.SelectMany(m => m.To));
        Assert.Single(server.Received.Select(m => MessageId(m.Data)).Distinct());
        Assert.All(await RecipientsAsync(outbox, id), r => Assert.Equal("accepted", r.Status));
    }

    [Fact]
    public async Task Deferred_recipients_that_never_accept_fail_the_mail_after_max_attempts_and_say_so()
    {
        await using var server = ScriptedSmtpServer.Start(step => step.Phase == "RCPT" && step.Line.Contains("full@", StringComparison.Ordinal)
            ? SmtpFault.Reply("452 4.2.2 Mailbox full")
            : step.Phase == "RCPT" && step.Line.Contains("gone@", StringComparison.Ordinal) ? SmtpFault.Reply("550 5.1.1 No such user") : null);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(Mail("good@example.com", "full@example.com", "gone@example.com"));

        var dispatcher = outbox.SmtpDispatcher(server.Options(), TestOutbox.FastRetries(o => o.MaxAttempts = 3));
        for (var pass = 0; pass < 5 && await outbox.StatusOfAsync(id) != "failed"; pass++)
        {
            await outbox.MakeDueAsync(id);
            await dispatcher.DispatchDueAsync(Ct);
        }

        await outbox.AssertStatusAsync(id, "failed");
        Assert.Equal(
            [("good@example.com", "accepted", null), ("full@example.com", "deferred", "452 4.2.2 Mailbox full"), ("gone@example.com", "rejected", "550 5.1.1 No such user")],
            await RecipientsAsync(outbox, id));
        // good and gone were asked once; full on every attempt, twice on the first: a 452 beside
        // an accepted recipient may mean "too many recipients", so it is asked again at once, alone.
        var mails = server.Received.ToList();
        Assert.Equal(["good@example.com"], Assert.Single(mails).To);
        Assert.Equal(4, server.Commands.Count(c => c.Contains("full@", StringComparison.Ordinal)));
        Assert.Equal(1, server.Commands.Count(c => c.Contains("gone@", StringComparison.Ordinal)));
        var error = await outbox.ScalarAsync<string>("select last_error from outbox_message where id = @id", new { id });
        Assert.Equal("delivered earlier to 1 of 3 recipients; every recipient was refused: full@example.com: 452 4.2.2 Mailbox full", error);

        // Retried by hand: the deferred and the rejected recipient are asked again, the accepted one is not.
        await new OutboxAdmin(outbox.Database).RetryAsync(id, Ct);
        Assert.Equal([("good@example.com", "accepted", null), ("full@example.com", "deferred", "452 4.2.2 Mailbox full"), ("gone@example.com", null, null)],
            await RecipientsAsync(outbox, id));
    }

    [Fact]
    public async Task When_every_recipient_is_refused_only_the_deferred_ones_are_asked_again()
    {
        var round = 0;
        await using var server = ScriptedSmtpServer.Start(step => step.Phase == "RCPT" && round == 0
            ? SmtpFault.Reply(step.Line.Contains("later@", StringComparison.Ordinal) ? "451 4.7.1 Greylisted" : "550 5.1.1 No such user")
            : null);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(Mail("later@example.com", "gone@example.com"));
        var dispatcher = outbox.SmtpDispatcher(server.Options(), SlowRetries());

        Assert.Equal(1, (await dispatcher.DispatchDueAsync(Ct)).Retried);
        Assert.Equal([("later@example.com", "deferred", "451 4.7.1 Greylisted"), ("gone@example.com", "rejected", "550 5.1.1 No such user")], await RecipientsAsync(outbox, id));

        round = 1;
        await outbox.MakeDueAsync(id);
        Assert.Equal(1, (await dispatcher.DispatchDueAsync(Ct)).Sent);
        Assert.Equal(["later@example.com"], Assert.Single(server.Received).To);
        Assert.Equal([("later@example.com", "accepted", null), ("gone@example.com", "rejected", "550 5.1.1 No such user")], await RecipientsAsync(outbox, id));
    }

    [Fact]
    public async Task An_address_named_twice_is_asked_once_and_its_refusal_recorded_on_both_rows()
    {
        await using var server = ScriptedSmtpServer.Start(step => step.Phase == "RCPT" && step.Line.Contains("gone@", StringComparison.OrdinalIgnoreCase)
            ? SmtpFault.Reply("550 5.1.1 No such user")
            : null);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["gone@example.com", "good@example.com"], Cc = ["Gone@example.com"], Subject = "twice", TextBody = "b" });

        var summary = await outbox.SmtpDispatcher(server.Options(), SlowRetries()).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Sent);
        Assert.Equal(1, server.Commands.Count(c => c.Contains("gone@", StringComparison.OrdinalIgnoreCase)));
        Assert.Equal(
            [("gone@example.com", "rejected", "550 5.1.1 No such user"), ("good@example.com", "accepted", null), ("Gone@example.com", "rejected", "550 5.1.1 No such user")],
            await RecipientsAsync(outbox, id));
    }

    [Fact]
    public async Task Outbox_show_makes_a_partial_delivery_obvious()
    {
        await using var server = ScriptedSmtpServer.Start(step => step.Phase == "RCPT" && step.Line.Contains("full@", StringComparison.Ordinal)
            ? SmtpFault.Reply("452 4.2.2 Mailbox full")
            : null);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(Mail("good@example.com", "full@example.com"));
        await outbox.SmtpDispatcher(server.Options(), SlowRetries()).DispatchDueAsync(Ct);
        var config = Path.Combine(Path.GetTempPath(), $"outbox-show-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, System.Text.Json.JsonSerializer.Serialize(new
        {
            Outbox = new { Database = new { Provider = "sqlite", outbox.ConnectionString } },
        }), Ct);

        try
        {
            var (code, output) = await Cli.RunAsync("show", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--config", config);

            Assert.Equal(0, code);
            Assert.Contains($"Mail {id}: queued (mime), 1 attempt(s)", output, StringComparison.Ordinal);
            Assert.Contains("Delivered:   to 1 of 2 recipients; 1 deferred (tried again), 0 rejected, 0 not tried yet", output, StringComparison.Ordinal);
            Assert.Contains("full@example.com  [deferred: 452 4.2.2 Mailbox full]", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task Postfix_with_its_recipient_limit_gets_all_1005_recipients_in_two_transactions()
    {
        await using var postfix = await PostfixServer.StartAsync("smtpd_recipient_limit = 1000");
        await using var outbox = await TestOutbox.SqliteAsync();
        // More than max_recipients' default, as a DBA may allow.
        await outbox.ExecuteAsync("update outbox_setting set value = '2000' where name = 'max_recipients'");
        var bcc = Enumerable.Range(2, 1004).Select(i => $"r{i}@example.com").ToArray();
        var id = await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["r1@example.com"], Bcc = bcc, Subject = "many", TextBody = "body" });
        var options = new Core.Sending.SmtpOptions
        {
            Host = "127.0.0.1",
            Port = postfix.Port,
            Security = Core.Sending.SmtpSecurity.None,
            AllowInsecure = true,
            Timeout = TimeSpan.FromSeconds(30),
        };

        var summary = await outbox.SmtpDispatcher(options, SlowRetries()).DispatchDueAsync(Ct);

        Assert.True(summary.Sent == 1, $"not sent: {summary.PausedBecause} {await outbox.ScalarAsync<string?>("select last_error from outbox_message where id = @id", new { id })}");
        Assert.All(await RecipientsAsync(outbox, id), r => Assert.Equal("accepted", r.Status));
        var reply = await outbox.ScalarAsync<string>("select smtp_reply from outbox_message where id = @id", new { id });
        Assert.Equal(2, reply.Split("; ").Length);
        var delivered = await postfix.WaitForLogAsync("status=sent", 1005, TimeSpan.FromSeconds(60));
        var addresses = delivered.Select(l => l[(l.IndexOf("to=<", StringComparison.Ordinal) + 4)..l.IndexOf('>', l.IndexOf("to=<", StringComparison.Ordinal))]).ToHashSet();
        Assert.Equal(1005, addresses.Count);
        Assert.Contains("r1005@example.com", addresses);
    }

    private static async Task<List<(string Address, string? Status, string? Reply)>> RecipientsAsync(TestOutbox outbox, long id) =>
        (await outbox.QueryAsync<(string, string?, string?)>(
            $"select address, status, smtp_reply from {outbox.T("outbox_recipient")} where message_id = @id order by id", new { id })).ToList();

    private static string MessageId(string data) =>
        data.Split("\r\n").First(l => l.StartsWith("Message-ID:", StringComparison.OrdinalIgnoreCase));

    private static Core.Dispatch.DispatchOptions SlowRetries() =>
        TestOutbox.FastRetries(o => o.RetryBaseDelay = o.RetryMaxDelay = TimeSpan.FromHours(1));

    private static MailRequest Mail(params string[] to) =>
        new() { Sender = "app@example.com", To = to, Subject = "recipients", TextBody = "body" };
}
