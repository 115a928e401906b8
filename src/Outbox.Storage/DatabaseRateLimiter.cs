using System.Data.Common;
using Dapper;
using Outbox.Core.Sending.Accounts;

namespace Outbox.Storage;

/// <summary>
/// Rate and connection limits kept in the outbox's database, so every worker sharing it counts
/// the same mails and sessions. A rate slot is a row of outbox_rate_slot whose done_at is when
/// its send finished (or the latest it can finish, while it runs); an account may take a slot
/// while, for each of its limits, the slots (or their recipients) ending inside the last Per
/// leave room for this mail. A connection slot is a row of outbox_connection_slot held by one
/// session of this worker until it closes or its lease runs out. Reservations for one account are
/// serialized by a row lock on outbox_rate_account (SQLite: its single writer).
/// </summary>
/// <param name="worker">This worker's name, recorded with its connection slots.</param>
public sealed class DatabaseRateLimiter(OutboxDatabase database, string worker) : IRateLimiter
{
    public async Task<RateReservation> ReserveAsync(string account, IEnumerable<RateLimit> limits, int recipients, TimeSpan holdFor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (!limits.Any())
        {
            return new RateReservation(0, null);
        }

        var d = database.Dialect;
        return await WithAccountLockedAsync(account, async (connection, transaction) =>
        {
            TimeSpan? wait = null;
            foreach (var limit in limits)
            {
                // A slot of a release before recipients were recorded counts one.
                var counted = limit.CountBy == RateCount.Recipients ? "coalesce(sum(coalesce(recipients, 1)), 0)" : "count(*)";
                var window = await connection.QuerySingleAsync<WindowRow>(new CommandDefinition(d.Sql($"""
                    select {counted} as Used, {d.SecondsSince("min(done_at)")} as OldestAgeSeconds
                      from {d.Table("outbox_rate_slot")}
                     where account = @Account and done_at > {d.NowPlusSeconds("@WindowStart")}
                    """), new { Account = account, WindowStart = -limit.Per.TotalSeconds }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                var taking = limit.CountBy == RateCount.Recipients ? recipients : 1;
                // A mail to more recipients than the limit allows at all goes alone, into an empty window.
                if (window.Used > 0 && window.Used + taking > limit.Messages)
                {
                    // The oldest slot in the window leaves it Per after it ended.
                    var frees = limit.Per - TimeSpan.FromSeconds(window.OldestAgeSeconds ?? 0);
                    frees = frees < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : frees;
                    wait = wait is null || frees > wait ? frees : wait;
                }
            }

            if (wait is not null)
            {
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return new RateReservation(0, wait);
            }

            var id = await connection.QuerySingleAsync<long>(new CommandDefinition(d.Sql(d.InsertReturningId($"""
                insert into {d.Table("outbox_rate_slot")} (account, reserved_at, done_at, recipients)
                values (@Account, {d.Now}, {d.NowPlusSeconds("@HoldSeconds")}, @Recipients)
                """)), new { Account = account, HoldSeconds = holdFor.TotalSeconds, Recipients = recipients }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await connection.ExecuteAsync(new CommandDefinition(d.Sql($"""
                delete from {d.Table("outbox_rate_slot")}
                 where account = @Account and done_at < {d.NowPlusSeconds("@KeepFrom")}
                """), new { Account = account, KeepFrom = -limits.Max(l => l.Per).TotalSeconds }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new RateReservation(id, null);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task ReleaseAsync(RateReservation reservation, bool used, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        var d = database.Dialect;
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(d.Sql(used
            ? $"update {d.Table("outbox_rate_slot")} set done_at = {d.Now} where id = @Id"
            : $"delete from {d.Table("outbox_rate_slot")} where id = @Id"), new { Id = reservation.SlotId }, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    public async Task<long?> TakeConnectionAsync(string account, int maxConnections, TimeSpan lease, CancellationToken cancellationToken)
    {
        var d = database.Dialect;
        return await WithAccountLockedAsync(account, async (connection, transaction) =>
        {
            // A slot whose lease ran out belongs to a session that died with its worker.
            await connection.ExecuteAsync(new CommandDefinition(d.Sql($"""
                delete from {d.Table("outbox_connection_slot")}
                 where account = @Account and lease_until < {d.Now}
                """), new { Account = account }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            var held = await connection.QuerySingleAsync<long>(new CommandDefinition(d.Sql(
                $"select count(*) as Held from {d.Table("outbox_connection_slot")} where account = @Account"),
                new { Account = account }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (held >= maxConnections)
            {
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return null;
            }

            var id = await connection.QuerySingleAsync<long>(new CommandDefinition(d.Sql(d.InsertReturningId($"""
                insert into {d.Table("outbox_connection_slot")} (account, worker, taken_at, lease_until)
                values (@Account, @Worker, {d.Now}, {d.NowPlusSeconds("@LeaseSeconds")})
                """)), new { Account = account, Worker = worker, LeaseSeconds = lease.TotalSeconds }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return (long?)id;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> RenewConnectionAsync(long slot, TimeSpan lease, CancellationToken cancellationToken)
    {
        var d = database.Dialect;
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteAsync(new CommandDefinition(d.Sql(
            $"update {d.Table("outbox_connection_slot")} set lease_until = {d.NowPlusSeconds("@LeaseSeconds")} where id = @Id"),
            new { Id = slot, LeaseSeconds = lease.TotalSeconds }, cancellationToken: cancellationToken)).ConfigureAwait(false) == 1;
    }

    public async Task ReleaseConnectionAsync(long slot, CancellationToken cancellationToken)
    {
        var d = database.Dialect;
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(d.Sql($"delete from {d.Table("outbox_connection_slot")} where id = @Id"),
            new { Id = slot }, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    // Runs work in a transaction that holds the account's row lock; work commits or rolls back.
    // When another worker added the row at the same moment, the first try fails and the second
    // finds it.
    private async Task<T> WithAccountLockedAsync<T>(string account, Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await LockAsync(connection, transaction, account, cancellationToken).ConfigureAwait(false);
            }
            catch (DbException) when (attempt == 0)
            {
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            return await work(connection, transaction).ConfigureAwait(false);
        }
    }

    // An UPDATE of the account's row locks it until commit (and makes it exist the first time).
    private async Task LockAsync(DbConnection connection, DbTransaction transaction, string account, CancellationToken cancellationToken)
    {
        var d = database.Dialect;
        var locked = await connection.ExecuteAsync(new CommandDefinition(d.Sql(
            $"update {d.Table("outbox_rate_account")} set account = account where account = @Account"),
            new { Account = account }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (locked == 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(d.Sql(
                $"insert into {d.Table("outbox_rate_account")} (account) values (@Account)"),
                new { Account = account }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
    }

    private sealed class WindowRow
    {
        // A double: SQLite sums a column added by an upgrade (text affinity) as a real.
        public double Used { get; init; }

        public double? OldestAgeSeconds { get; init; }
    }
}
