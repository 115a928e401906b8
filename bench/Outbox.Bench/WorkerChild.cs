using System.Diagnostics;
using System.Text.Json;

namespace Outbox.Bench;

/// <summary>The real `outbox` program as a child process, as an operator would run it.</summary>
public static class WorkerChild
{
    public static string WriteConfig(BenchOptions options, string database, object smtp, object? dispatch = null)
    {
        var path = Path.Combine(options.Work, $"{database}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            Outbox = new
            {
                Database = new { Provider = "postgresql", ConnectionString = BenchDatabase.ConnectionString(options, database) },
                Transport = "smtp",
                Smtp = smtp,
                Dispatch = dispatch ?? new { },
            },
        }));
        return path;
    }

    /// <summary>Starts `outbox ARGS`, optionally under /usr/bin/time to learn its peak memory, with extra environment variables.</summary>
    public static Process Start(string[] args, bool measureMemory = false, IReadOnlyDictionary<string, string>? environment = null)
    {
        var outbox = Path.Combine(AppContext.BaseDirectory, "outbox.dll");
        var start = measureMemory
            ? new ProcessStartInfo("/usr/bin/time") { ArgumentList = { "-f", "maxrss=%M", "dotnet", outbox } }
            : new ProcessStartInfo("dotnet") { ArgumentList = { outbox } };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        return Process.Start(start)!;
    }

    /// <param name="allowFailure">Return the output of a command that exits non-zero (a worker whose server misbehaved) instead of throwing.</param>
    public static async Task<(string Out, string Error)> RunAsync(string[] args, bool measureMemory = false, IReadOnlyDictionary<string, string>? environment = null, bool allowFailure = false)
    {
        using var process = Start(args, measureMemory, environment);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0 && !allowFailure)
        {
            throw new InvalidOperationException($"outbox {string.Join(' ', args)} failed: {await error}{await output}");
        }

        return (await output, await error);
    }
}
