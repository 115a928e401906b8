using System.Diagnostics;
using System.Globalization;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using Outbox.Core.Dispatch;
using Outbox.Core.Sending;
using Outbox.Storage;

namespace Outbox.Bench;

/// <summary>
/// Dispatch rate (claim, send, status write) against smtp-sink, beside a bare MailKit loop and
/// Postfix's smtp-source at the same concurrency against the same sink.
/// </summary>
public static class DispatchScenario
{
    private static readonly (string Label, int Size, int Count, int QuickCount)[] Sizes =
        [("1 KB", 1024, 4000, 1000), ("100 KB", 100 * 1024, 600, 150), ("1 MB", 1024 * 1024, 120, 30)];

    private static readonly int[] ConnectionCounts = [1, 4, 8];

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        Console.WriteLine("dispatch rate ...");
        await using var database = await BenchDatabase.CreateAsync(options, "bench_dispatch");

        // Warm-up, not measured: JIT compilation of both clients and the first plans.
        // Two rounds: .NET keeps recompiling hot code (tiered PGO) well past the first thousand mails.
        await OutboxRateAsync(options, database, 1024, 3000, 8);
        await OutboxRateAsync(options, database, 1024, 3000, 8);
        await MailKitRateAsync(options, 1024, 3000, 8);
        foreach (var (label, size, fullCount, quickCount) in Sizes)
        {
            var count = options.Quick ? quickCount : fullCount;
            foreach (var connections in ConnectionCounts)
            {
                var @case = $"{label}, {connections} conn";
                if (!options.IncludesCase(@case))
                {
                    continue;
                }

                var outbox = new List<Measured>();
                var mailkit = new List<Measured>();
                var source = new List<double>();
                for (var run = 0; run < options.Runs; run++)
                {
                    outbox.Add(await OutboxRateAsync(options, database, size, count, connections));
                    mailkit.Add(await MailKitRateAsync(options, size, count, connections));
                    source.Add(await SmtpSourceRateAsync(options, size, count, connections));
                }

                var mk = Report.Median(mailkit.Select(m => m.Rate));
                var src = Report.Median(source);
                var own = Report.Median(outbox.Select(m => m.Rate));
                report.Add("dispatch", @case, outbox.Select(m => m.Rate).ToList(), "msg/s",
                    $"{own / mk:0.00}× MailKit loop ({Report.Format(mk)}), {own / src:0.00}× smtp-source ({Report.Format(src)}); MailKit loop = {mk / src:0.00}× smtp-source; " +
                    $"CPU per mail: outbox {Cpu(outbox)}, MailKit loop {Cpu(mailkit)}; {Transactions(outbox)}");
            }
        }
    }

    /// <summary>A rate and the CPU each mail cost (µs): the sending process, PostgreSQL, smtp-sink.</summary>
    public sealed record Measured(double Rate, (double Self, double Postgres, double Sink) Cpu, double Transactions = 0);

    // Medians of each part, e.g. "310 µs + PostgreSQL 420 µs + sink 90 µs".
    private static string Cpu(List<Measured> runs)
    {
        var (self, postgres, sink) = (Report.Median(runs.Select(r => r.Cpu.Self)), Report.Median(runs.Select(r => r.Cpu.Postgres)), Report.Median(runs.Select(r => r.Cpu.Sink)));
        return $"{self:0} µs + PostgreSQL {postgres:0} µs + sink {sink:0} µs";
    }

    // The median, e.g. "1.58 writing transactions per mail".
    private static string Transactions(List<Measured> runs) =>
        $"{Report.Median(runs.Select(r => r.Transactions)):0.00} writing transactions per mail";

    public static SmtpOptions SinkOptions(BenchOptions options) => new()
    {
        Host = options.SinkHost,
        Port = options.SinkPort,
        Security = SmtpSecurity.None,
        AllowInsecure = true,
    };

    public static async Task<Measured> OutboxRateAsync(BenchOptions options, OutboxDatabase database, int size, int count, int connections, SmtpOptions? smtp = null)
    {
        await BenchDatabase.ExecuteAsync(database, "truncate outbox.outbox_message cascade");
        await BenchDatabase.EnqueueAsync(database, count, size);
        await BenchDatabase.ExecuteAsync(database, "vacuum analyze outbox.outbox_message");
        // The queued mails' pages are written out now, so that the CPU counted below is dispatch's.
        await BenchDatabase.ExecuteAsync(database, "checkpoint");
        var dispatch = new DispatchOptions { Connections = connections, BatchSize = 50 };
        var dispatcher = new Dispatcher(
            new OutboxStore(database, "bench"),
            new SmtpTransport(smtp ?? SinkOptions(options), NullLogger<SmtpTransport>.Instance),
            dispatch,
            TimeProvider.System,
            NullLogger<Dispatcher>.Instance);
        var transactions = await TransactionMeter.StartAsync(database);
        var cpu = CpuMeter.Start();
        var clock = Stopwatch.StartNew();
        var summary = await dispatcher.DispatchDueAsync(CancellationToken.None);
        var seconds = clock.Elapsed.TotalSeconds;
        if (summary.Sent != count)
        {
            throw new InvalidOperationException($"the outbox sent {summary.Sent} of {count}: {summary.PausedBecause}");
        }

        var perMail = cpu.PerMail(count);
        return new Measured(count / seconds, perMail, await transactions.PerMailAsync(count));
    }

    /// <summary>The library's ceiling: the same messages built with MimeKit and sent by MailKit, no database.</summary>
    private static async Task<Measured> MailKitRateAsync(BenchOptions options, int size, int count, int connections)
    {
        var cpu = CpuMeter.Start();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async lane =>
        {
            using var client = new SmtpClient();
            // The same TCP_NODELAY socket the outbox uses: without it MailKit waits out the
            // server's delayed ACK on every large message, and the ratio would flatter the outbox.
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(options.SinkHost, options.SinkPort);
            await client.ConnectAsync(socket, options.SinkHost, options.SinkPort, SecureSocketOptions.None);
            for (var i = lane; i < count; i += connections)
            {
                using var message = Build(size, i);
                await client.SendAsync(message);
            }

            await client.DisconnectAsync(quit: true);
        }));
        return new Measured(count / clock.Elapsed.TotalSeconds, cpu.PerMail(count));
    }

    private static MimeMessage Build(int size, int index)
    {
        var message = new MimeMessage { Subject = $"bench {index}" };
        message.From.Add(MailboxAddress.Parse("bench@example.com"));
        message.To.Add(MailboxAddress.Parse("sink@example.com"));
        if (size <= 2048)
        {
            message.Body = new TextPart("plain") { Text = new string('x', size) };
            return message;
        }

        var attachment = new MimePart("application", "octet")
        {
            Content = new MimeContent(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(new string('x', size)))),
            ContentTransferEncoding = ContentEncoding.Base64,
            FileName = "data.bin",
        };
        message.Body = new Multipart("mixed") { new TextPart("plain") { Text = "attached" }, attachment };
        return message;
    }

    /// <summary>The physical limit: Postfix's C client, no MIME work, persistent connections (-d).</summary>
    private static async Task<double> SmtpSourceRateAsync(BenchOptions options, int size, int count, int connections)
    {
        var start = new ProcessStartInfo("smtp-source") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-d", "-s", connections.ToString(CultureInfo.InvariantCulture), "-m", count.ToString(CultureInfo.InvariantCulture), "-l", size.ToString(CultureInfo.InvariantCulture), "-f", "bench@example.com", "-t", "sink@example.com", $"{options.SinkHost}:{options.SinkPort}" })
        {
            start.ArgumentList.Add(arg);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"smtp-source failed: {await error}");
        }

        return count / clock.Elapsed.TotalSeconds;
    }
}
