using Dapper;
using MimeKit;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>Several real worker processes, and a database that goes away and comes back.</summary>
public sealed class ResilienceTests(PostgresServer postgres) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-resilience-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task Four_worker_processes_send_every_mail_exactly_once()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        const int count = 400;
        await outbox.ExecuteAsync("select outbox_mail.send('app@example.com', 'to' || g || '@example.com', subject => 'mail ' || g, message => 'x') from generate_series(1, @count) g", new { count });
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = "postgresql", outbox.ConnectionString },
            Transport = "smtp",
            Smtp = new { Host = "localhost", smtp.Port, UserName = TestSmtpServer.User, CaFile = TestCertificates.CaFile },
            Dispatch = new { BatchSize = 10 },
        });
        // The password only in the environment, as an operator would pass it.
        var environment = new Dictionary<string, string> { ["Outbox__Smtp__Password"] = TestSmtpServer.Password };

        var workers = Enumerable.Range(0, 4).Select(_ => WorkerProcess.Start(_dir.FullName, environment, "run", "--once", "--config", config)).ToList();
        foreach (var worker in workers)
        {
            await worker.WaitForExitAsync(TimeSpan.FromMinutes(2));
            Assert.True(worker.ExitCode == 0, worker.Output);
            worker.Dispose();
        }

        var subjects = smtp.Received.Select(m => MimeMessage.Load(new MemoryStream(m.Data), Ct).Subject).ToList();
        Assert.Equal(count, subjects.Count);
        Assert.Equal(count, subjects.Distinct().Count());
        Assert.Equal((long)count, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message where status = 'sent' and attempt_count = 1"));
        Assert.True(await outbox.ScalarAsync<long>("select count(distinct worker) from outbox.outbox_attempt") >= 2, "the work should be shared");
    }

    [Fact]
    public async Task The_worker_survives_the_database_restarting_and_carries_on()
    {
        await using var server = await PostgresServer.StartPrivateAsync();
        try
        {
            await using var outbox = await TestOutbox.PostgresAsync(server);
            var pickup = Path.Combine(_dir.FullName, "pickup");
            var config = WorkerProcess.WriteConfig(_dir.FullName, new
            {
                Database = new { Provider = "postgresql", outbox.ConnectionString },
                Pickup = new { Directory = pickup },
                Dispatch = new { PollInterval = "00:00:00.500" },
            });
            using var worker = WorkerProcess.Start(_dir.FullName, null, "run", "--config", config);
            var before = await outbox.ScalarAsync<long>("select outbox_mail.send('a@example.com', 'b@example.com', subject => 'before')");
            await WaitForStatusAsync(outbox, before, "sent");

            await server.StopAsync();
            await Task.Delay(TimeSpan.FromSeconds(3), Ct);
            await server.StartAsync();
            ((Npgsql.NpgsqlDataSource)outbox.Database.DataSource).Clear();
            var after = await outbox.ScalarAsync<long>("select outbox_mail.send('a@example.com', 'b@example.com', subject => 'after')");

            await WaitForStatusAsync(outbox, after, "sent");
            Assert.False(worker.HasExited, worker.Output);
            Assert.Contains("Cannot reach the outbox database", worker.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", worker.Output, StringComparison.Ordinal);
            await worker.TerminateAsync();
            await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
        }
    }

    private static async Task WaitForStatusAsync(TestOutbox outbox, long id, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await outbox.StatusOfAsync(id) == status)
                {
                    return;
                }
            }
            catch (Npgsql.NpgsqlException)
            {
                // The database is still starting.
            }

            await Task.Delay(200, Ct);
        }

        await outbox.AssertStatusAsync(id, status);
    }
}
