using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using Outbox.Core.Validation;
using Outbox.Storage.Dialects;

namespace Outbox.Storage;

/// <summary>One configured outbox database: its dialect and its single data source.</summary>
public sealed class OutboxDatabase : IAsyncDisposable
{
    internal OutboxDatabase(SqlDialect dialect, DbDataSource dataSource)
    {
        Dialect = dialect;
        DataSource = dataSource;
    }

    public SqlDialect Dialect { get; }

    public DbDataSource DataSource { get; }

    public bool IsSqlite => Dialect is SqliteDialect;

    /// <summary>
    /// Closes the pool's idle connections. After the database restarted each of them is dead and
    /// would fail the first statement it is given, one pass at a time; the next statements open
    /// new ones.
    /// </summary>
    public void ForgetIdleConnections()
    {
        if (DataSource is NpgsqlDataSource postgres)
        {
            postgres.Clear();
        }
    }

    /// <summary>The database for one use; without one, the worker's (the connection string's own pool).</summary>
    public static OutboxDatabase Create(DatabaseOptions options, ConnectionUse? use = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new MailValidationException("Outbox:Database:ConnectionString", "is empty", "Set it in the configuration file or as Outbox__Database__ConnectionString");
        }

        var dialect = DialectFor(options);
        return new OutboxDatabase(dialect, dialect.CreateDataSource(options.ConnectionString, use ?? ConnectionUse.Worker));
    }

    /// <summary>
    /// The dialect of a connection an application already has open (for OutboxClient). oracleSchema
    /// names the owner of the outbox tables when the connection's user is another one (Oracle only:
    /// the other databases keep them in a fixed place).
    /// </summary>
    public static SqlDialect DialectOf(DbConnection connection, string? oracleSchema = null) => connection switch
    {
        // By name: the Oracle driver is the application's, not a reference of this assembly.
        _ when connection?.GetType().FullName == "Oracle.ManagedDataAccess.Client.OracleConnection" => new OracleDialect(oracleSchema),
        _ when oracleSchema is not null => throw new MailValidationException("schema", "applies to Oracle connections only",
            "Leave it out: on PostgreSQL the tables are always in schema outbox, and a SQLite file has no schemas"),
        NpgsqlConnection => new PostgreSqlDialect(),
        SqliteConnection => new SqliteDialect(),
        _ => throw new NotSupportedException($"OutboxClient does not know {connection?.GetType().FullName}; it supports Npgsql, Microsoft.Data.Sqlite and Oracle.ManagedDataAccess connections"),
    };

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();

    private static SqlDialect DialectFor(DatabaseOptions options) => options.Provider?.Trim().ToLowerInvariant() switch
    {
        "sqlite" => new SqliteDialect(),
        "postgresql" or "postgres" or "npgsql" => new PostgreSqlDialect(),
        "oracle" => new OracleDialect(string.IsNullOrWhiteSpace(options.Schema) ? null : options.Schema.Trim()),
        _ => throw new MailValidationException("Outbox:Database:Provider", $"\"{options.Provider}\" is not a supported database", "Use sqlite, postgresql or oracle"),
    };
}
