using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Outbox.Bench;

/// <summary>
/// Peak working set of `outbox run --once` against a server whose reply never ends (an endless
/// multi-line EHLO reply, or an endless reply to the message data), beside the same command
/// sending one mail to smtp-sink: the worker's reply guard must keep the first within a few MB
/// of the second. Also prints how many bytes the server got into the connection before the worker hung up.
/// </summary>
public static class HostileReplyScenario
{
    public static async Task RunAsync(BenchOptions options, Report report)
    {
        Console.WriteLine("hostile ...");
        await using var database = await BenchDatabase.CreateAsync(options, "bench_hostile");
        var normal = new List<double>();
        var sink = WorkerChild.WriteConfig(options, "bench_hostile", new { Host = options.SinkHost, Port = options.SinkPort, Security = "None", AllowInsecure = true });
        for (var run = 0; run < options.Runs; run++)
        {
            await WorkerChild.RunAsync(["send", "--config", sink, "--from", "bench@example.com", "--to", "sink@example.com", "--text", "x"]);
            normal.Add(await PeakAsync(sink));
        }

        report.Add("hostile", "outbox run --once, one mail to smtp-sink (the footprint to compare with)", normal, "MB peak RSS", "whole process, .NET runtime included");
        foreach (var stage in new[] { "EHLO", "the message data" })
        {
            using var server = new EndlessReplyServer(stage == "EHLO");
            var config = WorkerChild.WriteConfig(options, "bench_hostile", new { Host = "127.0.0.1", server.Port, Security = "None", AllowInsecure = true, Timeout = "00:00:10" });
            var peaks = new List<double>();
            for (var run = 0; run < options.Runs; run++)
            {
                await WorkerChild.RunAsync(["send", "--config", config, "--from", "bench@example.com", "--to", "sink@example.com", "--text", "x"]);
                // The mail of the run before waits for its retry, so each run tries only its own.
                peaks.Add(await PeakAsync(config));
            }

            report.Add("hostile", $"outbox run --once, an endless reply to {stage}", peaks, "MB peak RSS",
                $"{Report.Median(peaks) - Report.Median(normal):+0.0;-0.0} MB beside a mail sent; the server wrote {server.Written / server.Sessions / 1024.0 / 1024:0.0} MB a session before the worker hung up");
        }
    }

    private static async Task<double> PeakAsync(string config)
    {
        var (_, error) = await WorkerChild.RunAsync(["run", "--once", "--config", config], measureMemory: true, allowFailure: true);
        var line = error.Split('\n').Last(l => l.StartsWith("maxrss=", StringComparison.Ordinal));
        return long.Parse(line["maxrss=".Length..].Trim(), CultureInfo.InvariantCulture) / 1024.0;
    }

    /// <summary>Greets, then answers EHLO (or, when afterData, the final dot) with "250-AAAA…" lines until the client hangs up.</summary>
    private sealed class EndlessReplyServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly bool _atEhlo;
        private long _written;
        private int _sessions;

        public EndlessReplyServer(bool atEhlo)
        {
            _atEhlo = atEhlo;
            _listener.Start();
            _ = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public long Written => Interlocked.Read(ref _written);

        public int Sessions => Math.Max(1, _sessions);

        public void Dispose() => _listener.Stop();

        private async Task AcceptAsync()
        {
            while (true)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync();
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    return;
                }

                Interlocked.Increment(ref _sessions);
                _ = Task.Run(() => SessionAsync(client));
            }
        }

        private async Task SessionAsync(TcpClient client)
        {
            using var owned = client;
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.ASCII);
            var flood = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("250-" + new string('A', 70) + "\r\n", 800)));
            try
            {
                await Write(stream, "220 endless.bench ESMTP\r\n");
                var data = false;
                while (await reader.ReadLineAsync() is { } line)
                {
                    var verb = data ? line : line.Split(' ')[0].ToUpperInvariant();
                    if ((_atEhlo && verb == "EHLO") || (!_atEhlo && data && line == "."))
                    {
                        while (true)
                        {
                            await stream.WriteAsync(flood);
                            Interlocked.Add(ref _written, flood.Length);
                        }
                    }

                    if (data)
                    {
                        continue;
                    }

                    data = verb == "DATA";
                    await Write(stream, verb switch { "EHLO" => "250 endless.bench\r\n", "DATA" => "354 go on\r\n", "QUIT" => "221 bye\r\n", _ => "250 ok\r\n" });
                }
            }
            catch (IOException)
            {
                // The worker hung up: what the guard is for.
            }
        }

        private static Task Write(NetworkStream stream, string text) => stream.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();
    }
}
