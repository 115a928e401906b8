using System.Net;
using System.Net.Sockets;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// A worker that cannot start what it was configured to start (an endpoint, the database, the
/// schema) exits non-zero with one line naming the key, so systemd's Restart=on-failure applies.
/// </summary>
public sealed class WorkerStartTests(PostgresServer postgres) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-start-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Theory]
    [InlineData("HealthUrl")]
    [InlineData("PrometheusUrl")]
    public async Task An_endpoint_whose_port_is_taken_stops_the_worker_with_the_configuration_exit_code(string key)
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}/";
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" },
            Monitoring = new Dictionary<string, string> { [key] = url },
        });

        var (code, errors) = await RunWorkerAsync(config);

        Assert.Equal(Outbox.Commands.ExitCodes.Configuration, code);
        Assert.Equal([$"outbox: Outbox:Monitoring:{key}: cannot listen on {url} (Address already in use). Choose a free port, or stop what listens there"], errors);
    }

    [Fact]
    public async Task A_schema_of_an_older_version_stops_the_worker_with_the_configuration_exit_code()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("update outbox.outbox_setting set value = '1' where name = 'schema_version'");
        var config = WorkerProcess.WriteConfig(_dir.FullName, new { Database = new { Provider = "postgresql", outbox.ConnectionString } });

        var (code, errors) = await RunWorkerAsync(config);

        Assert.Equal(Outbox.Commands.ExitCodes.Configuration, code);
        var error = Assert.Single(errors);
        Assert.StartsWith($"outbox: Outbox:Database: the outbox schema is version 1, but this program needs version {Outbox.Storage.Admin.DatabaseCheck.ExpectedSchemaVersion}.", error, StringComparison.Ordinal);
    }

    // `outbox run` as systemd starts it; only the lines that are no log lines, i.e. its errors.
    private async Task<(int Code, List<string> Errors)> RunWorkerAsync(string config)
    {
        using var worker = WorkerProcess.Start(_dir.FullName, null, "run", "--config", config);
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var lines = worker.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return (worker.ExitCode, lines.Where(l => !l.Contains(" info: ", StringComparison.Ordinal)).ToList());
    }
}
