using Outbox.Core.Messages;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Dashboard;

/// <summary>Retry and cancel by hand are rows of the attempt log, naming who acted; the dispatcher's count of attempts ignores them.</summary>
public sealed class ActionLogTests
{
    [Fact]
    public async Task Cli_retry_and_cancel_are_logged_as_the_os_user_and_the_next_attempt_is_still_number_one()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        var dir = Directory.CreateTempSubdirectory("outbox-actions-");
        var config = WorkerProcess.WriteConfig(dir.FullName, new
        {
            Database = new { Provider = "sqlite", outbox.ConnectionString },
            Pickup = new { Directory = Path.Combine(dir.FullName, "pickup") },
        });
        var id = await outbox.EnqueueAsync(new MailRequest { Sender = "a@example.com", To = ["b@example.com"], Subject = "s", TextBody = "t" });

        Assert.Equal(0, (await Cli.RunAsync("cancel", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--config", config)).Code);
        Assert.Equal(0, (await Cli.RunAsync("retry", "--status", "cancelled", "--config", config)).Code);
        Assert.Equal(0, (await Cli.RunAsync("run", "--once", "--config", config)).Code);
        var (_, show) = await Cli.RunAsync("show", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--config", config);
        dir.Delete(recursive: true);

        var rows = await outbox.QueryAsync<(int AttemptNo, string Worker, string Outcome)>("select attempt_no, worker, outcome from outbox_attempt where message_id = @id order by id", new { id });
        var user = $"{Environment.UserName} (outbox cli)";
        Assert.Equal([(0, user, "cancelled"), (0, user, "retried"), (1, rows[2].Worker, "sent")], rows);
        Assert.Equal(1, await outbox.ScalarAsync<int>("select attempt_count from outbox_message where id = @id", new { id }));
        Assert.Contains($"{user} cancelled", show, StringComparison.Ordinal);
        Assert.Contains("Attempts (3):", show, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_made_before_schema_version_3_gets_the_attempt_check_with_the_actions_and_keeps_its_rows()
    {
        var file = Path.Combine(Path.GetTempPath(), $"outbox-v2-{Guid.NewGuid():N}.db");
        await using (var old = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=False"))
        {
            await old.OpenAsync(TestContext.Current.CancellationToken);
            await Dapper.SqlMapper.ExecuteAsync(old, SchemaInstaller.ReadScript("sql/sqlite/01_tables.sql")
                .Replace("'failed', 'retried', 'cancelled')", "'failed')", StringComparison.Ordinal));
            await Dapper.SqlMapper.ExecuteAsync(old,
                "insert into outbox_message (id, status, sender, mime_message_id) values (1, 'failed', 'a@example.com', '<m1@x>');"
                + "insert into outbox_attempt (message_id, attempt_no, worker, outcome, smtp_code, smtp_reply) values (1, 1, 'w', 'failed', 550, 'no');");
        }

        await using var outbox = TestOutbox.Existing("sqlite", $"Data Source={file}");
        await new SchemaInstaller(outbox.Database).InstallAsync(TestContext.Current.CancellationToken);
        await new Storage.Admin.OutboxAdmin(outbox.Database, "tester").RetryAsync(1, TestContext.Current.CancellationToken);

        Assert.Equal([(1, "failed", "no"), (0, "retried", null)], await outbox.QueryAsync<(int, string, string?)>("select attempt_no, outcome, smtp_reply from outbox_attempt order by id"));
        Assert.Equal(2L, await outbox.ScalarAsync<long>("select count(*) from sqlite_master where name in ('outbox_attempt_message_ix', 'outbox_attempt_time_ix')"));
        await outbox.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        File.Delete(file);
    }
}
