using Outbox.Core.Sending;

namespace Outbox.Bench;

/// <summary>What keeping the connection buys: STARTTLS + AUTH once, against a handshake per message.</summary>
public static class ReuseScenario
{
    public static async Task RunAsync(BenchOptions options, Report report)
    {
        Console.WriteLine("connection reuse ...");
        await using var database = await BenchDatabase.CreateAsync(options, "bench_reuse");
        await using var receiver = new Receiver(tls: true, options.Work);
        var count = options.Quick ? 100 : 400;
        SmtpOptions Smtp(int perConnection) => new()
        {
            Host = "localhost",
            Port = receiver.Port,
            Security = SmtpSecurity.StartTls,
            UserName = Receiver.User,
            Password = Receiver.Password,
            CaFile = receiver.CaFile,
            MessagesPerConnection = perConnection,
        };

        // Warm-up, not measured: JIT compilation and the first TLS handshakes.
        await DispatchScenario.OutboxRateAsync(options, database, 1024, 50, 1, Smtp(1));

        var reused = new List<double>();
        var fresh = new List<double>();
        for (var run = 0; run < options.Runs; run++)
        {
            reused.Add((await DispatchScenario.OutboxRateAsync(options, database, 1024, count, 1, Smtp(0))).Rate);
            fresh.Add((await DispatchScenario.OutboxRateAsync(options, database, 1024, count, 1, Smtp(1))).Rate);
        }

        report.Add("connection reuse", "1 KB, STARTTLS + AUTH, one connection for all", reused, "msg/s", $"{Report.Median(reused) / Report.Median(fresh):0.0}× a connection per message");
        report.Add("connection reuse", "1 KB, STARTTLS + AUTH, a connection per message", fresh, "msg/s");
    }
}
