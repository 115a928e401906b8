using Dapper;
using Outbox.Storage;

namespace Outbox.Bench;

/// <summary>
/// The writing transactions a run cost the database (each statement the worker runs outside a
/// transaction is one), counted by transaction ids: PostgreSQL hands one to every transaction that
/// writes, at once, where its statistics views lag by up to seconds.
/// </summary>
public sealed class TransactionMeter
{
    private readonly OutboxDatabase _database;
    private readonly long _start;

    private TransactionMeter(OutboxDatabase database, long start) => (_database, _start) = (database, start);

    public static async Task<TransactionMeter> StartAsync(OutboxDatabase database) => new(database, await NextIdAsync(database));

    /// <summary>Writing transactions per mail since Start, the meter's own reading left out.</summary>
    public async Task<double> PerMailAsync(int mails) => (await NextIdAsync(_database) - _start - 1) / (double)mails;

    private static async Task<long> NextIdAsync(OutboxDatabase database)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>("select pg_current_xact_id()::text::bigint");
    }
}
