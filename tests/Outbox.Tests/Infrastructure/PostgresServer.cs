using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Outbox.Storage;

namespace Outbox.Tests.Infrastructure;

/// <summary>
/// A real PostgreSQL for the whole test run: the one OUTBOX_TEST_POSTGRES names (a connection
/// string to a database whose user may create databases), or a throwaway cluster started here
/// with initdb + pg_ctl in a temp folder (as the postgres user when running as root, since
/// PostgreSQL refuses root). Without PostgreSQL the tests skip, except under CI=true, where
/// they fail. Every test gets a fresh database with the shipped scripts installed.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private static readonly string[] BinDirectories = ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"];
    private string? _dataDirectory;
    private string? _pgCtl;
    private string? _adminConnectionString;
    private string? _unavailable;
    private string? _startOptions;

    public static bool OnCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public async ValueTask InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("OUTBOX_TEST_POSTGRES");
        if (!string.IsNullOrWhiteSpace(external))
        {
            _adminConnectionString = external;
            return;
        }

        var bin = BinDirectories.FirstOrDefault(dir => File.Exists(Path.Combine(dir, "initdb")));
        if (bin is null)
        {
            _unavailable = "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin and OUTBOX_TEST_POSTGRES is not set; install postgresql-15 or set OUTBOX_TEST_POSTGRES to a connection string";
            return;
        }

        _pgCtl = Path.Combine(bin, "pg_ctl");
        _dataDirectory = Path.Combine(Path.GetTempPath(), $"outbox-test-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dataDirectory);
        var port = LoopbackPort.Free();
        if (Environment.UserName == "root")
        {
            await RunAsync("chown", ["postgres:postgres", _dataDirectory]);
        }

        await RunAsPostgresAsync(Path.Combine(bin, "initdb"), ["-D", _dataDirectory, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
        _startOptions = $"-p {port} -k {_dataDirectory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200";
        await StartAsync();
        _adminConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=false";
    }

    public async ValueTask DisposeAsync()
    {
        if (_pgCtl is not null && _dataDirectory is not null)
        {
            await RunAsPostgresAsync(_pgCtl, ["-D", _dataDirectory, "-m", "immediate", "stop"]);
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    /// <summary>A cluster of the test's own, which it may stop and start (never the shared one).</summary>
    public static async Task<PostgresServer> StartPrivateAsync()
    {
        var server = new PostgresServer();
        if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OUTBOX_TEST_POSTGRES")))
        {
            Assert.Skip("this test stops and starts its own PostgreSQL cluster; it does not run against OUTBOX_TEST_POSTGRES");
        }

        await server.InitializeAsync();
        server.RequireAvailable();
        return server;
    }

    /// <summary>Stops the cluster the way a crash or restart would: connections break at once.</summary>
    public Task StopAsync() => RunAsPostgresAsync(_pgCtl!, ["-D", _dataDirectory!, "-m", "fast", "-w", "stop"]);

    public Task StartAsync() =>
        RunAsPostgresAsync(_pgCtl!, ["-D", _dataDirectory!, "-w", "-l", Path.Combine(_dataDirectory!, "server.log"), "-o", _startOptions!, "start"]);

    /// <summary>Skips the test (or fails it on CI) when there is no PostgreSQL.</summary>
    public void RequireAvailable()
    {
        if (_unavailable is null)
        {
            return;
        }

        if (OnCi)
        {
            Assert.Fail($"CI=true but PostgreSQL is unavailable: {_unavailable}");
        }

        Assert.Skip(_unavailable);
    }

    /// <summary>A new, empty database with the outbox installed by the shipped scripts; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(bool install = true)
    {
        RequireAvailable();
        var name = $"outbox_{Guid.NewGuid():N}";
        await using (var admin = new NpgsqlConnection(_adminConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"create database {name}", admin);
            await create.ExecuteNonQueryAsync();
        }

        var connectionString = new NpgsqlConnectionStringBuilder(_adminConnectionString) { Database = name, Pooling = true }.ConnectionString;
        if (install)
        {
            await using var database = OutboxDatabase.Create(new DatabaseOptions { Provider = "postgresql", ConnectionString = connectionString });
            await new SchemaInstaller(database).InstallAsync(CancellationToken.None);
        }

        return connectionString;
    }


    private static Task RunAsPostgresAsync(string program, string[] arguments) =>
        Environment.UserName == "root"
            ? RunAsync("runuser", ["-u", "postgres", "--", program, .. arguments])
            : RunAsync(program, arguments);

    private static async Task RunAsync(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}{await output}");
        }
    }
}
