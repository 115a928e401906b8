using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Outbox.Core.Messages;
using Outbox.Core.Sending;
using Outbox.Core.Sending.Accounts;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// An expired mail is never sent, even when it expires after the claim: while it waits in the
/// worker's batch (behind a slow mail), or before a retry that could only come after its expiry.
/// The mark before its SMTP transaction, or the retry's write, records it 'expired' on the
/// database clock; run --once counts it, and the caller reads expires_at through the status API.
/// </summary>
public sealed class ExpiryInFlightTests(PostgresServer postgres) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-expiry-flight-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    // The server holds its reply to the first mail until the second one's expires_at has passed
    // (the test moves it to the past right then, on the database clock): the second was claimed in
    // time, but its turn came too late. It never reaches the server.
    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task A_mail_that_expires_while_its_batch_is_sent_is_recorded_expired_and_never_reaches_the_server(string provider)
    {
        await using var outbox = await OutboxAsync(provider);
        var slow = await outbox.EnqueueAsync(Mail("slow first"));
        var expiring = await outbox.EnqueueAsync(Mail("flash sale", expiresAfter: TimeSpan.FromHours(1)));
        await using var smtp = ScriptedSmtpServer.Start(step => step is { Phase: "dot", Message: 0 } ? ExpireNow(outbox, expiring) : null);
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Transport = "smtp",
            Database = new { Provider = provider, outbox.ConnectionString },
            Smtp = new { Host = "127.0.0.1", smtp.Port, Security = "None", AllowInsecure = true },
            Dispatch = new { BatchSize = 10, Connections = 1 },
        });

        var run = await WorkerProcess.RunToEndAsync(_dir.FullName, null, "run", "--once", "--config", config);

        Assert.True(run.Code == 0, run.Error);
        Assert.Equal("sent 1, retry later 0, failed 0, not tried 0, expired 1", run.Out.Trim());
        Assert.Equal(["slow first"], smtp.DataReceived.Select(m => Subject(m.Data)));
        Assert.Single(smtp.Commands, c => c.StartsWith("MAIL FROM", StringComparison.OrdinalIgnoreCase));
        await outbox.AssertStatusAsync(slow, "sent");
        await outbox.AssertStatusAsync(expiring, "expired");
        var row = (await outbox.QueryAsync<(int Attempts, string Error, string? Owner, string? Due, string? Started)>(
            $"select attempt_count, last_error, lease_owner, {outbox.Database.Dialect.AsIsoText("due_at")}, {outbox.Database.Dialect.AsIsoText("data_started_at")} from {outbox.T("outbox_message")} where id = @expiring",
            new { expiring })).Single();
        // The claim's attempt is taken back, as for a mail expired at the claim: it was never tried.
        Assert.Equal((0, null, null, null), (row.Attempts, row.Owner, row.Due, row.Started));
        Assert.Matches(@"^expired at 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(its expires_at\) before it could be sent: not sent$", row.Error);
        Assert.Equal(0L, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_attempt")} where message_id = @expiring", new { expiring }));
    }

    // Microsoft Graph goes through the same mark: the second mail's sendMail is never requested.
    [Fact]
    public async Task Over_graph_a_mail_that_expires_while_its_batch_is_sent_is_never_requested()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync("outbox@contoso.com", token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var slow = await outbox.EnqueueAsync(Mail("slow first", sender: graph.Mailbox));
        var expiring = await outbox.EnqueueAsync(Mail("flash sale", expiresAfter: TimeSpan.FromHours(1), sender: graph.Mailbox));
        graph.OnSendMail = message => message.Subject == "slow first" ? Task.FromResult(ExpireNow(outbox, expiring)) : Task.CompletedTask;

        var summary = await outbox.Dispatcher(GraphTests.Transport(graph, tokens)).DispatchDueAsync(Ct);

        Assert.Equal((1, 1), (summary.Sent, summary.Expired));
        Assert.Equal(1, graph.SendRequests);
        Assert.Equal(["slow first"], graph.Received.Select(m => m.Message.Subject));
        await outbox.AssertStatusAsync(slow, "sent");
        await outbox.AssertStatusAsync(expiring, "expired");
    }

    // A mail found expired at the mark used nothing of its account: its rate-limit slot goes back,
    // and the next mail of the batch takes it instead of waiting for the next window.
    [Fact]
    public async Task A_mail_expired_at_the_mark_gives_its_rate_limit_slot_back()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        var slow = await outbox.EnqueueAsync(Mail("slow first"));
        var expiring = await outbox.EnqueueAsync(Mail("flash sale", expiresAfter: TimeSpan.FromHours(1)));
        var next = await outbox.EnqueueAsync(Mail("next"));
        await using var smtp = ScriptedSmtpServer.Start(step => step is { Phase: "dot", Message: 0 } ? ExpireNow(outbox, expiring) : null);
        var transport = TwoMailsAnHour(outbox, smtp);

        var summary = await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        Assert.Equal((2, 1, 0, 0), (summary.Sent, summary.Expired, summary.Released, summary.Retried));
        Assert.Equal(["slow first", "next"], smtp.DataReceived.Select(m => Subject(m.Data)));
        await outbox.AssertStatusAsync(slow, "sent");
        await outbox.AssertStatusAsync(expiring, "expired");
        await outbox.AssertStatusAsync(next, "sent");
    }

    // The same for a mail the mark found no longer this worker's (its lease was taken over while
    // it waited in the batch): nothing went to the account, so its slot goes back too.
    [Fact]
    public async Task A_mail_whose_lease_was_lost_before_its_mark_gives_its_rate_limit_slot_back()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        var slow = await outbox.EnqueueAsync(Mail("slow first"));
        var taken = await outbox.EnqueueAsync(Mail("taken over"));
        var next = await outbox.EnqueueAsync(Mail("next"));
        await using var smtp = ScriptedSmtpServer.Start(step => step is { Phase: "dot", Message: 0 } ? TakeOver(outbox, taken) : null);
        var transport = TwoMailsAnHour(outbox, smtp);

        // A lost lease ends the lane's batch (the rest is handed back); the next pass sends it.
        var dispatcher = outbox.Dispatcher(transport);
        await dispatcher.DispatchDueAsync(Ct);
        await outbox.MakeDueAsync(next);
        await dispatcher.DispatchDueAsync(Ct);

        Assert.Equal(["slow first", "next"], smtp.DataReceived.Select(m => Subject(m.Data)));
        await outbox.AssertStatusAsync(slow, "sent");
        await outbox.AssertStatusAsync(taken, "sending");
        await outbox.AssertStatusAsync(next, "sent");
    }

    // A mail handed back (a rate limit, a pause, a connection that failed) for longer than it has
    // left becomes due at its expiry, so the next claim then records it expired; it never shows
    // 'queued' for hours past it. One still in time keeps the whole delay.
    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task A_hand_back_past_the_expiry_makes_the_mail_due_at_its_expiry_and_the_claim_expires_it(string provider)
    {
        await using var outbox = await OutboxAsync(provider);
        var expiring = await outbox.EnqueueAsync(Mail("flash sale", expiresAfter: TimeSpan.FromHours(1)));
        var lasting = await outbox.EnqueueAsync(Mail("newsletter", expiresAfter: TimeSpan.FromDays(3)));
        var store = new OutboxStore(outbox.Database, "test-worker");
        var claimed = await store.ClaimAsync(10, TimeSpan.FromMinutes(5), holdTakenOver: false, Ct);
        Assert.Equal(2, claimed.Count);

        await store.ReleaseAsync(claimed, TimeSpan.FromHours(2), "account at its rate limit", null, Ct);

        var d = outbox.Database.Dialect;
        Assert.Equal([(expiring, true), (lasting, false)], await outbox.QueryAsync<(long, bool)>(
            $"select id, case when due_at = expires_at then 1 else 0 end from {outbox.T("outbox_message")} where status = 'queued' order by id"));
        // At its expiry (moved here to now), the claim finds it due and records it expired.
        await outbox.ExecuteAsync($"update {outbox.T("outbox_message")} set expires_at = {d.NowPlusSeconds("-1")}, due_at = {d.NowPlusSeconds("-1")} where id = @expiring", new { expiring });
        Assert.True(Assert.Single(await store.ClaimAsync(10, TimeSpan.FromMinutes(5), holdTakenOver: false, Ct)).Expired);
        await outbox.AssertStatusAsync(expiring, "expired");
    }

    // The statement decides on the database clock: a mail still in time is marked, one past its
    // expiry is recorded expired, and a worker whose lease is gone writes neither.
    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task The_mark_refuses_an_expired_mail_in_the_same_statement(string provider)
    {
        await using var outbox = await OutboxAsync(provider);
        var d = outbox.Database.Dialect;
        var inTime = await outbox.EnqueueAsync(Mail("in time", expiresAfter: TimeSpan.FromHours(1)));
        var late = await outbox.EnqueueAsync(Mail("late", expiresAfter: TimeSpan.FromHours(1)));
        var store = new OutboxStore(outbox.Database, "worker-a");
        var claimed = await store.ClaimAsync(10, TimeSpan.FromMinutes(5), holdTakenOver: false, Ct);
        Assert.Equal(2, claimed.Count);
        await outbox.ExecuteAsync($"update {outbox.T("outbox_message")} set expires_at = {d.NowPlusSeconds("-1")} where id = @late", new { late });

        Assert.Equal(Core.Dispatch.DataStart.NotMine, await new OutboxStore(outbox.Database, "worker-b").MarkDataStartingAsync(claimed.Single(m => m.Id == late), null, Ct));
        await outbox.AssertStatusAsync(late, "sending");
        Assert.Equal(Core.Dispatch.DataStart.Expired, await store.MarkDataStartingAsync(claimed.Single(m => m.Id == late), null, Ct));
        Assert.Equal(Core.Dispatch.DataStart.Marked, await store.MarkDataStartingAsync(claimed.Single(m => m.Id == inTime), null, Ct));

        await outbox.AssertStatusAsync(late, "expired");
        await outbox.AssertStatusAsync(inTime, "sending");
        Assert.Equal(1L, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_message")} where data_started_at is not null"));
        // Expired, it is no longer the worker's: a second mark finds nothing.
        Assert.Equal(Core.Dispatch.DataStart.NotMine, await store.MarkDataStartingAsync(claimed.Single(m => m.Id == late), null, Ct));
    }

    // A 451 whose retry would come only after the mail's expiry: recorded expired at once (the
    // attempt row keeps the server's answer), not queued for a retry that could never go.
    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task A_transient_failure_whose_retry_would_come_after_the_expiry_records_the_mail_expired(string provider)
    {
        await using var outbox = await OutboxAsync(provider);
        await using var smtp = ScriptedSmtpServer.Start(step => step.Phase == "dot" ? SmtpFault.Reply("451 4.3.0 try later") : null);
        var soon = await outbox.EnqueueAsync(Mail("expires in an hour", expiresAfter: TimeSpan.FromHours(1)));
        var lasting = await outbox.EnqueueAsync(Mail("expires in three days", expiresAfter: TimeSpan.FromDays(3)));
        // Every retry waits between 1 and 2 hours: after the first mail's expiry, before the second's.
        var options = TestOutbox.FastRetries(o => (o.RetryBaseDelay, o.RetryMaxDelay) = (TimeSpan.FromHours(2), TimeSpan.FromHours(2)));

        var summary = await outbox.Dispatcher(new SmtpTransport(smtp.Options(), NullLogger<SmtpTransport>.Instance), options).DispatchDueAsync(Ct);

        Assert.Equal((0, 1, 0, 1), (summary.Sent, summary.Retried, summary.Failed, summary.Expired));
        await outbox.AssertStatusAsync(soon, "expired");
        await outbox.AssertStatusAsync(lasting, "queued");
        var (attempts, error, due) = (await outbox.QueryAsync<(int, string, string?)>(
            $"select attempt_count, last_error, {outbox.Database.Dialect.AsIsoText("due_at")} from {outbox.T("outbox_message")} where id = @soon", new { soon })).Single();
        Assert.Equal(1, attempts);
        Assert.Null(due);
        Assert.Matches(@"^expired at 20\d\d-\d\d-\d\dT[0-9:.]+Z \(its expires_at\) before its next try: not tried again; the last attempt: 451 4\.3\.0 try later$", error);
        Assert.Equal([("retry", "451 4.3.0 try later")], await outbox.QueryAsync<(string, string)>(
            $"select outcome, error from {outbox.T("outbox_attempt")} where message_id = @soon", new { soon }));
        Assert.Equal(2, smtp.DataReceived.Count);
    }

    // run --once --json counts mails the claim found expired too.
    [Fact]
    public async Task Run_once_json_counts_mails_expired_at_the_claim()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = ScriptedSmtpServer.Start();
        await outbox.EnqueueAsync(Mail("gone", expiresAfter: TimeSpan.FromHours(1)));
        await outbox.ExecuteAsync($"update outbox_message set expires_at = {outbox.Database.Dialect.NowPlusSeconds("-1")}");
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Transport = "smtp",
            Database = new { Provider = "sqlite", outbox.ConnectionString },
            Smtp = new { Host = "127.0.0.1", smtp.Port, Security = "None", AllowInsecure = true },
        });

        var run = await WorkerProcess.RunToEndAsync(_dir.FullName, null, "run", "--once", "--json", "--config", config);

        Assert.True(run.Code == 0, run.Error);
        var json = JsonDocument.Parse(run.Out).RootElement;
        Assert.Equal((0, 1), (json.GetProperty("sent").GetInt32(), json.GetProperty("expired").GetInt32()));
        Assert.Empty(smtp.DataReceived);
    }

    // The worker's row (outbox workers, the dashboard) says a pass's expired mails as run --once does.
    [Fact]
    public void The_workers_pass_line_counts_expired_mails() =>
        Assert.Equal("sent 1, retry later 0, failed 0, not tried 0, expired 2",
            Worker.DispatchJob.Describe(new Core.Dispatch.DispatchSummary(1, 0, 0, 0, null) { Expired = 2 }));

    // What a caller reads of its own mail includes when it stops being worth sending.
    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task The_status_api_shows_expires_at(string provider)
    {
        await using var outbox = await OutboxAsync(provider);
        var at = DateTimeOffset.UtcNow.AddHours(5);
        var id = await outbox.EnqueueAsync(Mail("with expiry", expiresAt: at));
        var none = await outbox.EnqueueAsync(Mail("without"));
        await using var connection = await outbox.OpenAsync();
        var client = new OutboxClient(outbox.Database.Dialect);

        var state = await client.StateAsync(connection, id, cancellationToken: Ct);

        Assert.NotNull(state);
        Assert.Equal(at.UtcDateTime, DateTimeOffset.Parse(state.ExpiresAt!, System.Globalization.CultureInfo.InvariantCulture).UtcDateTime, TimeSpan.FromMilliseconds(1));
        Assert.Null((await client.StateAsync(connection, none, cancellationToken: Ct))!.ExpiresAt);
        if (provider == "postgresql")
        {
            // Through the function itself, as a PL/pgSQL caller reads it.
            Assert.Equal(at.UtcDateTime, await outbox.ScalarAsync<DateTime>("select expires_at from outbox_mail.mail_status(@id)", new { id }), TimeSpan.FromMilliseconds(1));
        }
    }

    // An install whose mail_status has no expires_at (schema version 6) gets it when the scripts
    // run again, twice as well, and an outbox_sender role may still call it.
    [Fact]
    public async Task Running_the_postgresql_scripts_again_upgrades_mail_status_and_keeps_its_grant()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync(
            """
            drop function outbox_mail.mail_status(bigint);
            create function outbox_mail.mail_status(mail_id bigint)
            returns table (id bigint, status text, created_at timestamptz, queued_at timestamptz, sent_at timestamptz,
                           attempt_count integer, last_attempt_at timestamptz, smtp_code integer, smtp_reply text, last_error text)
            language sql stable security definer set search_path = pg_catalog, pg_temp as $$
                select m.id, m.status, m.created_at, m.queued_at, m.sent_at, m.attempt_count, m.last_attempt_at, m.smtp_code, m.smtp_reply, m.last_error
                  from outbox.outbox_message m where m.id = mail_status.mail_id and m.created_by = session_user
            $$;
            update outbox.outbox_setting set value = '6' where name = 'schema_version';
            """);

        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);
        var oid = await outbox.ScalarAsync<long>("select 'outbox_mail.mail_status(bigint)'::regprocedure::oid::bigint");
        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);

        // The second run replaced nothing: the same function, no drop.
        Assert.Equal(oid, await outbox.ScalarAsync<long>("select 'outbox_mail.mail_status(bigint)'::regprocedure::oid::bigint"));
        Assert.Equal($"{Storage.Admin.DatabaseCheck.ExpectedSchemaVersion}", await outbox.ScalarAsync<string>("select value from outbox.outbox_setting where name = 'schema_version'"));
        var role = await outbox.LoginAsync("outbox_sender", "app");
        await using var sender = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(outbox.ConnectionString) { Username = role, Pooling = false }.ConnectionString);
        await sender.OpenAsync(Ct);
        var id = await sender.ExecuteScalarAsync<long>("select outbox_mail.send('a@example.com', 'b@example.com', expires_after => interval '2 hours')");
        Assert.NotNull(await sender.ExecuteScalarAsync<DateTime?>("select expires_at from outbox_mail.mail_status(@id)", new { id }));
    }

    // While the server holds the first mail: the second mail's expires_at passes, on the
    // database clock. The server then answers as usual.
    private static SmtpFault? ExpireNow(TestOutbox outbox, long id)
    {
        outbox.ExecuteAsync($"update {outbox.T("outbox_message")} set expires_at = {outbox.Database.Dialect.NowPlusSeconds("-1")} where id = @id", new { id }).GetAwaiter().GetResult();
        return null;
    }

    // The scripted server as the one account of a routed transport, limited to 2 mails an hour.
    private static RoutedTransport TwoMailsAnHour(TestOutbox outbox, ScriptedSmtpServer smtp)
    {
        var options = new Configuration.OutboxOptions { Transport = "smtp" };
        options.Accounts["only"] = smtp.Options();
        options.Accounts["only"].RateLimits.Add(new RateLimit { Messages = 2, Per = TimeSpan.FromHours(1) });
        var profile = new MailProfile();
        profile.Accounts.Add("only");
        options.Profiles["default"] = profile;
        return Worker.OutboxRuntime.CreateRoutedTransport(options, new DatabaseRateLimiter(outbox.Database, "test-worker"), NullLoggerFactory.Instance);
    }

    private static SmtpFault? TakeOver(TestOutbox outbox, long id)
    {
        outbox.ExecuteAsync($"update {outbox.T("outbox_message")} set lease_owner = 'another-worker' where id = @id", new { id }).GetAwaiter().GetResult();
        return null;
    }

    private async Task<TestOutbox> OutboxAsync(string provider) =>
        provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);

    private static string Subject(string data) => MimeKit.MimeMessage.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(data)), Ct).Subject ?? string.Empty;

    private static MailRequest Mail(string subject, DateTimeOffset? expiresAt = null, TimeSpan? expiresAfter = null, string sender = "app@example.com") => new()
    {
        Sender = sender, To = ["to@example.com"], Subject = subject, TextBody = "Hello",
        ExpiresAt = expiresAt, ExpiresAfter = expiresAfter,
    };
}
