using System.Net;
using System.Net.Sockets;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Dashboard;

/// <summary>The dashboard as the real program serves it: in the worker (Outbox:Dashboard:Url) and as `outbox dashboard`.</summary>
public sealed class DashboardStartTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-dashboard-");

    public void Dispose() => _dir.Delete(recursive: true);

    private object Database => new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" };

    [Fact]
    public async Task A_dashboard_port_that_is_taken_stops_the_worker_with_the_configuration_exit_code()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}/";
        var config = WorkerProcess.WriteConfig(_dir.FullName, new { Database, Dashboard = new { Url = url } });

        using var worker = WorkerProcess.Start(_dir.FullName, null, "run", "--config", config);
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var errors = worker.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => !l.Contains(" info: ", StringComparison.Ordinal)).ToList();

        Assert.Equal(Outbox.Commands.ExitCodes.Configuration, worker.ExitCode);
        Assert.Equal([$"outbox: Outbox:Dashboard:Url: cannot listen on {url} (Address already in use). Choose a free port, or stop what listens there"], errors);
    }

    [Fact]
    public async Task A_dashboard_beyond_loopback_without_a_login_is_refused_at_start_in_one_line()
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new { Database, Dashboard = new { Url = "http://0.0.0.0:9466/" } });

        var (code, output, error) = await WorkerProcess.RunToEndAsync(_dir.FullName, null, "dashboard", "--config", config);

        Assert.Equal(Outbox.Commands.ExitCodes.Configuration, code);
        Assert.Empty(output);
        Assert.Equal(
            "outbox: invalid configuration:\noutbox: Outbox:Dashboard:UserName: is required, as the dashboard would listen on 0.0.0.0, beyond this host; set UserName and PasswordFile, or listen on 127.0.0.1.",
            error.Trim().ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task The_readme_configuration_of_the_dashboard_is_valid()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Outbox.sln")))
        {
            root = root.Parent!;
        }

        var readme = await File.ReadAllTextAsync(Path.Combine(root.FullName, "README.md"), TestContext.Current.CancellationToken);
        var block = System.Text.RegularExpressions.Regex.Match(readme[readme.IndexOf("## Dashboard", StringComparison.Ordinal)..], "```json\n(.*?)```", System.Text.RegularExpressions.RegexOptions.Singleline);
        var config = Path.Combine(_dir.FullName, "readme.json");
        await File.WriteAllTextAsync(config, block.Groups[1].Value, TestContext.Current.CancellationToken);

        var (code, output) = await Cli.RunAsync("config", "--config", config);

        Assert.Equal(0, code);
        Assert.Matches(@"Outbox:Dashboard:Url +http://127.0.0.1:9466/", output);
        Assert.Matches(@"Outbox:Dashboard:AllowActions +True", output);
    }

    [Fact]
    public async Task The_worker_serves_the_dashboard_while_it_runs()
    {
        var url = $"http://127.0.0.1:{LoopbackPort.Free()}/";
        var config = WorkerProcess.WriteConfig(_dir.FullName, new { Database, Dashboard = new { Url = url } });
        using var worker = WorkerProcess.Start(_dir.FullName, null, "run", "--config", config);
        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(5) };

        string? page = null;
        for (var tries = 0; page is null && tries < 100 && !worker.HasExited; tries++)
        {
            try
            {
                page = await client.GetStringAsync("/", TestContext.Current.CancellationToken);
            }
            catch (HttpRequestException)
            {
                await Task.Delay(200, TestContext.Current.CancellationToken);
            }
        }

        await worker.TerminateAsync();
        Assert.True(page is not null, worker.Output);
        Assert.Contains("<h1>Overview</h1>", page, StringComparison.Ordinal);
        Assert.Contains("read-only", page, StringComparison.Ordinal);
    }
}
