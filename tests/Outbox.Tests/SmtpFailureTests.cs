using Dapper;
using Outbox.Tests.Infrastructure;
using SmtpServer.Protocol;

namespace Outbox.Tests;

/// <summary>How the worker treats each kind of SMTP failure, against a real server (on SQLite, the database does not matter here).</summary>
public sealed class SmtpFailureTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<long> EnqueueAsync(TestOutbox outbox, params string[] to)
    {
        return await outbox.EnqueueAsync(new Core.Messages.MailRequest
        {
            Sender = "app@example.com",
            To = to.Length == 0 ? ["to@example.com"] : to,
            Subject = "test",
            TextBody = "body",
        });
    }

    [Fact]
    public async Task Permanent_5xx_reply_fails_the_mail_at_once_with_the_reply()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = TestSmtpServer.Start(s => s.DataReply = _ => new SmtpResponse((SmtpReplyCode)554, "5.7.1 Message rejected as spam"));
        var id = await EnqueueAsync(outbox);

        var summary = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Failed);
        await outbox.AssertStatusAsync(id, "failed");
        var row = (await outbox.QueryAsync<(int Attempts, int Code, string Error)>(
            "select attempt_count, smtp_code, last_error from outbox_message where id = @id", new { id })).Single();
        Assert.Equal(1, row.Attempts);
        Assert.Equal(554, row.Code);
        Assert.Contains("Message rejected as spam", row.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Transient_4xx_reply_is_retried_later_and_then_sent()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = TestSmtpServer.Start(s => s.DataReply = n => n == 0
            ? new SmtpResponse((SmtpReplyCode)451, "4.3.0 Try again later")
            : new SmtpResponse(SmtpReplyCode.Ok, "2.0.0 Ok: queued as SECOND"));
        var id = await EnqueueAsync(outbox);
        var dispatcher = outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp), TestOutbox.FastRetries(o => o.RetryBaseDelay = o.RetryMaxDelay = TimeSpan.FromHours(1)));

        var first = await dispatcher.DispatchDueAsync(Ct);
        Assert.Equal(1, first.Retried);
        await outbox.AssertStatusAsync(id, "queued");
        var due = await outbox.ScalarAsync<string>("select due_at from outbox_message where id = @id", new { id });
        Assert.True(DateTimeOffset.Parse(due, System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.AddMinutes(20), $"backoff must push the next try out, due at {due}");
        Assert.Equal(0, (await dispatcher.DispatchDueAsync(Ct)).Sent);

        await outbox.MakeDueAsync(id);
        Assert.Equal(1, (await dispatcher.DispatchDueAsync(Ct)).Sent);
        await outbox.AssertStatusAsync(id, "sent");
        var attempts = await outbox.QueryAsync<(string Outcome, int? Code)>("select outcome, smtp_code from outbox_attempt where message_id = @id order by id", new { id });
        Assert.Equal([("retry", (int?)451), ("sent", 250)], attempts);
    }

    [Fact]
    public async Task Transient_failures_end_as_failed_after_max_attempts()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = TestSmtpServer.Start(s => s.DataReply = _ => new SmtpResponse((SmtpReplyCode)452, "4.3.1 Insufficient system storage"));
        var id = await EnqueueAsync(outbox);

        // Backoff of 1 ms: one pass keeps reclaiming the mail until its attempts run out.
        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp), TestOutbox.FastRetries(o => o.MaxAttempts = 3)).DispatchDueAsync(Ct);

        await outbox.AssertStatusAsync(id, "failed");
        Assert.Equal(3L, await outbox.ScalarAsync<long>("select count(*) from outbox_attempt where message_id = @id", new { id }));
    }

    [Fact]
    public async Task Server_without_starttls_gets_nothing_in_plaintext_and_the_error_says_why()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = TestSmtpServer.Start(s => { s.Certificate = null; s.RequireAuthentication = false; });
        var id = await EnqueueAsync(outbox);

        var summary = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        Assert.Empty(smtp.Received);
        Assert.Contains("does not offer STARTTLS", summary.PausedBecause, StringComparison.Ordinal);
        await outbox.AssertStatusAsync(id, "queued");
        var row = (await outbox.QueryAsync<(int Attempts, string Error)>("select attempt_count, last_error from outbox_message where id = @id", new { id })).Single();
        Assert.Equal(0, row.Attempts);
        Assert.Contains("never falls back to plaintext", row.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_password_is_a_clear_configuration_error_that_charges_no_attempt_and_pauses()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = TestSmtpServer.Start();
        var ids = new[] { await EnqueueAsync(outbox), await EnqueueAsync(outbox), await EnqueueAsync(outbox) };
        var smtpOptions = TestOutbox.SmtpFor(smtp, o => o.Password = "wrong-password");
        var dispatcher = outbox.SmtpDispatcher(smtpOptions, TestOutbox.FastRetries(o => o.ConfigurationErrorPause = TimeSpan.FromMinutes(5)));

        var summary = await dispatcher.DispatchDueAsync(Ct);
        var again = await dispatcher.DispatchDueAsync(Ct);

        Assert.Contains("refused the login of \"outbox\"", summary.PausedBecause, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password", summary.PausedBecause, StringComparison.Ordinal);
        Assert.Equal(3, summary.Released);
        Assert.Equal(DispatchNothing, (again.Sent, again.Retried, again.Failed, again.Released));
        foreach (var id in ids)
        {
            await outbox.AssertStatusAsync(id, "queued");
        }

        Assert.Equal(0L, await outbox.ScalarAsync<long>("select sum(attempt_count) from outbox_message"));
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox_attempt"));
    }

    [Fact]
    public async Task Certificate_from_an_unknown_ca_is_rejected_and_accepted_once_CaFile_names_that_ca()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = TestSmtpServer.Start();
        var id = await EnqueueAsync(outbox);

        var refused = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp, o => o.CaFile = null)).DispatchDueAsync(Ct);

        Assert.Empty(smtp.Received);
        Assert.Contains("issued by \"CN=Outbox Test CA\"", refused.PausedBecause, StringComparison.Ordinal);
        Assert.Contains("Outbox:Smtp:CaFile", refused.PausedBecause, StringComparison.Ordinal);

        await outbox.MakeDueAsync(id);
        var accepted = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);
        Assert.Equal(1, accepted.Sent);
    }

    [Fact]
    public async Task Expired_certificate_is_rejected_with_its_expiry_date()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = TestSmtpServer.Start(s => s.Certificate = TestCertificates.ExpiredServer());
        await EnqueueAsync(outbox);

        var summary = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        Assert.Empty(smtp.Received);
        Assert.Contains("expired on", summary.PausedBecause, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Password_can_come_from_a_file()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = TestSmtpServer.Start();
        await EnqueueAsync(outbox);
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, TestSmtpServer.Password + "\n", Ct);

        var summary = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp, o => { o.Password = null; o.PasswordFile = file; })).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Sent);
        Assert.Equal(TestSmtpServer.User, Assert.Single(smtp.Received).User);
        File.Delete(file);
    }

    [Fact]
    public async Task Certificate_pin_must_match_when_pins_are_set()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        var certificate = TestCertificates.Server();
        await using var smtp = TestSmtpServer.Start(s => s.Certificate = certificate);
        var id = await EnqueueAsync(outbox);

        var wrongPin = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp, o => o.CertificatePins.Add(new string('A', 64)))).DispatchDueAsync(Ct);
        Assert.Contains("matches none of Outbox:Smtp:CertificatePins", wrongPin.PausedBecause, StringComparison.Ordinal);

        await outbox.MakeDueAsync(id);
        var pin = string.Join(':', Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(certificate.RawData)).Chunk(2).Select(c => new string(c)));
        var rightPin = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp, o => o.CertificatePins.Add(pin.ToLowerInvariant()))).DispatchDueAsync(Ct);
        Assert.Equal(1, rightPin.Sent);
    }

    [Fact]
    public async Task Recipient_refused_among_several_is_recorded_per_recipient_and_the_others_get_the_mail()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = TestSmtpServer.Start(s => s.RecipientReply = address => address == "nobody@example.com"
            ? new SmtpResponse(SmtpReplyCode.MailboxUnavailable, "5.1.1 User unknown")
            : null);
        var id = await EnqueueAsync(outbox, "one@example.com", "nobody@example.com", "two@example.com");

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        await outbox.AssertStatusAsync(id, "sent");
        Assert.Equal(["one@example.com", "two@example.com"], Assert.Single(smtp.Received).To);
        var recipients = await outbox.QueryAsync<(string Address, string Status, string? Reply)>(
            "select address, status, smtp_reply from outbox_recipient where message_id = @id order by id", new { id });
        Assert.Equal(("one@example.com", "accepted", null), recipients[0]);
        Assert.Equal("rejected", recipients[1].Status);
        Assert.Contains("550", recipients[1].Reply, StringComparison.Ordinal);
        Assert.Equal(("two@example.com", "accepted", null), recipients[2]);
        Assert.Contains("nobody@example.com", await outbox.ScalarAsync<string>("select last_error from outbox_message where id = @id", new { id }), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_recipient_refused_permanently_fails_the_mail()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = TestSmtpServer.Start(s => s.RecipientReply = _ => new SmtpResponse(SmtpReplyCode.MailboxUnavailable, "5.1.1 User unknown"));
        var id = await EnqueueAsync(outbox, "x@example.com", "y@example.com");

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        await outbox.AssertStatusAsync(id, "failed");
        Assert.Equal(2L, await outbox.ScalarAsync<long>("select count(*) from outbox_recipient where message_id = @id and status = 'rejected'", new { id }));
    }

    [Fact]
    public async Task Unreachable_server_charges_no_attempt_and_the_mail_waits()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await EnqueueAsync(outbox);
        int closedPort;
        using (var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            listener.Start();
            closedPort = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }

        var options = new Core.Sending.SmtpOptions { Host = "127.0.0.1", Port = closedPort, Timeout = TimeSpan.FromSeconds(5) };
        var summary = await outbox.SmtpDispatcher(options, TestOutbox.FastRetries(o => o.RetryBaseDelay = TimeSpan.FromMinutes(1))).DispatchDueAsync(Ct);

        Assert.Contains($"could not connect to 127.0.0.1:{closedPort}", summary.PausedBecause, StringComparison.Ordinal);
        await outbox.AssertStatusAsync(id, "queued");
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select attempt_count from outbox_message where id = @id", new { id }));
    }

    [Fact]
    public async Task Security_None_sends_in_plaintext_only_when_allowed_and_never_with_a_password()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = TestSmtpServer.Start(s => { s.Certificate = null; s.RequireAuthentication = false; });
        var id = await EnqueueAsync(outbox);

        var withPassword = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp, o => { o.Security = Core.Sending.SmtpSecurity.None; o.AllowInsecure = true; })).DispatchDueAsync(Ct);
        Assert.Contains("the password is never sent in plaintext", withPassword.PausedBecause, StringComparison.Ordinal);
        Assert.Empty(smtp.Received);

        await outbox.MakeDueAsync(id);
        var anonymous = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp, o =>
        {
            o.Security = Core.Sending.SmtpSecurity.None;
            o.AllowInsecure = true;
            o.UserName = null;
        })).DispatchDueAsync(Ct);
        Assert.Equal(1, anonymous.Sent);
        Assert.False(Assert.Single(smtp.Received).Secure);
    }

    [Fact]
    public async Task Connection_dropped_in_the_middle_of_data_is_retried_later()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var server = ScriptedSmtpServer.Start(step => step.Phase == "mid-data" ? SmtpFault.Drop : null);
        // Larger than the socket buffers, so the drop comes while the worker is still writing.
        var id = await outbox.EnqueueAsync(new Core.Messages.MailRequest
        {
            Sender = "app@example.com",
            To = ["to@example.com"],
            Attachments = [new Core.Messages.MailAttachment { FileName = "big.bin", Content = new PatternStream(8 * 1024 * 1024) }],
        });

        var summary = await outbox.SmtpDispatcher(server.Options(), TestOutbox.FastRetries(o => o.RetryBaseDelay = o.RetryMaxDelay = TimeSpan.FromHours(1))).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Retried);
        await outbox.AssertStatusAsync(id, "queued");
        var attempt = (await outbox.QueryAsync<(string Outcome, string Error)>("select outcome, error from outbox_attempt where message_id = @id", new { id })).Single();
        Assert.Equal("retry", attempt.Outcome);
        Assert.False(string.IsNullOrWhiteSpace(attempt.Error));
    }

    private static readonly (int, int, int, int) DispatchNothing = (0, 0, 0, 0);
}
