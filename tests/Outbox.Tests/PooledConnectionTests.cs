using Dapper;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// The worker's PostgreSQL connections go back to the pool without a reset: the mark before each
/// mail opens one, and a reset (RESET ALL, CLOSE ALL, UNLISTEN, …) on every return cost PostgreSQL
/// more than the mark. A connection string that sets No Reset On Close keeps its choice.
/// </summary>
public sealed class PooledConnectionTests(PostgresServer postgres)
{
    [Fact]
    public async Task A_pooled_connection_keeps_its_session_when_it_returns_to_the_pool()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);

        var (same, workMem) = await SessionAfterReturnAsync(outbox.Database);

        Assert.True(same, "the second open did not get the pooled connection back");
        Assert.Equal("7MB", workMem);
    }

    [Theory]
    [InlineData("No Reset On Close=false")]
    [InlineData("NoResetOnClose=false")]
    public async Task A_connection_string_that_asks_for_the_reset_gets_it(string setting)
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var database = OutboxDatabase.Create(new DatabaseOptions { Provider = "postgresql", ConnectionString = $"{outbox.ConnectionString};{setting}" });

        var (same, workMem) = await SessionAfterReturnAsync(database);

        Assert.True(same, "the second open did not get the pooled connection back");
        Assert.NotEqual("7MB", workMem);
    }

    // Sets a session setting, returns the connection to the pool, opens again: the same backend,
    // and what the setting is now.
    private static async Task<(bool Same, string WorkMem)> SessionAfterReturnAsync(OutboxDatabase database)
    {
        int pid;
        await using (var connection = await database.DataSource.OpenConnectionAsync(TestContext.Current.CancellationToken))
        {
            pid = await connection.ExecuteScalarAsync<int>("select pg_backend_pid()");
            await connection.ExecuteAsync("set work_mem = '7MB'");
        }

        await using var again = await database.DataSource.OpenConnectionAsync(TestContext.Current.CancellationToken);
        return (await again.ExecuteScalarAsync<int>("select pg_backend_pid()") == pid, await again.ExecuteScalarAsync<string>("show work_mem") ?? "");
    }

    [Fact]
    public async Task The_new_mail_listener_stops_listening_before_its_connection_goes_back_to_the_pool()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        using var stop = new CancellationTokenSource();
        var listening = new TaskCompletionSource();
        var listener = outbox.Database.Dialect.ListenForNewMailAsync(outbox.Database.DataSource, _ =>
        {
            listening.TrySetResult();
            return Task.CompletedTask;
        }, stop.Token);
        await listening.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => listener);

        await using var next = await outbox.Database.DataSource.OpenConnectionAsync(TestContext.Current.CancellationToken);
        Assert.Empty(await next.QueryAsync<string>("select pg_listening_channels()"));
    }

    [Fact]
    public async Task Check_db_runs_on_one_connection_so_a_pool_of_one_suffices()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        // The dashboard's pool can be this small (Outbox:Dashboard:DatabaseConnections 1).
        await using var database = OutboxDatabase.Create(new DatabaseOptions { Provider = "postgresql", ConnectionString = $"{outbox.ConnectionString};Maximum Pool Size=1;Timeout=3" });

        var (steps, usable, _) = await new Outbox.Storage.Admin.DatabaseCheck(database).RunAsync(TestContext.Current.CancellationToken);

        Assert.True(usable, string.Join("; ", steps.Where(s => !s.Ok).Select(s => $"{s.Step}: {s.Detail}")));
    }

    [Fact]
    public async Task After_a_database_restart_forgetting_the_idle_connections_lets_the_next_statement_succeed()
    {
        await using var cluster = await PostgresServer.StartPrivateAsync();
        await using var database = OutboxDatabase.Create(new DatabaseOptions { Provider = "postgresql", ConnectionString = await cluster.CreateDatabaseAsync() });
        // Three idle connections in the pool, as the worker's lanes leave them.
        var open = new List<System.Data.Common.DbConnection>();
        for (var i = 0; i < 3; i++)
        {
            open.Add(await database.DataSource.OpenConnectionAsync(TestContext.Current.CancellationToken));
        }

        foreach (var connection in open)
        {
            await connection.DisposeAsync();
        }

        await cluster.StopAsync();
        await cluster.StartAsync();
        database.ForgetIdleConnections();

        await using var next = await database.DataSource.OpenConnectionAsync(TestContext.Current.CancellationToken);
        Assert.Equal(1, await next.ExecuteScalarAsync<int>("select 1"));
    }
}
