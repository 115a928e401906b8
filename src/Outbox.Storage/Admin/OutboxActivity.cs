using Dapper;

namespace Outbox.Storage.Admin;

/// <summary>
/// What the dashboard's overview reads besides the queue: sent and failed per hour, and each
/// account's last error and rate-limit use, from the attempt log and the rate slots. Every query
/// reads one day at most, through the attempt log's index by time.
/// </summary>
public sealed class OutboxActivity(OutboxDatabase database)
{
    private const int Day = 24 * 3600;

    /// <summary>Sent and failed attempts per hour of the last day, oldest first; hours without any are left out.</summary>
    public async Task<IReadOnlyList<HourlyCount>> HourlyAsync(CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        var d = database.Dialect;
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // The hour is the first 13 characters of the ISO time ("2026-12-01T22"): the same in every database.
        var rows = await connection.QueryAsync<HourlyCount>(new CommandDefinition(d.Sql(
            $"""
            select hour as Hour, sum(case when outcome = 'sent' then 1 else 0 end) as Sent, sum(case when outcome = 'failed' then 1 else 0 end) as Failed
              from (select substr({d.AsIsoText("attempted_at")}, 1, 13) as hour, outcome
                      from {d.Table("outbox_attempt")}
                     where attempted_at >= {d.NowPlusSeconds("@From")} and outcome in ('sent', 'failed')) a
             group by hour
             order by hour
            """), new { From = -Day }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.ToList();
    }

    /// <summary>The account's last failed and last sent attempt of the last day, how much of each of its rate limits is taken now, and its sessions open in every worker.</summary>
    public async Task<AccountActivity> AccountAsync(string account, IReadOnlyList<Core.Sending.Accounts.RateLimit> rateLimits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(rateLimits);
        var d = database.Dialect;
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var last = await connection.QueryFirstOrDefaultAsync<(string At, string? Error, string? Reply)>(new CommandDefinition(d.Sql(
            $"""
            select {d.AsIsoText("attempted_at")}, error, smtp_reply
              from {d.Table("outbox_attempt")}
             where attempted_at >= {d.NowPlusSeconds("@From")} and account = @Account and outcome in ('retry', 'failed', 'unconfirmed')
             order by attempted_at desc {d.Limit("1")}
            """), new { From = -Day, Account = account }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var sent = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(d.Sql(
            $"select {d.AsIsoText("max(attempted_at)")} from {d.Table("outbox_attempt")} where attempted_at >= {d.NowPlusSeconds("@From")} and account = @Account and outcome = 'sent'"),
            new { From = -Day, Account = account }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var slots = new List<long>();
        foreach (var limit in rateLimits)
        {
            var counted = limit.CountBy == Core.Sending.Accounts.RateCount.Recipients ? "coalesce(sum(coalesce(recipients, 1)), 0)" : "count(*)";
            slots.Add((long)await connection.ExecuteScalarAsync<double>(new CommandDefinition(d.Sql(
                $"select {counted} from {d.Table("outbox_rate_slot")} where account = @Account and done_at > {d.NowPlusSeconds("@WindowStart")}"),
                new { Account = account, WindowStart = -limit.Per.TotalSeconds }, cancellationToken: cancellationToken)).ConfigureAwait(false));
        }

        var open = await connection.ExecuteScalarAsync<long>(new CommandDefinition(d.Sql(
            $"select count(*) from {d.Table("outbox_connection_slot")} where account = @Account and lease_until >= {d.Now}"),
            new { Account = account }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return new AccountActivity { Account = account, LastErrorAt = last.At, LastError = last.Error ?? last.Reply, LastSentAt = sent, SlotsInUse = slots, ConnectionsOpen = open };
    }
}
