using System.Globalization;
using System.Security.Cryptography;

namespace Outbox.Bench;

/// <summary>
/// Peak working set of `outbox run --once` sending one mail with a 10 MB and with a 500 MB
/// attachment: as the shipped service units run the worker (a 4 MB gen0 budget, which .NET
/// takes only from the environment), and with .NET's defaults.
/// </summary>
public static class MemoryScenario
{
    /// <summary>The environment config/outbox.service and config/install-windows-service.ps1 give the worker.</summary>
    public static readonly IReadOnlyDictionary<string, string> ShippedEnvironment = new Dictionary<string, string> { ["DOTNET_GCgen0size"] = "0x400000" };

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        Console.WriteLine("memory ...");
        await using var database = await BenchDatabase.CreateAsync(options, "bench_memory");
        var config = WorkerChild.WriteConfig(options, "bench_memory",
            new { Host = options.SinkHost, Port = options.SinkPort, Security = "None", AllowInsecure = true });
        foreach (var (environment, how) in new[] { (ShippedEnvironment, "as shipped (DOTNET_GCgen0size=0x400000)"), (new Dictionary<string, string>(), ".NET defaults") })
        {
            await MeasureAsync(options, report, config, environment, how);
        }
    }

    private static async Task MeasureAsync(BenchOptions options, Report report, string config, IReadOnlyDictionary<string, string> environment, string how)
    {
        double? small = null;
        foreach (var megabytes in new[] { 10, options.Quick ? 100 : 500 })
        {
            var file = Path.Combine(options.Work, $"attachment-{megabytes}.bin");
            await WriteRandomAsync(file, megabytes * 1024L * 1024);
            var peaks = new List<double>();
            for (var run = 0; run < options.Runs; run++)
            {
                await WorkerChild.RunAsync(["send", "--config", config, "--from", "bench@example.com", "--to", "sink@example.com", "--attach", file]);
                var (output, error) = await WorkerChild.RunAsync(["run", "--once", "--config", config], measureMemory: true, environment);
                if (!output.Contains("sent 1", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"the mail was not sent: {output}{error}");
                }

                var line = error.Split('\n').Last(l => l.StartsWith("maxrss=", StringComparison.Ordinal));
                peaks.Add(long.Parse(line["maxrss=".Length..].Trim(), CultureInfo.InvariantCulture) / 1024.0);
            }

            var median = Report.Median(peaks);
            small ??= median;
            report.Add("memory", $"outbox run --once, {how}, one mail with a {megabytes} MB attachment", peaks, "MB peak RSS",
                megabytes == 10 ? "whole process, .NET runtime included" : $"{median / small.Value:0.00}× the peak at 10 MB");
            File.Delete(file);
        }
    }

    private static async Task WriteRandomAsync(string path, long length)
    {
        await using var file = File.Create(path);
        var buffer = new byte[1024 * 1024];
        for (long written = 0; written < length; written += buffer.Length)
        {
            RandomNumberGenerator.Fill(buffer);
            await file.WriteAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, length - written)));
        }
    }
}
