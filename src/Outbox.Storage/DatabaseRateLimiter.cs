using System.Data.Common;
using Dapper;
using Outbox.Core.Sending.Accounts;

namespace Outbox.Storage;

/// <summary>
/// Rate limits kept in the outbox's database, so every worker sharing it counts the same
/// mails. A slot is a row of outbox_rate_slot whose done_at is when its send finished (or the
/// latest it can finish, while it runs); an account may take a slot while, for each of its
/// limits, fewer than Messages slots end inside the last Per. Reservations for one account are
/// serialized by a row lock on outbox_rate_account (SQLite: its single writer).
/// </summary>
public sealed class DatabaseRateLimiter(OutboxDatabase database) : IRateLimiter
{
    public async Task<RateReservation> ReserveAsync(string account, IEnumerable<RateLimit> limits, TimeSpan holdFor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (!limits.Any())
        {
            return new RateReservation(0, null);
        }

        var d = database.Dialect;
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
                // Another worker added the account's row at the same moment: lock it now.
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            TimeSpan? wait = null;
            foreach (var limit in limits)
            {
                var window = await connection.QuerySingleAsync<WindowRow>(new CommandDefinition(d.Sql($"""
                    select count(*) as Slots, {d.SecondsSince("min(done_at)")} as OldestAgeSeconds
                      from {d.Table("outbox_rate_slot")}
                     where account = @Account and done_at > {d.NowPlusSeconds("@WindowStart")}
                    """), new { Account = account, WindowStart = -limit.Per.TotalSeconds }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                if (window.Slots >= limit.Messages)
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
                insert into {d.Table("outbox_rate_slot")} (account, reserved_at, done_at)
                values (@Account, {d.Now}, {d.NowPlusSeconds("@HoldSeconds")})
                """)), new { Account = account, HoldSeconds = holdFor.TotalSeconds }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await connection.ExecuteAsync(new CommandDefinition(d.Sql($"""
                delete from {d.Table("outbox_rate_slot")}
                 where account = @Account and done_at < {d.NowPlusSeconds("@KeepFrom")}
                """), new { Account = account, KeepFrom = -limits.Max(l => l.Per).TotalSeconds }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new RateReservation(id, null);
        }
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
        public long Slots { get; init; }

        public double? OldestAgeSeconds { get; init; }
    }
}
