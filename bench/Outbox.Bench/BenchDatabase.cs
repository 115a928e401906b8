using Dapper;
using Npgsql;
using Outbox.Storage;

namespace Outbox.Bench;

/// <summary>A fresh database in the benchmark's cluster with the outbox installed by the shipped scripts.</summary>
public static class BenchDatabase
{
    public static async Task<OutboxDatabase> CreateAsync(BenchOptions options, string name)
    {
        await using (var admin = new NpgsqlConnection(options.Postgres))
        {
            await admin.OpenAsync();
            await admin.ExecuteAsync($"drop database if exists {name} with (force)");
            await admin.ExecuteAsync($"create database {name}");
        }

        var connectionString = new NpgsqlConnectionStringBuilder(options.Postgres) { Database = name, CommandTimeout = 600 }.ConnectionString;
        var database = OutboxDatabase.Create(new DatabaseOptions { Provider = "postgresql", ConnectionString = connectionString });
        await new SchemaInstaller(database).InstallAsync(CancellationToken.None);
        return database;
    }

    public static string ConnectionString(BenchOptions options, string name) =>
        new NpgsqlConnectionStringBuilder(options.Postgres) { Database = name }.ConnectionString;

    public static async Task ExecuteAsync(OutboxDatabase database, string sql, object? parameters = null)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(new CommandDefinition(sql, parameters, commandTimeout: 600, commandType: System.Data.CommandType.Text));
    }

    /// <summary>Queues count mails of about size bytes: a text body for small ones, an attachment for large.</summary>
    public static Task EnqueueAsync(OutboxDatabase database, int count, int size) =>
        ExecuteAsync(database, size <= 2048
            ? "select outbox_mail.send('bench@example.com', 'sink@example.com', subject => 'bench ' || g, message => repeat('x', @size)) from generate_series(1, @count) g"
            : "select outbox_mail.send_attach_raw('bench@example.com', 'sink@example.com', subject => 'bench ' || g, message => 'attached', attachment => convert_to(repeat('x', @size), 'UTF8'), att_filename => 'data.bin') from generate_series(1, @count) g",
            new { count, size });
}
