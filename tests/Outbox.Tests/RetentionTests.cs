using System.Text.Json;
using Outbox.Commands;
using Outbox.Core.Messages;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>The retention purge: on demand, and on its Quartz schedule in the worker.</summary>
public sealed class RetentionTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<long> EnqueueAsync(TestOutbox outbox)
    {
        return await outbox.EnqueueAsync(new MailRequest
        {
            Sender = "a@example.com",
            To = ["b@example.com"],
            Attachments = [new MailAttachment { FileName = "a.bin", Content = new MemoryStream([1, 2, 3]) }],
        });
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Purge_deletes_only_old_finished_mails_with_their_parts_in_batches(string provider)
    {
        await using var outbox = provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);
        var ids = new List<long>();
        for (var i = 0; i < 7; i++)
        {
            ids.Add(await EnqueueAsync(outbox));
        }

        var old = outbox.Database.Dialect.NowPlusSeconds("-86400 * 40");
        await outbox.ExecuteAsync($"update {outbox.T("outbox_message")} set status = 'sent', created_at = {old} where id in (@a, @b, @c, @d)", new { a = ids[0], b = ids[1], c = ids[2], d = ids[3] });
        await outbox.ExecuteAsync($"update {outbox.T("outbox_message")} set status = 'failed', created_at = {old} where id = @id", new { id = ids[4] });
        await outbox.ExecuteAsync($"update {outbox.T("outbox_message")} set created_at = {old} where id = @id", new { id = ids[5] });
        await outbox.ExecuteAsync($"insert into {outbox.T("outbox_attempt")} (message_id, attempt_no, worker, outcome) values (@id, 1, 'w', 'sent')", new { id = ids[0] });
        var reports = new List<long>();

        var deleted = await new OutboxAdmin(outbox.Database).PurgeAsync(TimeSpan.FromDays(30), 2, new SynchronousProgress(reports.Add), Ct);

        Assert.Equal(new PurgeOutcome(5, 0), deleted);
        Assert.Equal([2L, 4L, 5L], reports);
        Assert.Equal([ids[5], ids[6]], await outbox.QueryAsync<long>($"select id from {outbox.T("outbox_message")} order by id"));
        Assert.Equal(2L, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_attachment")}"));
        Assert.Equal(2L, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_recipient")}"));
        Assert.Equal(0L, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_attempt")}"));
    }

    [Fact]
    public async Task The_worker_purges_on_its_cron_schedule_and_the_cli_purges_on_demand()
    {
        var dir = Directory.CreateTempSubdirectory("outbox-retention-");
        var config = Path.Combine(dir.FullName, "outbox.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new
        {
            Outbox = new
            {
                Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(dir.FullName, "outbox.db")}" },
                Pickup = new { Directory = Path.Combine(dir.FullName, "pickup") },
                Retention = new { KeepFor = "1.00:00:00", Schedule = "* * * * * ?" },
            },
        }), Ct);
        await using (var outbox = await OpenAsync(dir))
        {
            await EnqueueAsync(outbox);
            await EnqueueAsync(outbox);
            await outbox.ExecuteAsync($"update outbox_message set status = 'sent', created_at = {outbox.Database.Dialect.NowPlusSeconds("-86400 * 2")} where id = 1");
        }

        using (var worker = WorkerProcess.Start(dir.FullName, null, "run", "--config", config))
        {
            await using var outbox = await OpenAsync(dir);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline && await outbox.ScalarAsync<long>("select count(*) from outbox_message where id = 1 or (id = 2 and status <> 'sent')") > 0)
            {
                await Task.Delay(200, Ct);
            }

            worker.Kill();
            await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));
            // Only the purge deletes rows; its log line may still sit in the killed process's buffer.
            Assert.Equal([2L], await outbox.QueryAsync<long>("select id from outbox_message"));
        }

        // Mail 2 was sent by the worker just now: too young for a one-day purge, old enough for a zero-second one.
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Assert.Equal(0, await OutboxCli.RunAsync(["purge", "--older-than", "1.00:00:00", "--config", config], stdout, stderr, Ct));
        Assert.Contains("deleted 0 finished mail(s)", stdout.ToString(), StringComparison.Ordinal);
        await Task.Delay(50, Ct);
        Assert.Equal(0, await OutboxCli.RunAsync(["purge", "--older-than", "00:00:00.010", "--config", config], stdout, stderr, Ct));
        Assert.Contains("deleted 1 finished mail(s)", stdout.ToString(), StringComparison.Ordinal);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        dir.Delete(recursive: true);
    }

    private static async Task<TestOutbox> OpenAsync(DirectoryInfo dir)
    {
        var outbox = TestOutbox.Existing("sqlite", $"Data Source={Path.Combine(dir.FullName, "outbox.db")}");
        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);
        return outbox;
    }

    private sealed class SynchronousProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
