using System.Globalization;
using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;
using Outbox.Core.Messages;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// Expiry (issue 27): a mail given expires_at / expires_after is never sent after that time. The
/// worker that claims it later records it 'expired' with the time, also when it was waiting for
/// a retry or is taken over from a worker that died; every caller's expiry is checked at enqueue.
/// </summary>
public sealed class ExpiryTests(PostgresServer postgres) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-expiry-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task An_expired_mail_is_never_sent_by_a_real_worker_and_shows_as_expired(string provider)
    {
        var (outbox, connectionString) = await OutboxAsync(provider);
        await using var _ = outbox;
        await using var smtp = ScriptedSmtpServer.Start();
        var expiring = await outbox.EnqueueAsync(Mail("sale ends", expiresAfter: TimeSpan.FromSeconds(1)));
        var lasting = await outbox.EnqueueAsync(Mail("no expiry"));
        var later = await outbox.EnqueueAsync(Mail("expires tomorrow", expiresAt: DateTimeOffset.UtcNow.AddDays(1)));
        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);

        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Transport = "smtp",
            Database = new { Provider = provider, ConnectionString = connectionString },
            Smtp = new { Host = "127.0.0.1", smtp.Port, Security = "None", AllowInsecure = true },
        });
        var run = await WorkerProcess.RunToEndAsync(_dir.FullName, null, "run", "--once", "--config", config);

        Assert.True(run.Code == 0, run.Error);
        Assert.Equal(["expires tomorrow", "no expiry"], smtp.Received.Select(m => MimeKit.MimeMessage.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(m.Data)), Ct).Subject).Order());
        await outbox.AssertStatusAsync(lasting, "sent");
        await outbox.AssertStatusAsync(later, "sent");
        await outbox.AssertStatusAsync(expiring, "expired");
        var (attempts, error) = (await outbox.QueryAsync<(int, string)>($"select attempt_count, last_error from {outbox.T("outbox_message")} where id = @expiring", new { expiring })).Single();
        Assert.Equal(0, attempts);
        Assert.Matches(@"^expired at 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(its expires_at\) before it could be sent: not sent$", error);
        Assert.Equal(0L, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_attempt")} where message_id = @expiring", new { expiring }));

        // Everywhere statuses are: list --status, status --json, the DBA view.
        var list = JsonDocument.Parse((await Cli.RunApartAsync("list", "--status", "expired", "--json", "--config", config)).Out).RootElement;
        Assert.Equal(expiring, Assert.Single(list.EnumerateArray()).GetProperty("id").GetInt64());
        var status = JsonDocument.Parse((await Cli.RunApartAsync("status", "--json", "--config", config)).Out).RootElement;
        Assert.Equal(1, status.GetProperty("counts").GetProperty("expired").GetInt32());
        Assert.Equal([expiring], await outbox.QueryAsync<long>($"select id from {outbox.T("outbox_failed")}"));
        var show = await Cli.RunApartAsync("show", expiring.ToString(CultureInfo.InvariantCulture), "--config", config);
        Assert.Matches(@"Expires at:  20\d\d-\d\d-\d\dT[0-9:.]+Z", show.Out);
        var shown = JsonDocument.Parse((await Cli.RunApartAsync("show", expiring.ToString(CultureInfo.InvariantCulture), "--json", "--config", config)).Out).RootElement.GetProperty("message");
        Assert.Equal("expired", shown.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.String, shown.GetProperty("expiresAt").ValueKind);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task A_mail_that_expires_while_waiting_for_a_retry_is_not_tried_again(string provider)
    {
        var (outbox, _) = await OutboxAsync(provider);
        await using var __ = outbox;
        await using var smtp = ScriptedSmtpServer.Start(step => step is { Phase: "dot", Message: 0 } ? SmtpFault.Reply("451 4.3.0 try later") : null);
        var id = await outbox.EnqueueAsync(Mail("flash sale", expiresAfter: TimeSpan.FromHours(3)));

        var later = TestOutbox.FastRetries(o => (o.RetryBaseDelay, o.RetryMaxDelay) = (TimeSpan.FromHours(1), TimeSpan.FromHours(1)));
        var first = await outbox.Dispatcher(new Core.Sending.SmtpTransport(smtp.Options(), Microsoft.Extensions.Logging.Abstractions.NullLogger<Core.Sending.SmtpTransport>.Instance), later).DispatchDueAsync(Ct);
        Assert.Equal(1, first.Retried);
        await outbox.ExecuteAsync($"update {outbox.T("outbox_message")} set expires_at = {outbox.Database.Dialect.NowPlusSeconds("-1")} where id = @id", new { id });
        await outbox.MakeDueAsync(id);

        var second = await outbox.Dispatcher(new Core.Sending.SmtpTransport(smtp.Options(), Microsoft.Extensions.Logging.Abstractions.NullLogger<Core.Sending.SmtpTransport>.Instance), later).DispatchDueAsync(Ct);

        Assert.Equal(0, second.Sent + second.Retried + second.Failed);
        Assert.Single(smtp.Received);
        await outbox.AssertStatusAsync(id, "expired");
        Assert.Equal(1, await outbox.ScalarAsync<int>($"select attempt_count from {outbox.T("outbox_message")} where id = @id", new { id }));
    }

    // A worker died inside the mail's SMTP transaction and the mail expired before its lease ran
    // out: its attempt is recorded 'unconfirmed' (the server may have the mail) and the mail is not
    // sent again; under LostReplyPolicy Hold it waits in 'unconfirmed' for an operator instead.
    [Theory]
    [InlineData("sqlite", false, "expired")]
    [InlineData("postgresql", false, "expired")]
    [InlineData("postgresql", true, "unconfirmed")]
    public async Task A_mail_taken_over_after_its_expiry_is_not_sent(string provider, bool hold, string status)
    {
        var (outbox, _) = await OutboxAsync(provider);
        await using var __ = outbox;
        var id = await outbox.EnqueueAsync(Mail("taken over", expiresAfter: TimeSpan.FromHours(1)));
        var dead = new OutboxStore(outbox.Database, "dead-worker");
        var mail = Assert.Single(await dead.ClaimAsync(10, TimeSpan.FromMinutes(5), hold, Ct));
        Assert.Equal(Core.Dispatch.DataStart.Marked, await dead.MarkDataStartingAsync(mail, null, Ct));
        var d = outbox.Database.Dialect;
        await outbox.ExecuteAsync($"update {outbox.T("outbox_message")} set due_at = {d.NowPlusSeconds("-1")}, expires_at = {d.NowPlusSeconds("-1")} where id = @id", new { id });

        var claimed = Assert.Single(await new OutboxStore(outbox.Database, "next-worker").ClaimAsync(10, TimeSpan.FromMinutes(5), hold, Ct));

        Assert.True(claimed.Expired);
        Assert.Equal(hold, claimed.Held);
        await outbox.AssertStatusAsync(id, status);
        // The dead worker's attempt, and no other.
        Assert.Equal(1, await outbox.ScalarAsync<int>($"select attempt_count from {outbox.T("outbox_message")} where id = @id", new { id }));
        Assert.Equal([("dead-worker", "unconfirmed")], await outbox.QueryAsync<(string, string)>($"select worker, outcome from {outbox.T("outbox_attempt")} where message_id = @id", new { id }));
    }

    // Claimed before its expiry, the mail is the worker's to send: expiry is checked when a mail
    // is claimed, so a mail in its SMTP transaction (or about to be) finishes.
    [Fact]
    public async Task A_mail_claimed_before_its_expiry_is_sent()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = ScriptedSmtpServer.Start(step => step.Phase == "dot" ? SmtpFault.Delay(TimeSpan.FromSeconds(2)) : null);
        var id = await outbox.EnqueueAsync(Mail("slow server", expiresAfter: TimeSpan.FromSeconds(1)));

        var summary = await outbox.Dispatcher(new Core.Sending.SmtpTransport(smtp.Options(), Microsoft.Extensions.Logging.Abstractions.NullLogger<Core.Sending.SmtpTransport>.Instance)).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Sent);
        await outbox.AssertStatusAsync(id, "sent");
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Outbox_client_refuses_an_expiry_naming_the_field(string provider)
    {
        var (outbox, _) = await OutboxAsync(provider);
        await using var __ = outbox;
        var now = DateTimeOffset.UtcNow;
        (MailRequest Request, string Field, string Problem)[] cases =
        [
            (Mail("x", expiresAt: now.AddMinutes(-1)), "expires_at", "must be later than now and at most 366 days ahead"),
            (Mail("x", expiresAt: now.AddDays(400)), "expires_at", "must be later than now and at most 366 days ahead"),
            (Mail("x", expiresAfter: TimeSpan.Zero), "expires_after", "must be more than 0 and at most 366 days"),
            (Mail("x", expiresAfter: TimeSpan.FromDays(367)), "expires_after", "must be more than 0 and at most 366 days"),
            (Mail("x", expiresAt: now.AddHours(1), expiresAfter: TimeSpan.FromHours(1)), "expires_after", "was given with expires_at"),
            (Mail("x", sendAfter: now.AddHours(2), expiresAt: now.AddHours(1)), "expires_at", "is not later than send_after"),
            (Mail("x", sendAfter: now.AddHours(2), expiresAfter: TimeSpan.FromHours(1)), "expires_after", "is not later than send_after"),
        ];
        foreach (var (request, field, problem) in cases)
        {
            var error = await Assert.ThrowsAsync<MailValidationException>(() => outbox.EnqueueAsync(request));
            Assert.Equal(field, error.Field);
            Assert.StartsWith($"{field}: {problem}", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error.Message);
        }

        Assert.Equal(0L, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_message")}"));
    }

    // The database checks the same rules on its own clock, for PL/pgSQL callers.
    [Theory]
    [InlineData("expires_at => now() - interval '1 minute'", "expires_at: must be later than now and at most 366 days ahead")]
    [InlineData("expires_at => now() + interval '400 days'", "expires_at: must be later than now and at most 366 days ahead")]
    [InlineData("expires_after => interval '0'", "expires_after: must be more than 0 and at most 366 days")]
    [InlineData("expires_after => interval '1 hour', expires_at => now() + interval '1 hour'", "expires_after: was given with expires_at")]
    [InlineData("expires_at => 'infinity'", "expires_at: must be later than now and at most 366 days ahead")]
    public async Task Outbox_mail_refuses_an_expiry_naming_the_parameter(string arguments, string expected)
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var connection = (NpgsqlConnection)await outbox.OpenAsync();

        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync(
            $"select outbox_mail.send(sender => 'a@example.com', recipients => 'b@example.com', {arguments})"));

        Assert.Equal("22023", error.SqlState);
        Assert.StartsWith(expected, error.MessageText, StringComparison.Ordinal);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message"));
    }

    [Fact]
    public async Task Every_postgresql_way_of_enqueuing_takes_an_expiry()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("insert into outbox.outbox_template (name, subject, text_body) values ('t', 'Hi', 'Hello')");
        await using var connection = (NpgsqlConnection)await outbox.OpenAsync();

        var sent = await connection.ExecuteScalarAsync<long>("select outbox_mail.send('a@example.com', 'b@example.com', expires_after => interval '2 hours')");
        var attached = await connection.ExecuteScalarAsync<long>("select outbox_mail.send_attach_raw('a@example.com', 'b@example.com', attachment => '\\x00'::bytea, att_filename => 'a.bin', expires_at => now() + interval '2 hours')");
        var templated = await connection.ExecuteScalarAsync<long>("select outbox_mail.send_template('a@example.com', 'b@example.com', 't', expires_after => interval '2 hours')");
        var built = await connection.ExecuteScalarAsync<long>("select outbox_mail.create_mail('a@example.com', 'S', 'T', expires_after => interval '2 hours')");
        await connection.ExecuteAsync("select outbox_mail.add_recipient(@built, 'b@example.com'); select outbox_mail.enqueue(@built)", new { built });
        var raw = await connection.ExecuteScalarAsync<long>("select outbox_mail.open_mail('a@example.com', expires_after => interval '2 hours')");

        var seconds = await outbox.QueryAsync<double>(
            "select extract(epoch from expires_at - now()) from outbox.outbox_message where id = any(@ids) order by id",
            new { ids = new[] { sent, attached, templated, built, raw } });
        Assert.Equal(5, seconds.Count);
        Assert.All(seconds, s => Assert.InRange(s, 7100, 7200));
    }

    [Fact]
    public async Task The_cli_takes_expires_after_and_expires_at_and_names_the_option_it_refuses()
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new { Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" } });
        string[] mail = ["send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--text", "x"];

        Assert.Equal(0, (await Cli.RunApartAsync([.. mail, "--expires-after", "2h"])).Code);
        Assert.Equal(0, (await Cli.RunApartAsync([.. mail, "--expires-at", DateTimeOffset.UtcNow.AddDays(1).ToString("O", CultureInfo.InvariantCulture)])).Code);
        var past = await Cli.RunApartAsync([.. mail, "--expires-at", "2020-01-01"]);
        var both = await Cli.RunApartAsync([.. mail, "--expires-at", "3h", "--expires-after", "2h"]);
        var beforeStart = await Cli.RunApartAsync([.. mail, "--send-after", "3h", "--expires-after", "2h"]);

        Assert.Equal(Outbox.Commands.ExitCodes.Usage, past.Code);
        Assert.StartsWith("outbox: --expires-at: must be later than now and at most 366 days ahead, got 2020-01-01T00:00:00Z.", past.Error, StringComparison.Ordinal);
        Assert.StartsWith("outbox: --expires-after: was given with expires_at.", both.Error, StringComparison.Ordinal);
        Assert.StartsWith("outbox: --expires-after: is not later than send_after", beforeStart.Error, StringComparison.Ordinal);
        Assert.All(new[] { past, both, beforeStart }, r => Assert.Single(r.Error.Trim().Split('\n')));
    }

    // SQLite cannot widen a check: a file of schema version 5 gets outbox_message made again, with
    // foreign keys off, so that the mails keep their recipients, attachments and attempts.
    [Fact]
    public async Task A_sqlite_file_of_schema_version_5_takes_expired_and_keeps_every_row()
    {
        var file = Path.Combine(_dir.FullName, "v5.db");
        await using (var old = new SqliteConnection($"Data Source={file};Pooling=False;Foreign Keys=True"))
        {
            await old.OpenAsync(Ct);
            var v5 = SchemaInstaller.ReadScript("sql/sqlite/01_tables.sql")
                .Replace("'cancelled', 'expired')", "'cancelled')", StringComparison.Ordinal)
                .Replace("rendered_subject text,\n    expires_at       text,\n    headers          text\n", "rendered_subject text\n", StringComparison.Ordinal)
                .Replace("'expired')", ")", StringComparison.Ordinal);
            Assert.DoesNotContain("expires_at       text", v5, StringComparison.Ordinal);
            await old.ExecuteAsync(v5);
            await old.ExecuteAsync(
                "update outbox_setting set value = '5' where name = 'schema_version';"
                + "insert into outbox_message (id, status, sender, mime_message_id) values (7, 'failed', 'a@example.com', '<m7@x>');"
                + "insert into outbox_recipient (message_id, kind, address) values (7, 'to', 'b@example.com');"
                + "insert into outbox_attempt (message_id, attempt_no, worker, outcome, error) values (7, 1, 'w', 'failed', 'boom');");
            await Assert.ThrowsAsync<SqliteException>(() => old.ExecuteAsync("update outbox_message set status = 'expired'"));
        }

        await using var outbox = TestOutbox.Existing("sqlite", $"Data Source={file}");
        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);
        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);

        Assert.Equal(["b@example.com"], await outbox.QueryAsync<string>("select address from outbox_recipient where message_id = 7"));
        Assert.Equal(["boom"], await outbox.QueryAsync<string>("select error from outbox_attempt where message_id = 7"));
        await outbox.ExecuteAsync("update outbox_message set status = 'expired', expires_at = '2026-01-01T00:00:00.000Z', headers = 'X-A: 1' where id = 7");
        Assert.Equal([7L], await outbox.QueryAsync<long>("select id from outbox_failed"));
        Assert.Equal(1L, await outbox.ScalarAsync<long>("select count(*) from sqlite_master where name = 'outbox_message_due_ix'"));
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from pragma_foreign_key_check"));
        Assert.Equal($"{Outbox.Storage.Admin.DatabaseCheck.ExpectedSchemaVersion}", await outbox.ScalarAsync<string>("select value from outbox_setting where name = 'schema_version'"));
        // Deleting a mail still deletes its parts: the children's references hold.
        await outbox.ExecuteAsync("delete from outbox_message where id = 7");
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox_recipient"));
    }

    // The rebuild script repeats outbox_message's definition (SQLite has no ALTER for a check): a
    // column or constraint added to 01_tables.sql and not to it would be lost by the upgrade.
    [Fact]
    public void The_sqlite_rebuild_makes_outbox_message_as_a_fresh_install_does()
    {
        // The first table of each script, named alike.
        static string Table(string script)
        {
            var text = SchemaInstaller.ReadScript(script);
            var start = text.IndexOf("create table", StringComparison.Ordinal);
            return text[start..(text.IndexOf(");", start, StringComparison.Ordinal) + 2)]
                .Replace("if not exists ", string.Empty, StringComparison.Ordinal)
                .Replace("outbox_message_v6", "outbox_message", StringComparison.Ordinal);
        }

        var fresh = Table("sql/sqlite/01_tables.sql");

        Assert.Contains("create table outbox_message (", fresh, StringComparison.Ordinal);
        Assert.Contains("expires_at", fresh, StringComparison.Ordinal);
        Assert.Equal(fresh, Table("sql/sqlite/upgrade_message_status.sql"));
    }

    // PostgreSQL: running the scripts again on a version 5 install adds the columns and widens the check once.
    [Fact]
    public async Task A_postgresql_install_of_schema_version_5_takes_expired_when_the_scripts_run_again()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync(
            "alter table outbox.outbox_message drop column expires_at, drop column headers cascade;"
            + "alter table outbox.outbox_message drop constraint outbox_message_status_ck;"
            + "alter table outbox.outbox_message add constraint outbox_message_status_ck check (status in ('draft', 'queued', 'sending', 'sent', 'unconfirmed', 'failed', 'cancelled'));"
            + "update outbox.outbox_setting set value = '5' where name = 'schema_version'");

        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);
        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);

        var id = await outbox.EnqueueAsync(Mail("after the upgrade", expiresAfter: TimeSpan.FromHours(1)));
        await outbox.ExecuteAsync("update outbox.outbox_message set status = 'expired' where id = @id", new { id });
        Assert.Equal(1L, await outbox.ScalarAsync<long>("select count(*) from pg_constraint where conname = 'outbox_message_status_ck'"));
        Assert.Equal($"{Outbox.Storage.Admin.DatabaseCheck.ExpectedSchemaVersion}", await outbox.ScalarAsync<string>("select value from outbox.outbox_setting where name = 'schema_version'"));
    }

    private async Task<(TestOutbox Outbox, string ConnectionString)> OutboxAsync(string provider)
    {
        var outbox = provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);
        return (outbox, outbox.ConnectionString);
    }

    private static MailRequest Mail(string subject, DateTimeOffset? expiresAt = null, TimeSpan? expiresAfter = null, DateTimeOffset? sendAfter = null) => new()
    {
        Sender = "app@example.com", To = ["to@example.com"], Subject = subject, TextBody = "Hello",
        ExpiresAt = expiresAt, ExpiresAfter = expiresAfter, SendAfter = sendAfter,
    };
}
