using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Outbox.Core.Messages;
using Outbox.Core.Sending;
using Outbox.Core.Sending.OAuth;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// A catalogue of hostile and broken SMTP servers. For each: the pass ends on time, the worker
/// reads a bounded amount, every claimed mail ends in a recorded state whose reason names what
/// the server did, and the other mail goes out (at once, or on the next pass when the server
/// broke the connection before any mail).
/// </summary>
public sealed class HostileServerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>What the first mail's row says after the first pass.</summary>
    /// <param name="Status">Its status.</param>
    /// <param name="Attempts">Attempts charged (0: handed back untried).</param>
    /// <param name="Reason">A part of its last_error.</param>
    /// <param name="OtherSentAtOnce">Whether the second mail went out in the same pass (the fault struck a mail, not the connection).</param>
    public sealed record Expected(string Status, int Attempts, string Reason, bool OtherSentAtOnce);

    public static TheoryData<string, string, int, string, Expected> Cases => new()
    {
        // name, phase, connection or message the fault strikes, fault, expected
        { "endless greeting", "connect", 0, "endless", new("queued", 0, "the server's reply ran past 1000 lines", false) },
        { "endless EHLO", "EHLO", 0, "endless", new("queued", 0, "the server's reply ran past 1000 lines", false) },
        { "endless EHLO line", "EHLO", 0, "endless line", new("queued", 0, "a line of the server's reply ran past 4096 bytes", false) },
        { "garbage for EHLO", "EHLO", 0, "garbage", new("queued", 0, "status code", false) },
        { "endless MAIL reply", "MAIL", 0, "endless", new("queued", 1, "the server's reply ran past 1000 lines", true) },
        { "endless RCPT reply", "RCPT", 0, "endless", new("queued", 1, "the server's reply ran past 1000 lines", true) },
        { "endless RCPT line", "RCPT", 0, "endless line", new("queued", 1, "ran past 4096 bytes", true) },
        { "endless DATA reply", "DATA", 0, "endless", new("queued", 1, "the server's reply ran past 1000 lines", true) },
        { "endless reply after the data", "dot", 0, "endless", new("queued", 1, "the server may have accepted it", true) },
        { "MAIL reply trickled", "MAIL", 0, "trickle", new("queued", 1, "within Outbox:Smtp:Timeout", true) },
        { "reply after the data trickled", "dot", 0, "trickle", new("queued", 1, "the server may have accepted it", true) },
        { "reset halfway through the RCPT reply", "RCPT", 0, "reset", new("queued", 1, "unexpectedly disconnected", true) },
        { "silence at RCPT", "RCPT", 0, "silence", new("queued", 1, "the server did not answer, or did not finish its reply, within Outbox:Smtp:Timeout", true) },
        { "530 to MAIL", "MAIL", 0, "530 5.7.0 Authentication required", new("queued", 0, "the server requires authentication (530 5.7.0 Authentication required)", false) },
        { "530 to MAIL: STARTTLS first", "MAIL", 0, "530 5.7.0 Must issue a STARTTLS command first", new("queued", 0, "the server requires TLS before mail", false) },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_hostile_server_cannot_hold_the_worker_nor_strand_a_mail(string name, string phase, int strikes, string fault, Expected expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        // Faults before the first mail strike the first connection; the others the first mail.
        var connectionLevel = phase is "connect" or "EHLO";
        await using var server = ScriptedSmtpServer.Start(step => step.Phase == phase && (connectionLevel ? step.Connection : step.Message) == strikes ? Fault(fault) : null);
        await using var outbox = await TestOutbox.SqliteAsync();
        var first = await EnqueueAsync(outbox, "first");
        var second = await EnqueueAsync(outbox, "second");
        var dispatcher = outbox.SmtpDispatcher(server.Options(o => o.Timeout = Timeout), SlowRetries());

        var clock = Stopwatch.StartNew();
        await dispatcher.DispatchDueAsync(Ct);
        var elapsed = clock.Elapsed;

        Assert.False(server.FloodCapReached, $"{name}: the worker read {ScriptedSmtpServer.FloodCap} bytes of one reply");
        // What the worker took is at most a reply's limit, plus what the two sockets buffered.
        Assert.InRange(server.BytesFlooded, 0, 32L * 1024 * 1024);
        // The reply guard's Timeout for the stuck reply, and a second connection's setup for the other mail.
        Assert.InRange(elapsed, TimeSpan.Zero, (Timeout * 4) + TimeSpan.FromSeconds(10));
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox_message where status = 'sending'"));
        var row = (await outbox.QueryAsync<(string Status, int Attempts, string? Error)>(
            "select status, attempt_count, last_error from outbox_message where id = @first", new { first })).Single();
        Assert.Equal((expected.Status, expected.Attempts), (row.Status, row.Attempts));
        Assert.Contains(expected.Reason, row.Error ?? string.Empty, StringComparison.Ordinal);

        if (!expected.OtherSentAtOnce)
        {
            await outbox.AssertStatusAsync(second, "queued");
            await outbox.ExecuteAsync("update outbox_message set due_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') where status = 'queued'");
            if (fault.StartsWith("530", StringComparison.Ordinal))
            {
                return;
            }

            await dispatcher.DispatchDueAsync(Ct);
            await outbox.AssertStatusAsync(first, "sent");
        }

        await outbox.AssertStatusAsync(second, "sent");
    }

    [Fact]
    public async Task A_530_to_mail_from_is_a_configuration_error_that_keeps_the_servers_code()
    {
        await using var server = ScriptedSmtpServer.Start(step => step.Phase == "MAIL" ? SmtpFault.Reply("530 5.7.0 Authentication required") : null);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await EnqueueAsync(outbox, "needs a login");

        var summary = await outbox.SmtpDispatcher(server.Options(), SlowRetries()).DispatchDueAsync(Ct);

        Assert.Contains("Set Outbox:Smtp:UserName and the password", summary.PausedBecause, StringComparison.Ordinal);
        var row = (await outbox.QueryAsync<(int Attempts, int? Code, string Reply)>(
            "select attempt_count, smtp_code, smtp_reply from outbox_message where id = @id", new { id })).Single();
        Assert.Equal((0, 530), (row.Attempts, row.Code));
        Assert.Contains("5.7.0 Authentication required", row.Reply, StringComparison.Ordinal);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox_attempt"));
    }

    [Fact]
    public async Task An_endless_reply_to_auth_ends_the_session_and_hands_the_mail_back()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var server = ScriptedSmtpServer.StartWithOAuth((_, _) => true, step => step.Phase == "AUTH" ? SmtpFault.EndlessReply : null);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await EnqueueAsync(outbox, "auth");
        var options = tokens.SmtpOptions(server, OAuth2Provider.TokenEndpoint, "app@example.com");
        options.Timeout = Timeout;
        var dispatcher = outbox.Dispatcher(new SmtpTransport(options, NullLogger<SmtpTransport>.Instance), SlowRetries());

        await dispatcher.DispatchDueAsync(Ct);

        Assert.False(server.FloodCapReached);
        Assert.InRange(server.BytesFlooded, 0, 32L * 1024 * 1024);
        var row = (await outbox.QueryAsync<(string Status, int Attempts, string Error)>(
            "select status, attempt_count, last_error from outbox_message where id = @id", new { id })).Single();
        Assert.Equal(("queued", 0), (row.Status, row.Attempts));
        Assert.Contains("the server's reply ran past 1000 lines", row.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_endpoint_whose_answer_never_ends_is_cut_off_and_the_mail_waits()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        tokens.EndlessBody = true;
        await using var server = ScriptedSmtpServer.StartWithOAuth((_, _) => true);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await EnqueueAsync(outbox, "token");
        var dispatcher = outbox.Dispatcher(new SmtpTransport(tokens.SmtpOptions(server, OAuth2Provider.TokenEndpoint, "app@example.com"), NullLogger<SmtpTransport>.Instance), SlowRetries());

        var summary = await dispatcher.DispatchDueAsync(Ct);

        Assert.True(tokens.BytesFlooded < 32L * 1024 * 1024, $"{tokens.BytesFlooded}: {summary.PausedBecause}");
        Assert.Contains("OAuth2: cannot get a token from", summary.PausedBecause, StringComparison.Ordinal);
        Assert.Equal(("queued", 0), (await outbox.StatusOfAsync(id), await outbox.ScalarAsync<int>("select attempt_count from outbox_message where id = @id", new { id })));
    }

    [Fact]
    public async Task A_server_that_echoes_the_password_in_its_replies_gets_it_stored_nowhere()
    {
        const string Password = "s3cret-Pa55word";
        var echo = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("\0app\0" + Password));
        await using var server = ScriptedSmtpServer.Start(step => step switch
        {
            { Phase: "RCPT" } when step.Line.Contains("gone@", StringComparison.Ordinal) => SmtpFault.Reply($"550 5.1.1 no such user, password was {Password}"),
            { Phase: "RCPT" } when step.Line.Contains("later@", StringComparison.Ordinal) => SmtpFault.Reply($"451 4.7.1 try later, {echo}"),
            { Phase: "dot", Message: 0 } => SmtpFault.Reply($"250 2.0.0 queued, {Uri.EscapeDataString(Password)}"),
            { Phase: "dot", Message: 1 } => SmtpFault.Reply($"554 5.7.1 spam, said {Password}"),
            _ => null,
        });
        await using var outbox = await TestOutbox.SqliteAsync();
        await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["to@example.com", "gone@example.com", "later@example.com"], Subject = "partial", TextBody = "b" });
        await EnqueueAsync(outbox, "refused");

        await outbox.SmtpDispatcher(server.Options(o => o.Password = Password), SlowRetries()).DispatchDueAsync(Ct);

        var stored = string.Join("\n", await outbox.QueryAsync<string>(
            "select coalesce(smtp_reply, '') || ' ' || coalesce(last_error, '') from outbox_message "
            + "union all select coalesce(smtp_reply, '') || ' ' || coalesce(error, '') from outbox_attempt "
            + "union all select coalesce(smtp_reply, '') from outbox_recipient"));
        Assert.Contains("(secret removed)", stored, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(Uri.EscapeDataString(Password), stored, StringComparison.Ordinal);
        Assert.DoesNotContain(echo, stored, StringComparison.Ordinal);
        Assert.Contains("550 5.1.1 no such user", stored, StringComparison.Ordinal);
        Assert.Contains("554 5.7.1 spam", stored, StringComparison.Ordinal);
    }

    private static SmtpFault Fault(string fault) => fault switch
    {
        "endless" => SmtpFault.EndlessReply,
        "endless line" => SmtpFault.EndlessLine,
        "garbage" => SmtpFault.Garbage,
        "trickle" => SmtpFault.Trickle(TimeSpan.FromMilliseconds(50)),
        "reset" => SmtpFault.ResetMidReply,
        "silence" => SmtpFault.Silence,
        _ => SmtpFault.Reply(fault),
    };

    // Mails that wait stay put for the assertions: a retry is due only in an hour.
    private static Core.Dispatch.DispatchOptions SlowRetries() =>
        TestOutbox.FastRetries(o => o.RetryBaseDelay = o.RetryMaxDelay = o.ConfigurationErrorPause = TimeSpan.FromHours(1));

    private static Task<long> EnqueueAsync(TestOutbox outbox, string subject) =>
        outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["to@example.com"], Subject = subject, TextBody = "body" });
}
