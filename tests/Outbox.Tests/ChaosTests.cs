using System.Collections.Concurrent;
using Dapper;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// Several workers send a few thousand mails while workers are killed (-9), stopped (SIGTERM, as
/// systemctl restart does) or paused past their lease (-STOP / -CONT), and the database and the
/// SMTP server restart, at random; the SMTP server also loses replies and drops connections now
/// and then. Afterwards every committed mail must have ended sent or failed with a reason; a mail
/// may have reached the server twice only where its attempt log holds an 'unconfirmed' attempt
/// (a lost reply, or a take-over naming a worker that was killed or paused); every stop exited 0.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class ChaosTests : IDisposable
{
    private const int Mails = 2000;
    private const int Workers = 3;
    private static readonly TimeSpan ChaosFor = TimeSpan.FromSeconds(30);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-chaos-");
    private readonly ConcurrentQueue<ScriptedMail> _received = new();
    private readonly HashSet<string> _lost = [];
    private int _started;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task Every_committed_mail_ends_sent_or_failed_and_duplicates_happen_only_where_unconfirmed()
    {
        await using var database = await PostgresServer.StartPrivateAsync();
        await using var outbox = await TestOutbox.PostgresAsync(database);
        await outbox.ExecuteAsync("select outbox_mail.send('app@example.com', 'to' || g || '@example.com', subject => 'chaos ' || g, message => 'x') from generate_series(1, @Mails) g", new { Mails });
        var smtp = StartSmtp(0);
        var port = smtp.Port;
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = "postgresql", outbox.ConnectionString },
            Transport = "smtp",
            Smtp = new { Host = "127.0.0.1", Port = port, Security = "None", AllowInsecure = true, Timeout = "00:00:02" },
            Dispatch = new
            {
                PollInterval = "00:00:00.500", BatchSize = 20, LeaseDuration = "00:00:10", MaxAttempts = 30, StopTimeout = "00:00:02",
                RetryBaseDelay = "00:00:01", RetryMaxDelay = "00:00:02", ConfigurationErrorPause = "00:00:02",
            },
        });
        var workers = Enumerable.Range(0, Workers).Select(_ => StartWorker(config)).ToList();
        var random = new Random(20261129);
        var events = new Dictionary<string, int> { ["worker killed"] = 0, ["worker stopped"] = 0, ["worker paused"] = 0, ["database restarted"] = 0, ["smtp restarted"] = 0 };
        var resumes = new List<Task>();
        var resumed = new List<NamedWorker>();
        try
        {
            var until = DateTime.UtcNow + ChaosFor;
            while (DateTime.UtcNow < until)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(1500, 3000)), Ct);
                var victim = random.Next(workers.Count);
                switch (random.Next(6))
                {
                    case 0 or 1:
                        _lost.Add(workers[victim].Name);
                        workers[victim].Process.Kill();
                        workers[victim].Process.Dispose();
                        workers[victim] = StartWorker(config);
                        events["worker killed"]++;
                        break;
                    case 2:
                        await StopAsync(workers[victim], _lost);
                        workers[victim].Process.Dispose();
                        workers[victim] = StartWorker(config);
                        events["worker stopped"]++;
                        break;
                    case 3:
                        // Past its lease: its mails are taken over while it stands still.
                        // Set aside while it stands still, so no other event picks it; it
                        // carries on as a worker once it resumes.
                        var paused = workers[victim];
                        _lost.Add(paused.Name);
                        await paused.Process.PauseAsync();
                        resumes.Add(Task.Delay(TimeSpan.FromSeconds(12), Ct).ContinueWith(_ => paused.Process.ResumeAsync(), TaskScheduler.Default).Unwrap());
                        resumed.Add(paused);
                        workers[victim] = StartWorker(config);
                        events["worker paused"]++;
                        break;
                    case 4:
                        await database.StopAsync();
                        await Task.Delay(1000, Ct);
                        await database.StartAsync();
                        events["database restarted"]++;
                        break;
                    default:
                        await smtp.DisposeAsync();
                        await Task.Delay(1000, Ct);
                        smtp = StartSmtp(port);
                        events["smtp restarted"]++;
                        break;
                }
            }

            await Task.WhenAll(resumes);
            ((Npgsql.NpgsqlDataSource)outbox.Database.DataSource).Clear();
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (DateTime.UtcNow < deadline && await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message where status in ('queued', 'sending')") > 0)
            {
                await Task.Delay(500, Ct);
            }

            // A clean stop of everyone at the end.
            foreach (var worker in workers.Concat(resumed))
            {
                await StopAsync(worker, _lost);
            }
        }
        finally
        {
            foreach (var resume in resumes)
            {
                await resume.ContinueWith(_ => { }, TaskScheduler.Default);
            }

            foreach (var worker in workers.Concat(resumed))
            {
                worker.Process.Dispose();
            }

            await smtp.DisposeAsync();
        }

        var statuses = (await outbox.QueryAsync<(string Status, long Count)>("select status, count(*) from outbox.outbox_message group by status")).ToDictionary(s => s.Status, s => s.Count);
        var failedWithoutReason = await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message where status = 'failed' and last_error is null");
        var unconfirmed = (await outbox.QueryAsync<string>(
            "select distinct m.subject from outbox.outbox_message m join outbox.outbox_attempt a on a.message_id = m.id where a.outcome = 'unconfirmed'")).ToHashSet();
        var sentSubjects = (await outbox.QueryAsync<string>("select subject from outbox.outbox_message where status = 'sent'")).ToList();
        var receptions = _received.GroupBy(m => Subject(m.Data)).ToDictionary(g => g.Key, g => g.ToList());
        var duplicates = receptions.Where(r => r.Value.Count > 1).Select(r => r.Key).ToList();
        var unexplained = duplicates.Where(d => !unconfirmed.Contains(d)).ToList();
        var sentButNeverAcknowledged = sentSubjects.Where(s => !receptions.TryGetValue(s, out var r) || !r.Any(m => m.Acknowledged)).ToList();

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"chaos: {string.Join(", ", events.Select(e => $"{e.Key} {e.Value}"))}; statuses: {string.Join(", ", statuses.Select(s => $"{s.Key} {s.Value}"))}; " +
            $"received {_received.Count} ({_received.Count(m => !m.Acknowledged)} without reply), duplicates {duplicates.Count} (all unconfirmed: {unexplained.Count == 0})");

        Assert.Equal(Mails, statuses.Where(s => s.Key is "sent" or "failed").Sum(s => s.Value));
        Assert.Equal(0L, failedWithoutReason);
        Assert.Empty(sentButNeverAcknowledged);
        var history = unexplained.Count == 0 ? string.Empty : string.Join("; ", await outbox.QueryAsync<string>(
            "select m.subject || ': ' || string_agg(a.worker || ' ' || a.outcome || ' ' || coalesce(a.error, ''), ' | ' order by a.id) from outbox.outbox_message m join outbox.outbox_attempt a on a.message_id = m.id where m.subject = any(@unexplained) group by m.subject",
            new { unexplained = unexplained.ToArray() }));
        Assert.True(unexplained.Count == 0, $"sent twice without an unconfirmed attempt: {history}");
        // A take-over is recorded unconfirmed only for a worker that really lost its mail.
        var takenOverFrom = await outbox.QueryAsync<string>("select distinct worker from outbox.outbox_attempt where outcome = 'unconfirmed' and error like 'worker % stopped while sending%'");
        Assert.All(takenOverFrom, worker => Assert.Contains(worker, _lost));
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message where status = 'sending'"));
        Assert.True(events.Values.All(v => v > 0) || ChaosFor < TimeSpan.FromSeconds(20), $"every kind of chaos should have happened at least once: {string.Join(", ", events)}");
    }

    private ScriptedSmtpServer StartSmtp(int port)
    {
        var server = ScriptedSmtpServer.Start(
            step => step.Phase switch
            {
                "dot" when Random.Shared.Next(100) < 3 => SmtpFault.Drop,
                "mid-data" when Random.Shared.Next(100) < 2 => SmtpFault.Drop,
                "RCPT" when Random.Shared.Next(100) < 2 => SmtpFault.Reply("451 4.3.0 Try again later"),
                _ => null,
            },
            port: port);
        server.OnReceived = _received.Enqueue;
        return server;
    }

    private NamedWorker StartWorker(string config)
    {
        var name = $"chaos-{Interlocked.Increment(ref _started)}";
        return new(name, WorkerProcess.Start(_dir.FullName, new Dictionary<string, string> { ["Outbox__Dispatch__WorkerName"] = name }, "run", "--config", config));
    }

    private sealed record NamedWorker(string Name, WorkerProcess Process);

    // SIGTERM, as systemctl stop sends it: a running worker exits 0. One that had already ended
    // (it was starting while the database restarted: systemd's Restart=on-failure brings such a
    // worker back) is not asked.
    private static async Task StopAsync(NamedWorker worker, HashSet<string> lost)
    {
        if (worker.Process.HasExited)
        {
            return;
        }

        await worker.Process.TerminateAsync();
        await worker.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(worker.Process.ExitCode == 0, worker.Process.Output);
        if (worker.Process.Output.Contains("could still not be written", StringComparison.Ordinal))
        {
            // Stopped while the database was away: what it could not record is left to a
            // take-over, which records it unconfirmed in its name.
            lost.Add(worker.Name);
        }
    }

    private static string Subject(string data) =>
        data.Split("\r\n").FirstOrDefault(l => l.StartsWith("Subject: ", StringComparison.Ordinal))?["Subject: ".Length..] ?? string.Empty;
}
