using System.Text.Json;
using Microsoft.Extensions.Logging;
using Outbox.Core.Dispatch;
using Outbox.Core.Messages;
using Outbox.Core.Sending;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>What a new user tripped on (issue 25 item 9), each against the real command line, a real SQLite file or PostgreSQL, and a scripted SMTP server.</summary>
public sealed class FirstUseTests(PostgresServer postgres) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-firstuse-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task An_unknown_command_is_one_line()
    {
        var (code, output, error) = await Cli.RunApartAsync("frobnicate");

        Assert.Equal(Commands.ExitCodes.Usage, code);
        Assert.Empty(output);
        Assert.Equal(["outbox: Unrecognized command or argument 'frobnicate'.", "outbox: see `outbox --help`"], error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public async Task Send_after_takes_a_delay_as_list_since_takes_an_age()
    {
        var config = SqliteConfig();

        var (code, output, error) = await Cli.RunApartAsync("send", "--config", config, "--from", "a@example.com", "--to", "b@example.com", "--text", "x", "--send-after", "2h");

        Assert.Equal((0, string.Empty), (code, error));
        var show = JsonDocument.Parse((await Cli.RunApartAsync("show", output.Trim(), "--config", config, "--json")).Out).RootElement;
        var after = DateTimeOffset.Parse(show.GetProperty("message").GetProperty("sendAfter").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(after - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(119), TimeSpan.FromMinutes(121));
    }

    [Fact]
    public async Task Send_names_the_option_a_refused_attachment_came_from()
    {
        var config = SqliteConfig();
        var evil = Path.Combine(_dir.FullName, "evil.exe");
        await File.WriteAllTextAsync(evil, "MZ", Ct);

        var (code, output, error) = await Cli.RunApartAsync("send", "--config", config, "--from", "a@example.com", "--to", "b@example.com", "--text", "x", "--attach", evil);

        Assert.Equal((Commands.ExitCodes.Usage, string.Empty), (code, output));
        Assert.StartsWith("outbox: --attach: attachments named *.exe are refused (evil.exe).", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_profile_the_configuration_lacks_is_refused_with_one_account_and_no_profiles()
    {
        var config = SqliteConfig();

        var unknown = await Cli.RunApartAsync("send", "--config", config, "--from", "a@example.com", "--to", "b@example.com", "--text", "x", "--profile", "nosuch");
        var known = await Cli.RunApartAsync("send", "--config", config, "--from", "a@example.com", "--to", "b@example.com", "--text", "x", "--profile", "default");

        Assert.Equal(Commands.ExitCodes.Usage, unknown.Code);
        Assert.Equal("outbox: --profile: \"nosuch\" is not one of the profiles of Outbox:Profiles (it names none; the one account is profile \"default\"). Name one of them, or add the profile to the configuration", unknown.Error.Trim());
        Assert.Equal(0, known.Code);
    }

    [Fact]
    public async Task Status_json_counts_every_status_as_the_text_does()
    {
        var config = SqliteConfig();
        Assert.Equal(0, (await Cli.RunApartAsync("send", "--config", config, "--from", "a@example.com", "--to", "b@example.com", "--text", "x")).Code);

        var counts = JsonDocument.Parse((await Cli.RunApartAsync("status", "--config", config, "--json")).Out).RootElement.GetProperty("counts");

        Assert.Equal(["draft", "queued", "sending", "sent", "unconfirmed", "failed", "cancelled", "expired"], counts.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1, counts.GetProperty("queued").GetInt64());
        Assert.Equal(0, counts.GetProperty("failed").GetInt64());
    }

    [Fact]
    public async Task Purge_says_how_many_and_before_when_and_dry_run_deletes_nothing()
    {
        var config = SqliteConfig();
        var id = (await Cli.RunApartAsync("send", "--config", config, "--from", "a@example.com", "--to", "b@example.com", "--text", "x")).Out.Trim();
        await using (var outbox = TestOutbox.Existing("sqlite", SqliteConnectionString()))
        {
            await outbox.ExecuteAsync("update outbox_message set status = 'sent', created_at = '2026-01-01T00:00:00.000Z' where id = @id", new { id = long.Parse(id, System.Globalization.CultureInfo.InvariantCulture) });
        }

        var dry = await Cli.RunApartAsync("purge", "--config", config, "--older-than", "1m", "--dry-run");
        Assert.Equal((0, string.Empty), (dry.Code, dry.Error));
        Assert.Matches(@"^would delete 1 finished mail\(s\) created before \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(older than 1 minute\); nothing was deleted \(--dry-run\)$", dry.Out.Trim());
        Assert.Equal(0, (await Cli.RunApartAsync("show", id, "--config", config)).Code);

        var month = await Cli.RunApartAsync("purge", "--config", config, "--older-than", "1mo");
        Assert.Equal(Commands.ExitCodes.Usage, month.Code);
        Assert.StartsWith("outbox: --older-than: \"1mo\": months and years differ in length, so they are not a duration here: write days (30d)", month.Error, StringComparison.Ordinal);

        var purge = await Cli.RunApartAsync("purge", "--config", config, "--older-than", "30min");
        Assert.Equal(0, purge.Code);
        Assert.StartsWith("outbox: deleting 1 finished mail(s) created before ", purge.Error, StringComparison.Ordinal);
        Assert.Contains("(older than 30 minutes)", purge.Error, StringComparison.Ordinal);
        Assert.StartsWith("deleted 1 finished mail(s) created before ", purge.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cancelled_mail_keeps_no_last_error()
    {
        var config = SqliteConfig();
        var id = (await Cli.RunApartAsync("send", "--config", config, "--from", "a@example.com", "--to", "b@example.com", "--text", "x")).Out.Trim();
        await using var outbox = TestOutbox.Existing("sqlite", SqliteConnectionString());
        await outbox.ExecuteAsync("update outbox_message set last_error = '451 4.3.0 try later' where id = @id", new { id = long.Parse(id, System.Globalization.CultureInfo.InvariantCulture) });

        Assert.Equal(0, (await Cli.RunApartAsync("cancel", id, "--config", config)).Code);

        Assert.Null(await outbox.ScalarAsync<string?>("select last_error from outbox_message where id = @id", new { id = long.Parse(id, System.Globalization.CultureInfo.InvariantCulture) }));
        Assert.DoesNotContain("Last error", (await Cli.RunApartAsync("show", id, "--config", config)).Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refusal_shows_its_code_once_and_a_retry_is_logged_in_whole_seconds()
    {
        var mails = 0;
        await using var server = ScriptedSmtpServer.Start(step => step.Phase == "MAIL"
            ? SmtpFault.Reply(Interlocked.Increment(ref mails) == 1 ? "451 4.3.0 try later" : "500 5.3.0 refused")
            : null);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(new MailRequest { Sender = "a@example.com", To = ["b@example.com"], Subject = "s", TextBody = "x" });
        var log = new ListLogger();
        var options = TestOutbox.FastRetries(o => (o.RetryBaseDelay, o.RetryMaxDelay) = (TimeSpan.FromSeconds(30), TimeSpan.FromHours(1)));
        var dispatcher = new Dispatcher(new OutboxStore(outbox.Database, "test-worker"), new SmtpTransport(server.Options(), Microsoft.Extensions.Logging.Abstractions.NullLogger<SmtpTransport>.Instance), options, TimeProvider.System, log);

        await dispatcher.DispatchDueAsync(Ct);
        Assert.Matches($@"^Mail {id} will be retried in 00:00:\d\d: 451 4\.3\.0 try later$", Assert.Single(log.Lines));
        await outbox.MakeDueAsync(id);
        await outbox.SmtpDispatcher(server.Options(), options).DispatchDueAsync(Ct);

        await outbox.AssertStatusAsync(id, "failed");
        var config = WorkerProcess.WriteConfig(_dir.FullName, new { Database = new { Provider = "sqlite", outbox.ConnectionString } });
        var show = (await Cli.RunApartAsync("show", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--config", config)).Out;
        Assert.Contains("  Last reply:  500 5.3.0 refused", show, StringComparison.Ordinal);
        Assert.Matches(@"#2 \S+ test-worker via default failed 500 5\.3\.0 refused\r?\n", show);
        Assert.DoesNotContain("500 500", show, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_of_a_utl_smtp_shaped_mail_claims_no_body_parts_or_priority_of_its_own()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var id = await outbox.ScalarAsync<long>("""
            with m as (select outbox_mail.open_mail('a@example.com') as id)
            select id from m, lateral (select outbox_mail.rcpt(m.id, 'b@example.com'),
                                              outbox_mail.write_data(m.id, E'Subject: raw\r\n\r\nhello\r\n'),
                                              outbox_mail.close_mail(m.id)) done
            """);
        var config = WorkerProcess.WriteConfig(_dir.FullName, new { Database = new { Provider = "postgresql", outbox.ConnectionString } });

        var (code, output, _) = await Cli.RunApartAsync("show", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--config", config);

        Assert.Equal(0, code);
        Assert.Contains("  Body:        the text as written, headers included (outbox show ID --eml prints it)", output, StringComparison.Ordinal);
        Assert.DoesNotContain("X-Priority", output, StringComparison.Ordinal);
    }

    private string SqliteConnectionString() => $"Data Source={Path.Combine(_dir.FullName, "outbox.db")};Pooling=false";

    private string SqliteConfig() => WorkerProcess.WriteConfig(_dir.FullName, new { Database = new { Provider = "sqlite", ConnectionString = SqliteConnectionString() } });

    private sealed class ListLogger : ILogger<Dispatcher>
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Lines.Add(formatter(state, exception));
            }
        }
    }
}
