using System.Text.RegularExpressions;
using System.Text.Json;
using Outbox.Commands;
using Outbox.Storage.Dialects;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>The `outbox` command line, run in-process against a config file, and once as the real program.</summary>
public sealed class CliTests(PostgresServer postgres) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-cli-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task Send_run_once_list_show_and_status_work_on_sqlite_with_the_pickup_directory()
    {
        var config = WriteConfig("sqlite", $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}");
        var report = Path.Combine(_dir.FullName, "report.csv");
        await File.WriteAllTextAsync(report, "a,b\n1,2\n", Ct);

        var send = await RunAsync("send", "--config", config, "--from", "app@example.com", "--to", "a@example.com, b@example.com",
            "--bcc", "audit@example.com", "--subject", "Report", "--text", "See attached", "--attach", report);
        Assert.Equal(0, send.Code);
        var id = long.Parse(send.Out.Trim(), System.Globalization.CultureInfo.InvariantCulture);

        var run = await RunAsync("run", "--once", "--config", config);
        Assert.Equal((0, "sent 1, retry later 0, failed 0, not tried 0"), (run.Code, run.Out.Trim()));
        Assert.Equal($"outbox: mail goes by pickup: .eml files written to {Path.Combine(_dir.FullName, "pickup")}, not sent anywhere (set Outbox:Transport to smtp to send)", run.Error.Trim());
        Assert.Single(Directory.GetFiles(Path.Combine(_dir.FullName, "pickup"), "*.eml"));

        var list = await RunAsync("list", "--json", "--config", config);
        var rows = JsonDocument.Parse(list.Out).RootElement;
        Assert.Equal("sent", rows[0].GetProperty("status").GetString());

        var show = await RunAsync("show", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json", "--config", config);
        var details = JsonDocument.Parse(show.Out).RootElement;
        Assert.Equal(3, details.GetProperty("recipients").GetArrayLength());
        Assert.Equal(8, details.GetProperty("attachments")[0].GetProperty("size").GetInt64());
        Assert.Equal("sent", details.GetProperty("attempts")[0].GetProperty("outcome").GetString());

        var text = await RunAsync("show", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--config", config);
        Assert.Contains("report.csv  text/csv  8 bytes", text.Out, StringComparison.Ordinal);
        Assert.Contains("Bcc:         audit@example.com", text.Out, StringComparison.Ordinal);

        var status = await RunAsync("status", "--json", "--config", config);
        Assert.Equal(1, JsonDocument.Parse(status.Out).RootElement.GetProperty("counts").GetProperty("sent").GetInt32());

        // A mail scheduled for later is queued but not waiting: status says when it is due.
        Assert.Equal(0, (await RunAsync("send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--text", "later", "--send-after", "2h")).Code);
        var scheduled = await RunAsync("status", "--config", config);
        Assert.Matches("no mail due now; the next queued mail is due at 20[0-9-]+T[0-9:.]+Z UTC", scheduled.Out);
        var scheduledJson = JsonDocument.Parse((await RunAsync("status", "--json", "--config", config)).Out).RootElement;
        Assert.Equal(JsonValueKind.String, scheduledJson.GetProperty("nextDueAt").ValueKind);
    }

    [Fact]
    public async Task Cancel_and_retry_change_only_mails_in_a_state_that_allows_it()
    {
        var config = WriteConfig("sqlite", $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}");
        var id = (await RunAsync("send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--text", "x")).Out.Trim();

        Assert.Equal((0, $"mail {id} cancelled"), Trimmed(await RunAsync("cancel", id, "--config", config)));
        Assert.Equal("sent 0, retry later 0, failed 0, not tried 0", (await RunAsync("run", "--once", "--config", config)).Out.Trim());

        var cancelAgain = await RunAsync("cancel", id, "--config", config);
        Assert.Equal(ExitCodes.Usage, cancelAgain.Code);
        Assert.Equal($"outbox: ID: mail {id} is cancelled; only a mail that is draft or queued or unconfirmed can be cancelled. Nothing was changed", cancelAgain.Error.Trim());

        Assert.Equal((0, $"mail {id} queued"), Trimmed(await RunAsync("retry", id, "--config", config)));
        Assert.Equal("sent 1, retry later 0, failed 0, not tried 0", (await RunAsync("run", "--once", "--config", config)).Out.Trim());
        var retrySent = await RunAsync("retry", id, "--config", config);
        Assert.Equal(ExitCodes.Usage, retrySent.Code);
        Assert.Contains("is sent", retrySent.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_input_and_bad_configuration_are_one_clear_line_without_a_stack_trace()
    {
        var config = WriteConfig("sqlite", $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}");

        var badAddress = await RunAsync("send", "--config", config, "--from", "app@example.com", "--to", "not-an-address", "--text", "x");
        Assert.Equal(ExitCodes.Usage, badAddress.Code);
        Assert.Equal("outbox: --to/--cc/--bcc: \"not-an-address\" is not a valid mail address. Write it as user@example.com or \"Name <user@example.com>\"", badAddress.Error.Trim());

        var injection = await RunAsync("send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--subject", "Hi\r\nBcc: x@example.com");
        Assert.StartsWith("outbox: --subject: must not contain a line break", injection.Error, StringComparison.Ordinal);

        var missing = await RunAsync("show", "999", "--config", config);
        Assert.Equal("outbox: ID: there is no mail 999. See `outbox list` for the ids", missing.Error.Trim());

        var broken = Path.Combine(_dir.FullName, "broken.json");
        await File.WriteAllTextAsync(broken, """
            { "Outbox": { "Database": { "Provider": "mysql" }, "Transport": "smtp",
              "Smtp": { "Host": "", "Security": "None", "UserName": "u" }, "Dispatch": { "BatchSize": 0 } } }
            """, Ct);
        var invalid = await RunAsync("status", "--config", broken);
        Assert.Equal(ExitCodes.Configuration, invalid.Code);
        foreach (var key in new[] { "Outbox:Database:Provider", "Outbox:Smtp:Host", "Outbox:Smtp:Security", "Outbox:Smtp:UserName", "Outbox:Dispatch:BatchSize" })
        {
            Assert.Contains(key, invalid.Error, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("   at ", invalid.Error + badAddress.Error + missing.Error, StringComparison.Ordinal);
        var noFile = await RunAsync("status", "--config", Path.Combine(_dir.FullName, "nope.json"));
        Assert.StartsWith("outbox: --config: the file", noFile.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Init_installs_the_postgresql_schema_and_other_commands_say_when_it_is_missing()
    {
        var connectionString = await postgres.CreateDatabaseAsync(install: false);
        var config = WriteConfig("postgresql", connectionString);

        var before = await RunAsync("status", "--config", config);
        Assert.Equal(ExitCodes.Configuration, before.Code);
        Assert.Contains("the outbox schema is not installed", before.Error, StringComparison.Ordinal);
        Assert.Contains("outbox init", before.Error, StringComparison.Ordinal);

        var init = await RunAsync("init", "--config", config);
        Assert.Equal(0, init.Code);
        Assert.Contains("01_tables.sql, 02_api.sql, 03_roles.sql", init.Out, StringComparison.Ordinal);
        Assert.Equal(0, (await RunAsync("init", "--config", config)).Code);

        var send = await RunAsync("send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--text", "x");
        Assert.Equal(0, send.Code);
        Assert.Equal(0, (await RunAsync("run", "--once", "--config", config)).Code);
        Assert.Contains("sent", (await RunAsync("status", "--config", config)).Out, StringComparison.Ordinal);
    }

    /// <summary>The README's first command, as a newcomer runs it: no configuration at all.</summary>
    [Fact]
    public async Task The_program_with_no_configuration_uses_sqlite_and_the_pickup_directory()
    {
        var send = await RunProgramAsync("send", "--from", "app@example.com", "--to", "dba@example.com", "--subject", "Hello", "--text", "It works");
        Assert.Equal(0, send.Code);
        var run = await RunProgramAsync("run", "--once");
        Assert.Equal("sent 1, retry later 0, failed 0, not tried 0", run.Out.Trim());

        Assert.True(File.Exists(Path.Combine(_dir.FullName, "outbox.db")));
        var eml = Assert.Single(Directory.GetFiles(Path.Combine(_dir.FullName, "pickup"), "*.eml"));
        Assert.Contains("Subject: Hello", await File.ReadAllTextAsync(eml, Ct), StringComparison.Ordinal);
        Assert.Contains("written to", (await RunProgramAsync("show", send.Out.Trim())).Out, StringComparison.Ordinal);
    }

    // A mail past its expires_at is never sent: queued again, the claim would only record it
    // expired. One mail is refused with its expiry; a bulk retry leaves such mails out and says so.
    [Fact]
    public async Task Retry_refuses_a_mail_past_its_expiry_and_a_bulk_retry_leaves_those_out()
    {
        var file = Path.Combine(_dir.FullName, "outbox.db");
        var config = WriteConfig("sqlite", $"Data Source={file}");
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await RunAsync("send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--text", "x", "--expires-after", "1h")).Out.Trim());
        }

        await using (var outbox = TestOutbox.Existing("sqlite", $"Data Source={file}"))
        {
            await outbox.ExecuteAsync("update outbox_message set status = 'failed', due_at = null");
            await outbox.ExecuteAsync($"update outbox_message set expires_at = '2020-01-01T00:00:00.000Z' where id in ({ids[0]}, {ids[1]})");
        }

        var one = await RunAsync("retry", ids[0], "--config", config);
        var bulk = await RunAsync("retry", "--status", "failed", "--config", config);

        Assert.Equal(Commands.ExitCodes.Usage, one.Code);
        Assert.Equal($"outbox: ID: mail {ids[0]} expired at 2020-01-01T00:00:00.000Z (its expires_at) and is never sent after it; nothing was changed. Enqueue it again with a later expiry if it must still go", one.Error.Trim());
        Assert.Equal((0, "queued 1 mail(s) that were failed; left out 2 past their expires_at (never sent after it)"), Trimmed(bulk));
        await using (var outbox = TestOutbox.Existing("sqlite", $"Data Source={file}"))
        {
            Assert.Equal(["failed", "failed", "queued"], await outbox.QueryAsync<string>("select status from outbox_message order by id"));
        }
    }

    [Fact]
    public async Task Retry_by_status_queues_every_such_mail_in_batches_and_says_how_many()
    {
        var config = WriteConfig("sqlite", $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}");
        for (var i = 0; i < 5; i++)
        {
            var id = (await RunAsync("send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--text", "x")).Out.Trim();
            Assert.Equal(0, (await RunAsync("cancel", id, "--config", config)).Code);
        }

        var bulk = await RunAsync("retry", "--status", "cancelled", "--batch-size", "2", "--config", config);
        var neither = await RunAsync("retry", "--config", config);
        var sent = await RunAsync("retry", "--status", "sent", "--config", config);

        Assert.Equal((0, "queued 5 mail(s) that were cancelled"), Trimmed(bulk));
        Assert.Equal("\rqueued 2…\rqueued 4…\rqueued 5…", bulk.Error.TrimEnd());
        var run = System.Text.Json.JsonDocument.Parse((await RunAsync("run", "--once", "--json", "--config", config)).Out).RootElement;
        Assert.Equal(5, run.GetProperty("sent").GetInt32());
        Assert.Equal(0, run.GetProperty("failed").GetInt32());
        Assert.Equal("outbox: ID: give either a mail's ID or --status. For example `outbox retry 42` or `outbox retry --status failed`", neither.Error.Trim());
        Assert.StartsWith("outbox: --status: \"sent\" cannot be retried", sent.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_shows_what_is_in_effect_with_every_secret_redacted()
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = "postgresql", ConnectionString = "Host=db.example.com;Username=outbox_service;Password=db-secret-1" },
            Transport = "smtp",
            Smtp = new { Host = "smtp.example.com", UserName = "outbox@example.com", Password = "smtp-secret-2", Timeout = "00:00:30" },
        });

        var text = await RunAsync("config", "--config", config);
        var json = await RunAsync("config", "--json", "--config", config);

        Assert.Equal(0, text.Code);
        foreach (var output in new[] { text.Out, json.Out })
        {
            Assert.DoesNotContain("db-secret-1", output, StringComparison.Ordinal);
            Assert.DoesNotContain("smtp-secret-2", output, StringComparison.Ordinal);
            Assert.Contains("(set, not shown)", output, StringComparison.Ordinal);
            Assert.Contains("Host=db.example.com;Username=outbox_service;Password=***", output, StringComparison.Ordinal);
        }

        Assert.Matches(@"Outbox:Smtp:Timeout\s+00:00:30", text.Out);
        Assert.Matches(@"Outbox:Dispatch:BatchSize\s+50", text.Out);
    }

    [Fact]
    public async Task Config_names_the_layer_of_each_value_and_gives_typed_json()
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Smtp = new { Host = "smtp.example.com", Port = 2525, Password = "smtp-secret-3" },
            Dispatch = new { PollInterval = "90s" },
        });
        var environment = new Dictionary<string, string> { ["OUTBOX_CONFIG"] = config, ["Outbox__Dispatch__BatchSize"] = "7" };

        var (code, text, error) = await WorkerProcess.RunToEndAsync(_dir.FullName, environment, "config");
        var json = JsonDocument.Parse((await WorkerProcess.RunToEndAsync(_dir.FullName, environment, "config", "--json")).Out).RootElement;

        Assert.True(code == 0, error);
        Assert.Matches($@"Outbox:Smtp:Host\s+smtp\.example\.com\s+file {Regex.Escape(config)}\n", text);
        Assert.Matches(@"Outbox:Dispatch:BatchSize\s+7\s+environment \(Outbox__Dispatch__BatchSize\)\n", text);
        Assert.Matches(@"Outbox:Dispatch:LeaseDuration\s+\S+\s+default\n", text);
        Assert.Matches(@"Outbox:Transport\s+smtp\s+inferred", text);
        Assert.DoesNotContain("smtp-secret-3", text, StringComparison.Ordinal);

        Assert.Equal(2525, json.GetProperty("Outbox:Smtp:Port").GetProperty("value").GetInt32());
        Assert.Equal(7, json.GetProperty("Outbox:Dispatch:BatchSize").GetProperty("value").GetInt32());
        Assert.Equal("00:01:30", json.GetProperty("Outbox:Dispatch:PollInterval").GetProperty("value").GetString());
        Assert.Equal($"file {config}", json.GetProperty("Outbox:Dispatch:PollInterval").GetProperty("source").GetString());
        Assert.Equal(JsonValueKind.False, json.GetProperty("Outbox:Smtp:AllowInsecure").GetProperty("value").ValueKind);
        Assert.Equal("(set, not shown)", json.GetProperty("Outbox:Smtp:Password").GetProperty("value").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("Outbox:Smtp:UserName").GetProperty("value").ValueKind);
    }

    [Fact]
    public async Task Oracle_without_its_driver_is_one_line_saying_how_to_build_with_it()
    {
        var config = WriteConfig("oracle", "User Id=outbox;Password=x;Data Source=localhost:1521/FREEPDB1");

        foreach (var command in new[] { "init", "status", "run" })
        {
            var result = await RunAsync(command, "--config", config);
            Assert.Equal(ExitCodes.Configuration, result.Code);
            Assert.Equal(
                "outbox: Outbox:Database:Provider: oracle needs the Oracle.ManagedDataAccess.Core driver, which is not part of this build of outbox. "
                + OracleDialect.HowToAddDriver,
                result.Error.Trim());
        }
    }

    [Fact]
    public async Task Run_as_a_service_polls_with_quartz_sends_new_mail_and_stops_cleanly_on_sigterm()
    {
        var config = WriteConfig("sqlite", $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}", pollInterval: "00:00:01");
        Assert.Equal(0, (await RunAsync("init", "--config", config)).Code);
        using var worker = WorkerProcess.Start(_dir.FullName, null, "run", "--config", config);
        var id = (await RunAsync("send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--text", "x")).Out.Trim();
        var pickup = Path.Combine(_dir.FullName, "pickup");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !(Directory.Exists(pickup) && Directory.GetFiles(pickup, "*.eml").Length > 0))
        {
            await Task.Delay(100, Ct);
        }

        await worker.TerminateAsync();
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, worker.ExitCode);
        Assert.Contains($"Mail {id} sent", worker.Output, StringComparison.Ordinal);
        Assert.Contains("Starting with Outbox:Database:Provider=sqlite;", worker.Output, StringComparison.Ordinal);
        Assert.Contains("\"status\": \"sent\"", (await RunAsync("show", id, "--json", "--config", config)).Out, StringComparison.Ordinal);
    }

    private static (int, string) Trimmed((int Code, string Out, string Error) result) => (result.Code, result.Out.Trim());

    [Fact]
    public async Task Send_refuses_a_text_file_that_is_not_utf8_and_a_folder_as_an_attachment_naming_the_option()
    {
        var config = WriteConfig("sqlite", $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}");
        var latin1 = Path.Combine(_dir.FullName, "latin1.txt");
        await File.WriteAllBytesAsync(latin1, [0x47, 0x72, 0xFC, 0xDF, 0x65], Ct);

        var text = await RunAsync("send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--text-file", latin1);
        var folder = await RunAsync("send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--text", "x", "--attach", _dir.FullName);

        Assert.Equal(ExitCodes.Usage, text.Code);
        Assert.StartsWith("outbox: --text-file: ", text.Error, StringComparison.Ordinal);
        Assert.Contains("is not valid UTF-8", text.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, folder.Code);
        Assert.Contains("is a folder, not a file", folder.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_refuses_a_named_pipe_as_an_attachment_at_once_instead_of_waiting_for_a_writer()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "named pipes in the file system are a Unix thing");
        var config = WriteConfig("sqlite", $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}");
        var fifo = Path.Combine(_dir.FullName, "pipe");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync(Ct);
        }

        var run = RunAsync("send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--text", "x", "--attach", fifo);
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(10), Ct));

        Assert.Same(run, finished);
        Assert.Equal(ExitCodes.Usage, (await run).Code);
        Assert.Contains("--attach: ", (await run).Error, StringComparison.Ordinal);
        Assert.Contains("is a pipe or socket, not a file", (await run).Error, StringComparison.Ordinal);
    }

    private string WriteConfig(string provider, string connectionString, string pollInterval = "00:00:10")
    {
        var path = Path.Combine(_dir.FullName, "outbox.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            Outbox = new
            {
                Database = new { Provider = provider, ConnectionString = connectionString },
                Transport = "pickup",
                Pickup = new { Directory = Path.Combine(_dir.FullName, "pickup") },
                Dispatch = new { PollInterval = pollInterval },
            },
        }));
        return path;
    }

    private static Task<(int Code, string Out, string Error)> RunAsync(params string[] args) => Cli.RunApartAsync(args);

    private Task<(int Code, string Out, string Error)> RunProgramAsync(params string[] args) => WorkerProcess.RunToEndAsync(_dir.FullName, null, args);
}
