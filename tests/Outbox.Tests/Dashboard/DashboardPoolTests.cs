using System.Net;
using System.Net.Sockets;
using System.Text;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Dashboard;

/// <summary>
/// The dashboard inside the real worker process, over a real PostgreSQL, with clients that read
/// slowly or come too many at once: it uses its own small pool ("outbox dashboard" in
/// pg_stat_activity), refuses one request too many at once with 503, and never holds up sending.
/// </summary>
public sealed class DashboardPoolTests(PostgresServer postgres) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-dashboard-pool-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task Twelve_slow_eml_readers_hold_no_connection_and_the_worker_goes_on_sending()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start(s => (s.Certificate, s.RequireAuthentication) = (null, false));
        // A draft (never sent) whose .eml, about 22 MB, is far more than the sockets' buffers hold.
        var big = await BigDraftAsync(outbox, 16);
        var url = $"http://127.0.0.1:{LoopbackPort.Free()}/";
        using var worker = StartWorker(outbox.ConnectionString + ";Maximum Pool Size=10", new { Url = url }, new()
        {
            ["Transport"] = "smtp",
            ["Smtp"] = new { Host = "127.0.0.1", smtp.Port, Security = "None", AllowInsecure = true, Timeout = "00:00:05" },
        });
        await WaitForDashboardAsync(url, worker);

        // Each asks for the .eml and then reads nothing more: more clients than the worker's pool has connections.
        var readers = new List<Socket>();
        var answers = new List<string>();
        try
        {
            for (var i = 0; i < 12; i++)
            {
                var (socket, head) = await SlowGetAsync(url, $"/mails/{big}/eml");
                readers.Add(socket);
                answers.Add(head);
            }

            var sent = await SendAsync(outbox, 5);
            var dashboardConnections = await DashboardConnectionsAsync(outbox);
            using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
            using var overview = await client.GetAsync("/", Ct);

            Assert.True(sent, $"the worker did not send 5 mails within 60 s while 12 clients read slowly:\n{worker.Output}");
            Assert.Equal(Outbox.Dashboard.DashboardApp.Downloads, answers.Count(a => a.StartsWith("HTTP/1.1 200", StringComparison.Ordinal)));
            Assert.All(answers.Where(a => !a.StartsWith("HTTP/1.1 200", StringComparison.Ordinal)), a =>
            {
                Assert.StartsWith("HTTP/1.1 503", a, StringComparison.Ordinal);
                Assert.Contains("Retry-After: 2", a, StringComparison.Ordinal);
            });
            // The downloads in progress hold a file each, and no connection of any pool.
            Assert.Equal(0, dashboardConnections.Active);
            Assert.InRange(dashboardConnections.All, 0, 4);
            // Nor a slot of the requests that read the database: the pages still answer.
            Assert.Equal(HttpStatusCode.OK, overview.StatusCode);
        }
        finally
        {
            readers.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task Requests_past_the_dashboard_pool_get_503_at_once_and_its_connections_stay_within_it()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var url = $"http://127.0.0.1:{LoopbackPort.Free()}/";
        using var worker = StartWorker(outbox.ConnectionString, new { Url = url, DatabaseConnections = 2 }, Pickup);
        await WaitForDashboardAsync(url, worker);

        // A lock makes every read of the mails wait, as a slow query would.
        await using var locker = await outbox.OpenAsync();
        await using var tx = await locker.BeginTransactionAsync(Ct);
        await using (var command = locker.CreateCommand())
        {
            command.Transaction = tx;
            command.CommandText = "lock table outbox.outbox_message in access exclusive mode";
            await command.ExecuteNonQueryAsync(Ct);
        }

        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        var requests = Enumerable.Range(0, 6).Select(_ => client.GetAsync("/mails", Ct)).ToList();
        var deadline = Task.Delay(TimeSpan.FromSeconds(15), Ct);
        while (requests.Count(r => r.IsCompleted) < 4 && !deadline.IsCompleted)
        {
            await Task.WhenAny(requests.Where(r => !r.IsCompleted).Append(deadline));
        }

        var refused = requests.Where(r => r.IsCompletedSuccessfully).Select(r => r.Result).ToList();
        var waiting = await WaitingDashboardConnectionsAsync(outbox, expected: 2);
        var connections = await DashboardConnectionsAsync(outbox);
        await tx.RollbackAsync(Ct);
        var all = await Task.WhenAll(requests);

        // Four answered while the lock still held the other two: refused at once, not queued.
        Assert.Equal(4, refused.Count);
        Assert.All(refused, r =>
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(2), r.Headers.RetryAfter?.Delta);
        });
        Assert.Contains("Outbox:Dashboard:DatabaseConnections", await refused[0].Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(2, waiting);
        Assert.InRange(connections.All, 1, 2);
        Assert.Equal(2, all.Count(r => r.StatusCode == HttpStatusCode.OK));
        foreach (var response in all)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task An_eml_of_a_large_attachment_is_handed_out_in_bounded_memory()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        const int Megabytes = 64;
        var big = await BigDraftAsync(outbox, Megabytes);
        var url = $"http://127.0.0.1:{LoopbackPort.Free()}/";
        using var worker = StartWorker(outbox.ConnectionString, new { Url = url }, Pickup);
        await WaitForDashboardAsync(url, worker);
        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) };
        await client.GetStringAsync($"/mails/{big}", Ct);
        var before = PeakKilobytes(worker.Id);

        using var response = await client.GetAsync($"/mails/{big}/eml", HttpCompletionOption.ResponseHeadersRead, Ct);
        await using var body = await response.Content.ReadAsStreamAsync(Ct);
        var buffer = new byte[81920];
        long length = 0;
        for (int read; (read = await body.ReadAsync(buffer, Ct)) > 0;)
        {
            length += read;
        }

        var grown = PeakKilobytes(worker.Id) - before;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Base64 makes 64 MiB about 86 MiB of text.
        Assert.InRange(length, Megabytes * 1024L * 1024 * 4 / 3, Megabytes * 1024L * 1024 * 3 / 2);
        Assert.True(grown < 32 * 1024, $"the worker's peak memory grew by {grown / 1024} MiB handing out an .eml of {length / (1024 * 1024)} MiB");
    }

    [Fact]
    public async Task An_eml_larger_than_MaxDownloadBytes_is_refused_saying_which_key_and_what_to_do()
    {
        var (outbox, sent, _, _) = await DashboardHost.MailsAsync(postgres);
        await using var _ = outbox;
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, d => d.MaxDownloadBytes = 1000);
        using var client = new HttpClient { BaseAddress = new Uri(dashboard.Url) };

        using var response = await client.GetAsync($"/mails/{sent}/eml", Ct);
        var page = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains($"larger than Outbox:Dashboard:MaxDownloadBytes (1000 bytes): raise it, or run outbox show {sent} --eml &gt; mail-{sent}.eml on the host.", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_mail_with_more_attachments_than_the_dashboard_has_connections_downloads_whole()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var id = await outbox.ScalarAsync<long>("""
            select max(m.id) from (select outbox_mail.create_mail('a@example.com', subject => 'three') as id) m,
                lateral (select outbox_mail.add_attachment(m.id, 'part' || i || '.bin', decode(repeat('ab', 3 * 1024 * 1024), 'hex'), 'application/octet-stream')
                         from generate_series(1, 3) i) a
            """);
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, d => d.DatabaseConnections = 1);
        using var client = new HttpClient { BaseAddress = new Uri(dashboard.Url), Timeout = TimeSpan.FromSeconds(60) };

        using var response = await client.GetAsync($"/mails/{id}/eml", Ct);
        var eml = await response.Content.ReadAsStringAsync(Ct);

        // Each attachment is read a slice at a time on the one connection, never all three held at once.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Count(eml, "filename=\"?part[123].bin"));
        Assert.InRange(eml.Length, 3 * 3 * 1024 * 1024 * 4 / 3, 3 * 3 * 1024 * 1024 * 3 / 2);
    }

    // A draft (the worker never sends it) with an attachment of this many MiB.
    private static Task<long> BigDraftAsync(TestOutbox outbox, int megabytes) => outbox.ScalarAsync<long>($"""
        select outbox_mail.add_attachment(m.id, 'big.bin', decode(repeat('ab', {megabytes} * 1024 * 1024), 'hex'), 'application/octet-stream') * 0 + m.id
        from (select outbox_mail.create_mail('a@example.com', subject => 'big') as id) m
        """);

    private Dictionary<string, object> Pickup => new() { ["Transport"] = "pickup", ["Pickup"] = new { Directory = Path.Combine(_dir.FullName, "pickup") } };

    // `outbox run` on the test's database, its dashboard configured as given, passes every half second.
    private WorkerProcess StartWorker(string connectionString, object dashboard, Dictionary<string, object> outbox)
    {
        outbox["Database"] = new { Provider = "postgresql", ConnectionString = connectionString };
        outbox["Dashboard"] = dashboard;
        outbox["Dispatch"] = new { PollInterval = "00:00:00.500" };
        return WorkerProcess.Start(_dir.FullName, null, "run", "--config", WorkerProcess.WriteConfig(_dir.FullName, outbox));
    }

    private static async Task WaitForDashboardAsync(string url, WorkerProcess worker)
    {
        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(5) };
        for (var tries = 0; tries < 150 && !worker.HasExited; tries++)
        {
            try
            {
                if ((await client.GetAsync("/", Ct)).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200, Ct);
        }

        Assert.Fail($"the worker's dashboard did not answer:\n{worker.Output}");
    }

    // A GET whose client then stops reading: a small receive window, and the answer's first bytes only.
    private static async Task<(Socket Socket, string Head)> SlowGetAsync(string url, string path)
    {
        var uri = new Uri(url);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync(IPAddress.Loopback, uri.Port, Ct);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {uri.Authority}\r\n\r\n"), Ct);
        var head = new byte[1024];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var read = await socket.ReceiveAsync(head, SocketFlags.None, timeout.Token);
        return (socket, Encoding.ASCII.GetString(head, 0, read));
    }

    // Enqueues mails and waits for the worker to send them all.
    private static async Task<bool> SendAsync(TestOutbox outbox, int count)
    {
        var ids = new List<long>();
        for (var i = 0; i < count; i++)
        {
            ids.Add(await outbox.EnqueueAsync(new Core.Messages.MailRequest { Sender = "a@example.com", To = [$"r{i}@example.com"], Subject = $"mail {i}", TextBody = "x" }));
        }

        for (var tries = 0; tries < 300; tries++)
        {
            if (await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message where id = any(@ids) and status = 'sent'", new { ids }) == count)
            {
                return true;
            }

            await Task.Delay(200, Ct);
        }

        return false;
    }

    private static async Task<(long All, long Active)> DashboardConnectionsAsync(TestOutbox outbox)
    {
        var row = (await outbox.QueryAsync<(long All, long Active)>(
            "select count(*), count(*) filter (where state = 'active') from pg_stat_activity where datname = current_database() and application_name = 'outbox dashboard'")).Single();
        return row;
    }

    // The dashboard's connections waiting for the lock, once as many as expected are (or after 10 s).
    private static async Task<long> WaitingDashboardConnectionsAsync(TestOutbox outbox, long expected)
    {
        long waiting = 0;
        for (var tries = 0; tries < 50 && waiting != expected; tries++)
        {
            waiting = await outbox.ScalarAsync<long>(
                "select count(*) from pg_stat_activity where datname = current_database() and application_name = 'outbox dashboard' and wait_event_type = 'Lock'");
            await Task.Delay(200, Ct);
        }

        return waiting;
    }

    // The most memory the process has held (VmHWM), in KiB.
    private static long PeakKilobytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
