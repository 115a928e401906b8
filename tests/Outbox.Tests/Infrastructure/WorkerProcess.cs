using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Outbox.Tests.Infrastructure;

/// <summary>The real `outbox` program in a child process, with its output collected.</summary>
public sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private WorkerProcess(Process process, bool collect)
    {
        _process = process;
        if (!collect)
        {
            return;
        }

        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The child's process id, e.g. to read its memory from /proc.</summary>
    public int Id => _process.Id;

    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts `outbox ARGS`; environment entries are added to the child's environment.</summary>
    public static WorkerProcess Start(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        Start(workingDirectory, environment, redirectSeparately: false, args);

    private static WorkerProcess Start(string workingDirectory, IReadOnlyDictionary<string, string>? environment, bool redirectSeparately, string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "outbox.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        return new WorkerProcess(Process.Start(start)!, collect: !redirectSeparately);
    }

    /// <summary>Runs `outbox ARGS` to its end; stdout and stderr apart, as a script sees them.</summary>
    public static async Task<(int Code, string Out, string Error)> RunToEndAsync(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var worker = Start(workingDirectory, environment, redirectSeparately: true, args);
        var output = worker._process.StandardOutput.ReadToEndAsync();
        var error = worker._process.StandardError.ReadToEndAsync();
        await worker._process.WaitForExitAsync();
        return (worker._process.ExitCode, await output, await error);
    }

    /// <summary>Writes a configuration file from an anonymous object (the "Outbox" section) and returns its path.</summary>
    public static string WriteConfig(string directory, object outbox)
    {
        var path = Path.Combine(directory, $"outbox-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new { Outbox = outbox }));
        return path;
    }

    /// <summary>kill -9: no chance to release anything.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>SIGTERM: what systemd sends on stop.</summary>
    public Task TerminateAsync() => SignalAsync("-TERM");

    /// <summary>kill -STOP: the process stands still (a GC pause, a VM migration) until <see cref="ResumeAsync"/>.</summary>
    public Task PauseAsync() => SignalAsync("-STOP");

    /// <summary>kill -CONT.</summary>
    public Task ResumeAsync() => SignalAsync("-CONT");

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync().WaitAsync(timeout);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
