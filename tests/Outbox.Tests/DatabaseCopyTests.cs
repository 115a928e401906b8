using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Outbox.Commands;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// A copy of the database (a clone into test, a restore elsewhere) holds production's queue: its
/// worker sends nothing until an operator adopts it, choosing to keep the queue or cancel what
/// waits. The copies are real: CREATE DATABASE ... TEMPLATE, and a copied SQLite file.
/// </summary>
public sealed class DatabaseCopyTests(PostgresServer postgres) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-copy-");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task A_database_made_from_the_outbox_as_a_template_sends_nothing_until_adopted_and_cancel_waiting_cancels_only_what_waited()
    {
        var original = await postgres.CreateDatabaseAsync();
        var production = Config("postgresql", original, "production");
        var sent = await SendAsync(production);
        Assert.Equal("sent 1, retry later 0, failed 0, not tried 0", (await RunAsync("run", "--once", "--config", production)).Out.Trim());
        var cancelledBefore = await SendAsync(production);
        Assert.Equal(0, (await RunAsync("cancel", cancelledBefore, "--config", production)).Code);
        var waiting = new[] { await SendAsync(production), await SendAsync(production) };
        var draft = await SendAsync(production);
        string workerLogin;
        await using (var source = TestOutbox.Existing("postgresql", original))
        {
            // Copied with the database: its schema grants are the database's own.
            workerLogin = await source.LoginAsync("outbox_worker", "worker");
            // Waiting for an operator counts as waiting; a draft an application never queued does not.
            await source.ExecuteAsync("update outbox.outbox_message set status = 'unconfirmed' where id = @id", new { id = long.Parse(waiting[1], System.Globalization.CultureInfo.InvariantCulture) });
            await source.ExecuteAsync("update outbox.outbox_message set status = 'draft' where id = @id", new { id = long.Parse(draft, System.Globalization.CultureInfo.InvariantCulture) });
        }

        var copy = await CopyAsync(original);
        // As the worker's role, which is no superuser: what the identity reads is readable to it.
        var test = Config("postgresql", new NpgsqlConnectionStringBuilder(copy) { Username = workerLogin, Pooling = false }.ConnectionString, "test");
        await using var copied = TestOutbox.Existing("postgresql", copy);

        // The install scripts run again on the copy (an upgrade, say) do not adopt it, and say so.
        var init = await RunAsync("init", "--config", Config("postgresql", copy, "owner"));
        Assert.Equal(0, init.Code);
        Assert.StartsWith("outbox: Outbox:Database: this database is a copy: the outbox was installed in PostgreSQL system", init.Error, StringComparison.Ordinal);

        var refused = await RunAsync("run", "--once", "--config", test);
        Assert.Equal(ExitCodes.Configuration, refused.Code);
        var line = Assert.Single(refused.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => !l.StartsWith("outbox: mail goes by", StringComparison.Ordinal));
        Assert.Matches(
            "^outbox: Outbox:Database: this database is a copy: the outbox was installed in PostgreSQL system [0-9]+, database oid [0-9]+, and this is PostgreSQL system [0-9]+, database oid [0-9]+; it sends nothing until adopted. "
            + "Run `outbox adopt --keep-queue` \\(a move or a restore: send what waits\\) or `outbox adopt --cancel-waiting` \\(a clone: cancel what waits\\)$",
            line.Trim());
        Assert.False(Directory.Exists(Path.Combine(_dir.FullName, "test")));
        Assert.StartsWith("NOT SENDING: this database is a copy", (await RunAsync("status", "--config", test)).Out, StringComparison.Ordinal);
        var check = await RunAsync("check", "db", "--config", test);
        Assert.Equal(ExitCodes.Failed, check.Code);
        Assert.Contains("FAIL identity", check.Out, StringComparison.Ordinal);

        var neither = await RunAsync("adopt", "--config", test);
        Assert.Equal(ExitCodes.Usage, neither.Code);
        Assert.Equal("outbox: --keep-queue / --cancel-waiting: give exactly one of them: the mails waiting in a copy were production's. "
            + "A restore or a move: --keep-queue sends them from here. A clone into test: --cancel-waiting cancels them (production sent them), recorded in each mail's attempt log", neither.Error.Trim());

        var adopt = await RunAsync("adopt", "--cancel-waiting", "--config", test);
        Assert.Equal(0, adopt.Code);
        Assert.Matches("^adopted PostgreSQL system [0-9]+, database oid [0-9]+ \\(was PostgreSQL system [0-9]+, database oid [0-9]+\\): cancelled 2 waiting mail\\(s\\);", adopt.Out.Trim());

        // Only what waited is cancelled, each with the reason in its last error and attempt log.
        await copied.AssertStatusAsync(long.Parse(sent, System.Globalization.CultureInfo.InvariantCulture), "sent");
        await copied.AssertStatusAsync(long.Parse(cancelledBefore, System.Globalization.CultureInfo.InvariantCulture), "cancelled");
        Assert.Null(await copied.ScalarAsync<string?>("select last_error from outbox.outbox_message where id = @id", new { id = long.Parse(cancelledBefore, System.Globalization.CultureInfo.InvariantCulture) }));
        await copied.AssertStatusAsync(long.Parse(draft, System.Globalization.CultureInfo.InvariantCulture), "draft");
        foreach (var id in waiting.Select(w => long.Parse(w, System.Globalization.CultureInfo.InvariantCulture)))
        {
            await copied.AssertStatusAsync(id, "cancelled");
            Assert.StartsWith("cancelled by outbox adopt --cancel-waiting: this database is a copy of PostgreSQL system",
                await copied.ScalarAsync<string>("select last_error from outbox.outbox_message where id = @id", new { id }), StringComparison.Ordinal);
            Assert.Equal(("cancelled", 0), (await copied.QueryAsync<(string, int)>(
                "select outcome, attempt_no from outbox.outbox_attempt where message_id = @id and error like 'cancelled by outbox adopt%'", new { id })).Single());
        }

        var recorded = await copied.ScalarAsync<string>("select value from outbox.outbox_setting where name = 'database_adopted'");
        Assert.Matches($"^[0-9-]+T[0-9:]+Z by {Environment.UserName} \\(outbox adopt\\): cancelled the 2 waiting mail\\(s\\); it was PostgreSQL system", recorded);

        // Adopted: it sends what is enqueued from now on, and nothing it cancelled.
        var fresh = await SendAsync(test);
        Assert.Equal((0, "sent 1, retry later 0, failed 0, not tried 0"), Trimmed(await RunAsync("run", "--once", "--config", test)));
        await copied.AssertStatusAsync(long.Parse(fresh, System.Globalization.CultureInfo.InvariantCulture), "sent");
        Assert.StartsWith("nothing to adopt", (await RunAsync("adopt", "--keep-queue", "--config", test)).Out, StringComparison.Ordinal);

        // The original is untouched: it still sends its own queue.
        Assert.Equal((0, "sent 1, retry later 0, failed 0, not tried 0"), Trimmed(await RunAsync("run", "--once", "--config", production)));
    }

    [Fact]
    public async Task A_copied_sqlite_file_sends_nothing_until_adopted_and_keep_queue_sends_what_waited()
    {
        var originalFile = Path.Combine(_dir.FullName, "outbox.db");
        var production = Config("sqlite", $"Data Source={originalFile}", "production");
        var waiting = await SendAsync(production);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var copyFile = Path.Combine(_dir.FullName, "restored.db");
        File.Copy(originalFile, copyFile);
        var restored = Config("sqlite", $"Data Source={copyFile}", "restored");

        var refused = await RunAsync("run", "--once", "--config", restored);
        Assert.Equal(ExitCodes.Configuration, refused.Code);
        Assert.Contains($"this database is a copy: the outbox was installed in SQLite file {originalFile}", refused.Error, StringComparison.Ordinal);
        Assert.Contains($"and this is SQLite file {copyFile}", refused.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir.FullName, "restored")));

        var adopt = await RunAsync("adopt", "--keep-queue", "--json", "--config", restored);
        Assert.Equal(0, adopt.Code);
        var json = JsonDocument.Parse(adopt.Out).RootElement;
        Assert.True(json.GetProperty("adopted").GetBoolean());
        Assert.Equal(1, json.GetProperty("waiting").GetInt32());
        Assert.Equal(0, json.GetProperty("cancelled").GetInt32());

        Assert.Equal((0, "sent 1, retry later 0, failed 0, not tried 0"), Trimmed(await RunAsync("run", "--once", "--config", restored)));
        Assert.Single(Directory.GetFiles(Path.Combine(_dir.FullName, "restored"), "*.eml"));
        var status = JsonDocument.Parse((await RunAsync("status", "--json", "--config", restored)).Out).RootElement.GetProperty("database");
        Assert.False(status.GetProperty("copy").GetBoolean());
        Assert.Contains("kept the queue (1 waiting mail(s))", status.GetProperty("adopted").GetString(), StringComparison.Ordinal);

        // The original file is still the original: its worker sends (its own copy of the mail).
        Assert.Equal((0, "sent 1, retry later 0, failed 0, not tried 0"), Trimmed(await RunAsync("run", "--once", "--config", production)));
        Assert.NotEmpty(waiting);
    }

    // The database under a running worker becomes another (a restore in place, the connection
    // string's host switched): the next pass sends nothing, says so once, and sends again when
    // the copy is adopted.
    [Fact]
    public async Task A_running_worker_checks_each_pass_says_so_once_and_sends_again_once_adopted()
    {
        var file = Path.Combine(_dir.FullName, "outbox.db");
        var healthPort = LoopbackPort.Free();
        using var http = new HttpClient();
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = "sqlite", ConnectionString = $"Data Source={file}" },
            Transport = "pickup",
            Pickup = new { Directory = Path.Combine(_dir.FullName, "pickup") },
            Dispatch = new { PollInterval = "00:00:01" },
            Monitoring = new { HealthUrl = $"http://127.0.0.1:{healthPort}/" },
        });
        await SendAsync(config);
        using var worker = WorkerProcess.Start(_dir.FullName, null, "run", "--config", config);
        await UntilAsync(() => Emls() == 1, worker);

        await using (var outbox = TestOutbox.Existing("sqlite", $"Data Source={file}"))
        {
            await outbox.ExecuteAsync("update outbox_setting set value = 'SQLite file /srv/production/outbox.db' where name = 'database_identity'");
        }

        // The check runs before each pass (a pass sends until nothing is due), not per mail.
        await UntilAsync(() => worker.Output.Contains("Not sending: this database is a copy", StringComparison.Ordinal), worker);
        var waiting = await SendAsync(config);
        await Task.Delay(TimeSpan.FromSeconds(3), Ct);
        Assert.True(Emls() == 1, worker.Output);
        var refusing = await http.GetAsync(new Uri($"http://127.0.0.1:{healthPort}/health"), Ct);
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, refusing.StatusCode);
        Assert.Contains("not sending: this database is a copy", await refusing.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Single(Regex.Matches(worker.Output, "Not sending: this database is a copy: the outbox was installed in SQLite file /srv/production/outbox.db"));
        await using (var outbox = TestOutbox.Existing("sqlite", $"Data Source={file}"))
        {
            // The worker's row says it too, for the dashboard and `outbox status`.
            Assert.StartsWith("not sending: this database is a copy: the outbox was installed in SQLite file /srv/production/outbox.db",
                await outbox.ScalarAsync<string>("select last_result from outbox_worker"), StringComparison.Ordinal);
        }

        Assert.Equal(0, (await RunAsync("adopt", "--keep-queue", "--config", config)).Code);
        await UntilAsync(() => Emls() == 2, worker);
        Assert.Contains("Sending again: the database is SQLite file", worker.Output, StringComparison.Ordinal);
        // Healthy again once the pass that sent it has ended.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await http.GetAsync(new Uri($"http://127.0.0.1:{healthPort}/health"), Ct)).StatusCode != System.Net.HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "the health endpoint stayed unhealthy after the copy was adopted");
            await Task.Delay(200, Ct);
        }
        await worker.TerminateAsync();
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.NotEmpty(waiting);

        int Emls() => Directory.Exists(Path.Combine(_dir.FullName, "pickup")) ? Directory.GetFiles(Path.Combine(_dir.FullName, "pickup"), "*.eml").Length : 0;
    }

    private static async Task UntilAsync(Func<bool> condition, WorkerProcess worker)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline && !worker.HasExited, $"gave up waiting; the worker said:\n{worker.Output}");
            await Task.Delay(200, Ct);
        }
    }

    // CREATE DATABASE ... TEMPLATE, as a DBA clones a database in the same cluster.
    private static async Task<string> CopyAsync(string connectionString)
    {
        NpgsqlConnection.ClearAllPools();
        var source = new NpgsqlConnectionStringBuilder(connectionString);
        var name = $"outbox_copy_{Guid.NewGuid():N}";
        await using (var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false }.ConnectionString))
        {
            await admin.OpenAsync(Ct);
            await using var create = new NpgsqlCommand($"create database {name} template {source.Database}", admin);
            await create.ExecuteNonQueryAsync(Ct);
        }

        return new NpgsqlConnectionStringBuilder(connectionString) { Database = name }.ConnectionString;
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Config(string provider, string connectionString, string pickup) => WorkerProcess.WriteConfig(_dir.FullName, new
    {
        Database = new { Provider = provider, ConnectionString = connectionString },
        Transport = "pickup",
        Pickup = new { Directory = Path.Combine(_dir.FullName, pickup) },
    });

    private static async Task<string> SendAsync(string config)
    {
        var send = await RunAsync("send", "--config", config, "--from", "app@example.com", "--to", "customer@example.com", "--text", "Your invoice");
        Assert.Equal(0, send.Code);
        return send.Out.Trim();
    }

    private static (int, string) Trimmed((int Code, string Out, string Error) result) => (result.Code, result.Out.Trim());

    private static Task<(int Code, string Out, string Error)> RunAsync(params string[] args) => Cli.RunApartAsync(args);
}
