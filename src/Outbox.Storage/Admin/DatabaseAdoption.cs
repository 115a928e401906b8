using Dapper;

namespace Outbox.Storage.Admin;

/// <summary>What `outbox adopt` did.</summary>
/// <param name="WasCopy">False when the database already was the one recorded: nothing was changed.</param>
/// <param name="Previous">The identity recorded before (null: none was).</param>
/// <param name="Current">The identity recorded now, this database's.</param>
/// <param name="Waiting">Mails that were waiting (queued, sending, unconfirmed) when it was adopted.</param>
/// <param name="Cancelled">Of those, how many were cancelled.</param>
public sealed record AdoptionOutcome(bool WasCopy, string? Previous, string Current, long Waiting, long Cancelled);

/// <summary>
/// `outbox adopt`: makes a copy of the database (a restore, a clone) the one the worker sends in,
/// by recording its identity, after the operator chose what becomes of the mails it holds: keep
/// them (a move or a restore: they are still owed) or cancel them (a clone: production sent, or
/// sends, them). Recorded in outbox_setting 'database_adopted' (when, who, what), and each
/// cancelled mail gets an action row in the attempt log saying why.
/// </summary>
public sealed class DatabaseAdoption(OutboxDatabase database, string actor)
{
    // Waiting: could still go out. A 'sending' row in a copy is a claim of production's worker
    // that no worker here holds; 'unconfirmed' waits for an operator, who would send it again.
    private const string WaitingStatuses = "'queued', 'sending', 'unconfirmed'";

    // Oracle takes at most 1000 values in an IN list (ORA-01795).
    private const int InListLimit = 1000;

    // outbox_attempt.worker holds at most 200 characters on Oracle.
    private readonly string _actor = actor.Length <= 200 ? actor : actor[..200];

    public async Task<AdoptionOutcome> AdoptAsync(bool cancelWaiting, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        var d = database.Dialect;
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var identity = await DatabaseIdentity.ReadAsync(connection, d, transaction, cancellationToken).ConfigureAwait(false);
        var waiting = (await connection.QueryAsync<long>(new CommandDefinition(
            d.Sql($"select id from {d.Table("outbox_message")} where status in ({WaitingStatuses}) order by id"),
            transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToArray();
        if (!identity.IsCopy)
        {
            return new AdoptionOutcome(false, identity.Recorded, identity.Current, waiting.Length, 0);
        }

        long cancelled = 0;
        if (cancelWaiting)
        {
            var reason = Bounded($"cancelled by outbox adopt --cancel-waiting: this database is a copy of {identity.Recorded ?? "an outbox without a recorded identity"}, whose mails are not to go out from here");
            foreach (var chunk in waiting.Chunk(InListLimit))
            {
                var values = new { Ids = chunk, Actor = _actor, Reason = reason };
                cancelled += await connection.ExecuteAsync(new CommandDefinition(d.Sql(
                    $"update {d.Table("outbox_message")} set status = 'cancelled', due_at = null, last_error = @Reason where {d.InList("id", "@Ids")} and status in ({WaitingStatuses})"),
                    values, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                await connection.ExecuteAsync(new CommandDefinition(d.Sql(
                    $"""
                    insert into {d.Table("outbox_attempt")} (message_id, attempt_no, attempted_at, worker, outcome, error)
                    select id, {OutboxAdmin.ActionAttemptNo}, {d.Now}, @Actor, 'cancelled', @Reason from {d.Table("outbox_message")} where {d.InList("id", "@Ids")}
                    """), values, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
        }

        var what = cancelWaiting ? $"cancelled the {cancelled} waiting mail(s)" : $"kept the queue ({waiting.Length} waiting mail(s))";
        var record = Bounded($"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ} by {_actor}: {what}; it was {identity.Recorded ?? "(no identity recorded)"}");
        await SetAsync(DatabaseIdentity.SettingName, identity.Current, DatabaseIdentity.SettingDescription);
        await SetAsync(DatabaseIdentity.AdoptedSettingName, record, "The last `outbox adopt`: when, by whom, what became of the waiting mails, and the identity the database had before.");
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (!cancelWaiting && waiting.Length > 0 && d.WakeWorkersStatement is { } wake)
        {
            await connection.ExecuteAsync(new CommandDefinition(wake, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        return new AdoptionOutcome(true, identity.Recorded, identity.Current, waiting.Length, cancelled);

        async Task SetAsync(string name, string value, string description)
        {
            var values = new { Name = name, Value = value, Description = description };
            var changed = await connection.ExecuteAsync(new CommandDefinition(d.Sql(
                $"update {d.Table("outbox_setting")} set value = @Value where name = @Name"), values, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (changed == 0)
            {
                await connection.ExecuteAsync(new CommandDefinition(d.Sql(
                    $"insert into {d.Table("outbox_setting")} (name, value, description) values (@Name, @Value, @Description)"), values, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
        }
    }

    // outbox_setting.value and outbox_attempt.error hold at most 4000 characters on Oracle; an
    // identity read from the database is not trusted to be short.
    private static string Bounded(string text) => text.Length <= 1000 ? text : text[..1000];
}
