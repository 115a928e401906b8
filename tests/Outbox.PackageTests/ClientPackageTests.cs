using System.Data.Common;
using Microsoft.Data.Sqlite;
using Outbox.Core.Messages;
using Outbox.Core.Validation;
using Outbox.Storage;
using Xunit;

namespace Outbox.PackageTests;

/// <summary>An application that references only the Outbox.Storage package enqueues on a SQLite file.</summary>
public sealed class ClientPackageTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("outbox-package-test-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string ConnectionString => $"Data Source={Path.Combine(_directory, "app.db")};Pooling=False";

    public async ValueTask InitializeAsync()
    {
        // What the package's README gives for SQLite: the shipped scripts, from the package.
        await using var database = OutboxDatabase.Create(new DatabaseOptions { Provider = "sqlite", ConnectionString = ConnectionString });
        await new SchemaInstaller(database).InstallAsync(Ct);
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_mail_enqueued_in_a_committed_transaction_is_queued_with_its_recipient()
    {
        await using var connection = await OpenAsync();
        long id;
        await using (var tx = await connection.BeginTransactionAsync(Ct))
        {
            await ExecuteAsync(connection, tx, "create table orders (id integer primary key, total real)");
            await ExecuteAsync(connection, tx, "insert into orders (total) values (42)");
            id = await OutboxClient.For(connection).EnqueueAsync(connection, tx, Mail("Order 42"), Ct);
            await tx.CommitAsync(Ct);
        }

        Assert.Equal(
            ["Order 42|queued|shop@example.com"],
            await QueryAsync(connection, $"select subject || '|' || status || '|' || sender from outbox_message where id = {id}"));
        Assert.Equal(["customer@example.com"], await QueryAsync(connection, $"select address from outbox_recipient where message_id = {id}"));
    }

    [Fact]
    public async Task A_rolled_back_transaction_leaves_no_mail_and_no_recipient()
    {
        await using var connection = await OpenAsync();
        await using (var tx = await connection.BeginTransactionAsync(Ct))
        {
            await OutboxClient.For(connection).EnqueueAsync(connection, tx, Mail("never"), Ct);
            await tx.RollbackAsync(Ct);
        }

        Assert.Equal(["0"], await QueryAsync(connection, "select count(*) from outbox_message"));
        Assert.Equal(["0"], await QueryAsync(connection, "select count(*) from outbox_recipient"));
    }

    [Fact]
    public async Task Bad_input_is_refused_naming_the_field()
    {
        await using var connection = await OpenAsync();
        var error = await Assert.ThrowsAsync<MailValidationException>(() =>
            OutboxClient.For(connection).EnqueueAsync(connection, null, Mail("bad", to: "user@"), Ct));
        Assert.Equal("to", error.Field);
    }

    private static MailRequest Mail(string subject, string to = "customer@example.com") => new()
    {
        Sender = "shop@example.com",
        To = [to],
        Subject = subject,
        TextBody = "Thanks!",
    };

    private async Task<SqliteConnection> OpenAsync()
    {
        var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync(Ct);
        return connection;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction tx, string sql)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(Ct);
    }

    private static async Task<List<string>> QueryAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var rows = new List<string>();
        while (await reader.ReadAsync(Ct))
        {
            rows.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        }

        return rows;
    }
}
