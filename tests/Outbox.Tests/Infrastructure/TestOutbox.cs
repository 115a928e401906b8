using System.Data.Common;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Outbox.Core.Dispatch;
using Outbox.Core.Sending;
using Outbox.Storage;

namespace Outbox.Tests.Infrastructure;

/// <summary>An installed outbox on a real database (a fresh PostgreSQL database or SQLite file), and ways to work it.</summary>
public sealed class TestOutbox : IAsyncDisposable
{
    private readonly string? _sqliteFile;

    private TestOutbox(string provider, string connectionString, string? sqliteFile)
    {
        Provider = provider;
        ConnectionString = connectionString;
        _sqliteFile = sqliteFile;
        Database = OutboxDatabase.Create(new DatabaseOptions { Provider = provider, ConnectionString = connectionString });
    }

    public string Provider { get; }

    public string ConnectionString { get; }

    public OutboxDatabase Database { get; }

    /// <summary>Table names as the dialect qualifies them (outbox.outbox_message on PostgreSQL).</summary>
    public string T(string table) => Database.Dialect.Table(table);

    public static async Task<TestOutbox> PostgresAsync(PostgresServer server) =>
        new("postgresql", await server.CreateDatabaseAsync(), null);

    public static async Task<TestOutbox> SqliteAsync()
    {
        var file = Path.Combine(Path.GetTempPath(), $"outbox-test-{Guid.NewGuid():N}.db");
        var outbox = new TestOutbox("sqlite", $"Data Source={file}", file);
        await new SchemaInstaller(outbox.Database).InstallAsync(CancellationToken.None);
        return outbox;
    }

    /// <summary>An outbox in a database the test manages itself (nothing is deleted on dispose).</summary>
    public static TestOutbox Existing(string provider, string connectionString) => new(provider, connectionString, null);

    public static SmtpOptions SmtpFor(TestSmtpServer server, Action<SmtpOptions>? change = null)
    {
        var options = new SmtpOptions
        {
            Host = "localhost",
            Port = server.Port,
            Security = SmtpSecurity.StartTls,
            UserName = TestSmtpServer.User,
            Password = TestSmtpServer.Password,
            CaFile = TestCertificates.CaFile,
            Timeout = TimeSpan.FromSeconds(15),
        };
        change?.Invoke(options);
        return options;
    }

    public static DispatchOptions FastRetries(Action<DispatchOptions>? change = null)
    {
        var options = new DispatchOptions
        {
            BatchSize = 10,
            LeaseDuration = TimeSpan.FromMinutes(5),
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
            RetryMaxDelay = TimeSpan.FromMilliseconds(1),
            MaxAttempts = 3,
        };
        change?.Invoke(options);
        return options;
    }

    public Dispatcher Dispatcher(IMailTransport transport, DispatchOptions? options = null, string worker = "test-worker") =>
        new(new OutboxStore(Database, worker), transport, options ?? FastRetries(), TimeProvider.System, NullLogger<Dispatcher>.Instance);

    public Dispatcher SmtpDispatcher(SmtpOptions smtp, DispatchOptions? options = null, string worker = "test-worker") =>
        Dispatcher(new SmtpTransport(smtp, NullLogger<SmtpTransport>.Instance), options, worker);

    public async Task<DbConnection> OpenAsync() => await Database.DataSource.OpenConnectionAsync();

    /// <summary>Enqueues one mail through OutboxClient on a connection of its own (committed at once).</summary>
    public async Task<long> EnqueueAsync(Core.Messages.MailRequest request)
    {
        await using var connection = await OpenAsync();
        return await OutboxClient.For(connection).EnqueueAsync(connection, null, request, TestContext.Current.CancellationToken);
    }

    public async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await OpenAsync();
        return (await connection.ExecuteScalarAsync<T>(sql, parameters))!;
    }

    public async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await OpenAsync();
        return (await connection.QueryAsync<T>(sql, parameters)).ToList();
    }

    public async Task ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = await OpenAsync();
        await connection.ExecuteAsync(sql, parameters);
    }

    /// <summary>
    /// A new PostgreSQL login granted <paramref name="role"/> and let into this database's outbox
    /// with the schema grants the README gives for that role (roles are the cluster's, the schemas
    /// this database's). Returns the login's name.
    /// </summary>
    public async Task<string> LoginAsync(string role, string prefix = "login")
    {
        var login = $"{prefix}_{Guid.NewGuid():N}"[..20];
        var schemas = role switch
        {
            "outbox_sender" => "outbox_mail",
            "outbox_worker" => "outbox, outbox_mail",
            "outbox_reader" => "outbox",
            _ => throw new ArgumentOutOfRangeException(nameof(role), role, "not an outbox role"),
        };
        await ExecuteAsync($"create role {login} login; grant {role} to {login}; grant usage on schema {schemas} to {login}");
        return login;
    }

    /// <summary>This outbox's connection string, logged in as <paramref name="login"/>, unpooled.</summary>
    public string As(string login) =>
        new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString) { Username = login, Pooling = false }.ConnectionString;

    public Task<string> StatusOfAsync(long id) => ScalarAsync<string>($"select status from {T("outbox_message")} where id = @id", new { id });

    /// <summary>Asserts a mail's status, showing its last error when it differs.</summary>
    public async Task AssertStatusAsync(long id, string expected)
    {
        var row = (await QueryAsync<(string Status, string? LastError)>(
            $"select status, last_error from {T("outbox_message")} where id = @id", new { id })).Single();
        Assert.True(row.Status == expected, $"mail {id} is {row.Status}, expected {expected}; last error: {row.LastError}");
    }

    /// <summary>Makes a mail waiting for a retry due now (tests do not wait out backoff).</summary>
    public Task MakeDueAsync(long id) =>
        ExecuteAsync($"update {T("outbox_message")} set due_at = {Database.Dialect.NowPlusSeconds("-1")} where id = @id", new { id });

    public async ValueTask DisposeAsync()
    {
        await Database.DisposeAsync();
        if (_sqliteFile is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in new[] { _sqliteFile, _sqliteFile + "-wal", _sqliteFile + "-shm" })
            {
                File.Delete(file);
            }
        }
    }
}
