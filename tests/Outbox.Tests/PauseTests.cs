using System.Text.Json;
using Outbox.Core.Dispatch;
using Outbox.Core.Messages;
using Outbox.Storage.Admin;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// `outbox pause` / `outbox resume` (and outbox.pause / outbox.resume on PostgreSQL): every worker
/// stops sending between mails within its poll interval, hands back what it holds uncharged,
/// and goes on after the resume; a paused profile's mail waits while the others' goes on. Each
/// worker keeps its row in outbox_worker, which `outbox status` lists.
/// </summary>
public sealed class PauseTests(PostgresServer postgres) : IDisposable
{
    private const int Mails = 40;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-pause-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Delete(recursive: true);

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Pause_stops_two_workers_between_mails_and_resume_restarts_them(string provider)
    {
        await using var outbox = provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);
        for (var i = 0; i < Mails; i++)
        {
            await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = [$"to{i}@example.com"], Subject = $"mail {i}", TextBody = "x" });
        }

        // Each mail takes a while at the server, so the pause finds both workers sending.
        await using var smtp = ScriptedSmtpServer.Start(step => step.Phase == "dot" ? SmtpFault.Delay(TimeSpan.FromMilliseconds(150)) : null);
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = provider, outbox.ConnectionString },
            Transport = "smtp",
            Smtp = new { Host = "127.0.0.1", smtp.Port, Security = "None", AllowInsecure = true },
            Dispatch = new { PollInterval = "00:00:00.500", BatchSize = 5 },
        });
        using var first = WorkerProcess.Start(_dir.FullName, new Dictionary<string, string> { ["Outbox__Dispatch__WorkerName"] = "pause-1" }, "run", "--config", config);
        using var second = WorkerProcess.Start(_dir.FullName, new Dictionary<string, string> { ["Outbox__Dispatch__WorkerName"] = "pause-2" }, "run", "--config", config);
        await WaitForAsync(() => smtp.Received.Count >= 4, "the workers to send", first, second);

        var (code, output) = await Cli.RunAsync("pause", "--reason", "mail server upgrade", "--config", config);
        Assert.True(code == 0, output);
        Assert.Contains("all sending paused by", output, StringComparison.Ordinal);

        // Within a poll interval each worker reads the pause; the mail in flight ends first.
        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        var atPause = smtp.Received.Count;
        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
        Assert.Equal(atPause, smtp.Received.Count);
        Assert.InRange(atPause, 4, Mails - 1);
        // Never mid-message: what reached the server was whole and is recorded sent; the rest
        // was handed back uncharged (or never claimed).
        Assert.All(smtp.Received, mail => Assert.True(mail.Acknowledged));
        Assert.Equal((long)atPause, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_message")} where status = 'sent'"));
        Assert.Equal((long)(Mails - atPause), await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_message")} where status = 'queued' and attempt_count = 0"));
        Assert.Equal(0L, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_attempt")} where outcome <> 'sent'"));

        // Each worker says so in its row, which status lists.
        await WaitForAsync(async () => (await Workers(config)).Count(w => w.GetProperty("paused").GetString() == "*") == 2, "both workers to record the pause", first, second);
        var (statusCode, status) = await Cli.RunAsync("status", "--config", config);
        Assert.True(statusCode == 0, status);
        Assert.Contains("paused: all sending paused by", status, StringComparison.Ordinal);
        Assert.Contains("(mail server upgrade)", status, StringComparison.Ordinal);
        Assert.Matches(@"  pause-1 \(host .+, pid \d+, .+\) running since .+; last pass .+: sent \d+.*; honours pause \*", status);

        (code, output) = await Cli.RunAsync("resume", "--config", config);
        Assert.True(code == 0, output);
        Assert.StartsWith("resumed all sending (was all sending paused by", output, StringComparison.Ordinal);
        await WaitForAsync(() => smtp.Received.Count == Mails, "every mail to be sent after the resume", first, second);
        Assert.Equal(Mails, smtp.Received.Select(m => m.To.Single()).Distinct().Count());
        await WaitForAsync(async () => await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_message")} where status = 'sent'") == Mails, "every mail to be recorded sent", first, second);
        (code, output) = await Cli.RunAsync("resume", "--config", config);
        Assert.Equal((0, "nothing is paused\n"), (code, output.ReplaceLineEndings("\n")));
        // Who resumed, and when, stays with the pause.
        Assert.EndsWith("(outbox cli)", await outbox.ScalarAsync<string>($"select resumed_by from {outbox.T("outbox_pause")} where scope = '*'"), StringComparison.Ordinal);

        // A clean stop marks the row stopped.
        await first.TerminateAsync();
        await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Contains("Not sending: all sending paused by", first.Output + second.Output, StringComparison.Ordinal);
        var rows = await Workers(config);
        Assert.Equal("stopped", rows.Single(w => w.GetProperty("name").GetString() == "pause-1").GetProperty("state").GetString());
        Assert.Equal("running", rows.Single(w => w.GetProperty("name").GetString() == "pause-2").GetProperty("state").GetString());
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task A_paused_profile_waits_uncharged_while_the_others_go_on(string provider)
    {
        await using var outbox = provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);
        await using var smtp = ScriptedSmtpServer.Start();
        var bulk = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            bulk.Add(await outbox.EnqueueAsync(new MailRequest { Sender = "news@example.com", To = ["to@example.com"], Subject = $"bulk {i}", TextBody = "x", Profile = "bulk" }));
            await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["to@example.com"], Subject = $"other {i}", TextBody = "x" });
        }

        var pauses = new PauseControl(outbox.Database, "ops");
        Assert.StartsWith("profile \"bulk\" paused by ops at ", await pauses.PauseAsync("bulk", null, Ct), StringComparison.Ordinal);
        var options = new DispatchOptions { PollInterval = TimeSpan.FromSeconds(3), BatchSize = 10 };
        var dispatcher = outbox.SmtpDispatcher(smtp.Options(), options);

        var summary = await dispatcher.DispatchDueAsync(Ct);

        Assert.Equal(3, summary.Sent);
        Assert.Equal(3, summary.Released);
        Assert.All(smtp.Received, m => Assert.DoesNotContain("bulk", m.Data, StringComparison.Ordinal));
        foreach (var id in bulk)
        {
            await outbox.AssertStatusAsync(id, "queued");
        }

        Assert.Equal(0L, await outbox.ScalarAsync<long>($"select max(attempt_count) from {outbox.T("outbox_message")} where profile = 'bulk'"));
        Assert.StartsWith("profile \"bulk\" paused by ops", await outbox.ScalarAsync<string>($"select max(last_error) from {outbox.T("outbox_message")} where profile = 'bulk'"), StringComparison.Ordinal);

        var (resumed, lines) = await pauses.ResumeAsync("bulk", Ct);
        Assert.Equal(1, resumed);
        Assert.StartsWith("resumed profile \"bulk\"", lines.Single(), StringComparison.Ordinal);
        // Handed back for a poll interval: due again by the next poll.
        await Task.Delay(options.PollInterval, Ct);
        Assert.Equal(3, (await dispatcher.DispatchDueAsync(Ct)).Sent);
        Assert.Equal(6, smtp.Received.Count);
    }

    [Fact]
    public async Task Only_an_operator_may_pause_in_sql_and_the_pause_names_who()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var connection = await outbox.OpenAsync();
        var role = $"pause_{Guid.NewGuid():N}"[..20];
        await Dapper.SqlMapper.ExecuteAsync(connection, $"create role {role}_app; grant outbox_sender to {role}_app; grant usage on schema outbox_mail to {role}_app; create role {role}_ops; grant outbox_worker to {role}_ops; grant usage on schema outbox, outbox_mail to {role}_ops");
        try
        {
            await Dapper.SqlMapper.ExecuteAsync(connection, $"set role {role}_app");
            var refused = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => Dapper.SqlMapper.ExecuteScalarAsync<string>(connection, "select outbox.pause()"));
            Assert.Equal("42501", refused.SqlState);
            await Dapper.SqlMapper.ExecuteAsync(connection, "reset role");
            // Refused by the grant itself, not only by schema outbox being out of the sender's reach.
            Assert.False(await Dapper.SqlMapper.ExecuteScalarAsync<bool>(connection, "select has_function_privilege('outbox_sender', 'outbox.pause(text, text)', 'execute') or has_function_privilege('outbox_sender', 'outbox.resume(text)', 'execute')"));

            await Dapper.SqlMapper.ExecuteAsync(connection, $"set role {role}_ops");
            var paused = await Dapper.SqlMapper.ExecuteScalarAsync<string>(connection, "select outbox.pause('bulk', 'provider incident')");
            Assert.Matches("^profile \"bulk\" paused by .+ at .+Z \\(provider incident\\)$", paused);
            var bad = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => Dapper.SqlMapper.ExecuteScalarAsync<string>(connection, "select outbox.pause('no such; profile')"));
            Assert.StartsWith("profile: ", bad.MessageText, StringComparison.Ordinal);
            Assert.Equal("resumed profile \"bulk\"", await Dapper.SqlMapper.ExecuteScalarAsync<string>(connection, "select outbox.resume()"));
            Assert.Equal("nothing is paused", await Dapper.SqlMapper.ExecuteScalarAsync<string>(connection, "select outbox.resume()"));
        }
        finally
        {
            await Dapper.SqlMapper.ExecuteAsync(connection, $"reset role; drop owned by {role}_app, {role}_ops; drop role {role}_app; drop role {role}_ops");
        }
    }

    [Fact]
    public async Task Pause_refuses_a_bad_profile_or_reason_in_one_line_naming_the_option()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        var config = WorkerProcess.WriteConfig(_dir.FullName, new { Database = new { Provider = "sqlite", outbox.ConnectionString } });

        var (code, output) = await Cli.RunAsync("pause", "--profile", "bulk;drop", "--config", config);
        Assert.NotEqual(0, code);
        Assert.Matches("^outbox: --profile: \"bulk;drop\" is not a profile name\\. [^\n]+\n$", output.ReplaceLineEndings("\n"));

        (code, output) = await Cli.RunAsync("pause", "--reason", new string('x', 501), "--config", config);
        Assert.NotEqual(0, code);
        Assert.Matches("^outbox: --reason: is 501 characters\\. [^\n]+\n$", output.ReplaceLineEndings("\n"));
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox_pause"));
    }

    private static async Task<List<JsonElement>> Workers(string config)
    {
        var (code, output, error) = await Cli.RunApartAsync("status", "--json", "--config", config);
        Assert.True(code == 0, error);
        return JsonDocument.Parse(output).RootElement.GetProperty("workers").EnumerateArray().ToList();
    }

    private static Task WaitForAsync(Func<bool> done, string what, params WorkerProcess[] workers) =>
        WaitForAsync(() => Task.FromResult(done()), what, workers);

    private static async Task WaitForAsync(Func<Task<bool>> done, string what, params WorkerProcess[] workers)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await done())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}: {string.Join("\n---\n", workers.Select(w => w.Output))}");
            await Task.Delay(100, Ct);
        }
    }
}
