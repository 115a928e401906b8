using System.Data.Common;
using Dapper;
using Outbox.Core.Validation;

namespace Outbox.Storage.Admin;

/// <summary>What an operator reads and changes by hand: status, list, show, retry, cancel.</summary>
public sealed class OutboxAdmin
{
    private readonly OutboxDatabase _database;
    private readonly string _actor;

    /// <summary>The command line's admin: actions are recorded as the OS user's.</summary>
    public OutboxAdmin(OutboxDatabase database)
        : this(database, $"{Environment.UserName} (outbox cli)")
    {
    }

    /// <param name="database">The outbox.</param>
    /// <param name="actor">Who acts, as recorded in the attempt log with each retry and cancel.</param>
    public OutboxAdmin(OutboxDatabase database, string actor)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        _database = database;
        // outbox_attempt.worker holds at most 200 characters on Oracle.
        _actor = actor.Length <= 200 ? actor : actor[..200];
    }

    // Oracle takes at most 1000 values in an IN list (ORA-01795), and --batch-size allows more:
    // a batch's ids are bound in lists of this many, in the batch's one transaction.
    private const int InListLimit = 1000;

    /// <summary>attempt_no of an operator's action row: not a delivery attempt, and never one the dispatcher counts.</summary>
    public const int ActionAttemptNo = 0;

    private Dialects.SqlDialect D => _database.Dialect;

    private string Messages => D.Table("outbox_message");

    private string Recipients => D.Table("outbox_recipient");

    public async Task<QueueStatus> StatusAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await StatusAsync(connection, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The queue's state on a connection the caller holds (check db: one connection for every step).</summary>
    public async Task<QueueStatus> StatusAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var counts = (await connection.QueryAsync<(string Status, long Count)>(new CommandDefinition(
            $"select status, count(*) from {Messages} group by status order by status", cancellationToken: cancellationToken)).ConfigureAwait(false))
            .ToDictionary(c => c.Status, c => c.Count);
        // Waiting means: it could have left. A mail scheduled for later waits from its send time.
        var oldest = await connection.ExecuteScalarAsync<double?>(new CommandDefinition(D.Sql(
            $"""
            select {D.SecondsSince("min(case when send_after > queued_at then send_after else queued_at end)")}
              from {Messages} where status in ('queued', 'sending') and (send_after is null or send_after <= {D.Now})
            """), cancellationToken: cancellationToken)).ConfigureAwait(false);
        var next = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(D.Sql(
            $"select {D.AsIsoText("min(due_at)")} from {Messages} where status = 'queued' and due_at > {D.Now}"), cancellationToken: cancellationToken)).ConfigureAwait(false);
        // Written as an OR so that PostgreSQL reads queued rows through the due index and the
        // others through the index of finished rows, instead of the whole table.
        var errors = await connection.QueryAsync<RecentError>(new CommandDefinition(D.Sql(
            $"""
            select id, status, {D.AsIsoText("last_attempt_at")} as LastAttemptAt, last_error as LastError
              from {Messages} where last_error is not null and (status = 'queued' or status in ('unconfirmed', 'failed'))
             order by last_attempt_at desc {D.Limit("5")}
            """), cancellationToken: cancellationToken)).ConfigureAwait(false);
        return new QueueStatus { Counts = counts, OldestQueuedSeconds = oldest, NextDueAt = next, RecentErrors = errors.ToList() };
    }

    /// <summary>The workers' rows (outbox_worker), running ones first, then by name.</summary>
    public async Task<IReadOnlyList<WorkerRow>> WorkersAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return (await connection.QueryAsync<WorkerRow>(new CommandDefinition(D.Sql(
            $"""
            select name, host, pid, version, poll_seconds as PollSeconds, {D.AsIsoText("started_at")} as StartedAt,
                   {D.AsIsoText("last_seen_at")} as LastSeenAt, {D.AsIsoText("last_pass_at")} as LastPassAt, last_result as LastResult,
                   paused, {D.AsIsoText("stopped_at")} as StoppedAt, {D.SecondsSince("last_seen_at")} as SecondsSinceSeen
              from {D.Table("outbox_worker")}
            """), cancellationToken: cancellationToken)).ConfigureAwait(false))
            .OrderBy(w => w.State == "running" ? 0 : 1).ThenBy(w => w.Name, StringComparer.Ordinal).ToList();
    }

    // A template mail by the subject the worker rendered and sent it with; its Liquid subject
    // until it is sent (it has none other before).
    private const string SubjectShown = "coalesce(rendered_subject, subject)";

    public async Task<IReadOnlyList<MessageSummary>> ListAsync(MailFilter filter, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var (where, parameters) = Where(filter);
        parameters.Add("Limit", limit);
        var rows = await connection.QueryAsync<MessageSummary>(new CommandDefinition(D.Sql(
            $"""
            select id, status, kind, sender, {SubjectShown} as subject, {D.AsIsoText("created_at")} as CreatedAt, attempt_count as AttemptCount,
                   smtp_code as SmtpCode, last_error as LastError,
                   (select min(r.address) from {Recipients} r where r.message_id = m.id) as FirstRecipient,
                   (select count(*) from {Recipients} r where r.message_id = m.id) as RecipientCount,
                   case when m.status = 'queued' then {D.AsIsoText("m.due_at")} end as DueAt
              from {Messages} m
             {where}
             order by id desc {D.Limit("@Limit")}
            """),
            parameters, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.Select(r => r with { Subject = RawSubject.Readable(r.Kind, r.Subject) }).ToList();
    }

    /// <summary>How many mails the filter matches now (its BeforeId ignored): what "retry every mail of this filter" would take.</summary>
    public async Task<long> CountAsync(MailFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var (where, parameters) = Where(filter with { BeforeId = null });
        return (await QueryAsync<long>(D.Sql($"select count(*) from {Messages} m {where}"), parameters, cancellationToken).ConfigureAwait(false)).Single();
    }

    // The WHERE clause of a filter over outbox_message m, with its values. Only the criteria given
    // are in the statement: PostgreSQL cannot type a parameter that is only ever compared with null.
    private (string Where, DynamicParameters Parameters) Where(MailFilter filter)
    {
        var where = new List<string>();
        var parameters = new DynamicParameters();
        void Add(string name, object? value, string condition)
        {
            if (value is not null)
            {
                where.Add(condition);
                parameters.Add(name, value);
            }
        }

        Add("Status", filter.Status, "m.status = @Status");
        Add("Since", filter.Since is { } since ? D.TimestampParameter(since) : null, "m.created_at >= @Since");
        Add("Until", filter.Until is { } until ? D.TimestampParameter(until) : null, "m.created_at < @Until");
        Add("Subject", MailFilter.Contains(filter.Subject), $"lower({SubjectShown}) like @Subject escape '\\'");
        Add("To", MailFilter.Contains(filter.To), $"exists (select 1 from {Recipients} r where r.message_id = m.id and lower(r.address) like @To escape '\\')");
        Add("BeforeId", filter.BeforeId, "m.id < @BeforeId");
        return (where.Count == 0 ? string.Empty : "where " + string.Join(" and ", where), parameters);
    }

    public async Task<MessageDetails?> ShowAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var message = await connection.QuerySingleOrDefaultAsync<MessageRow>(new CommandDefinition(D.Sql(
            $"""
            select id, status, kind, sender, reply_to as ReplyTo, {SubjectShown} as subject, template, template_locale as TemplateLocale,
                   template_data as TemplateData, priority, mime_message_id as MimeMessageId,
                   idempotency_key as IdempotencyKey, {D.AsIsoText("created_at")} as CreatedAt, {D.AsIsoText("send_after")} as SendAfter,
                   {D.AsIsoText("expires_at")} as ExpiresAt, headers,
                   {D.AsIsoText("queued_at")} as QueuedAt, {D.AsIsoText("due_at")} as DueAt, lease_owner as LeaseOwner,
                   attempt_count as AttemptCount, {D.AsIsoText("sent_at")} as SentAt, smtp_code as SmtpCode, smtp_reply as SmtpReply,
                   last_error as LastError, case when text_body is not null then 1 else 0 end as HasTextBody,
                   case when html_body is not null then 1 else 0 end as HasHtmlBody
              from {Messages} where id = @Id
            """), new { Id = id }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (message is null)
        {
            return null;
        }

        var recipients = await connection.QueryAsync<RecipientRow>(new CommandDefinition(
            D.Sql($"select kind, address, status, smtp_reply as SmtpReply from {D.Table("outbox_recipient")} where message_id = @Id order by id"),
            new { Id = id }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var attachments = await connection.QueryAsync<AttachmentRow>(new CommandDefinition(D.Sql(
            $"""
            select id, file_name as FileName, mime_type as MimeType, content_id as ContentId, is_inline as IsInline, {D.ByteLength("content")} as "Size"
              from {D.Table("outbox_attachment")} where message_id = @Id order by id
            """), new { Id = id }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var attempts = await connection.QueryAsync<AttemptRow>(new CommandDefinition(D.Sql(
            $"""
            select attempt_no as AttemptNo, {D.AsIsoText("attempted_at")} as AttemptedAt, worker, account, outcome, smtp_code as SmtpCode,
                   smtp_reply as SmtpReply, error
              from {D.Table("outbox_attempt")} where message_id = @Id order by id
            """), new { Id = id }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return new MessageDetails { Message = message with { Subject = RawSubject.Readable(message.Kind, message.Subject) }, Recipients = recipients.ToList(), Attachments = attachments.ToList(), Attempts = attempts.ToList() };
    }

    /// <summary>
    /// Queues a failed, unconfirmed, cancelled or waiting mail for sending now, with a fresh count
    /// of attempts. Recipients the server rejected are asked again; those that accepted it are not.
    /// A mail past its expires_at is refused: it is never sent after that time.
    /// </summary>
    public Task RetryAsync(long id, CancellationToken cancellationToken) =>
        ChangeAsync(id, ["failed", "unconfirmed", "cancelled", "queued"],
            $"update {Messages} set status = 'queued', due_at = {D.Now}, attempt_count = 0, queued_at = coalesce(queued_at, {D.Now}) where id = @Id and status = @Status",
            "retry", cancellationToken,
            $"update {Recipients} set status = null, smtp_reply = null where message_id = @Id and status = 'rejected'");

    /// <summary>
    /// Queues every mail in one status (failed, unconfirmed or cancelled) for sending now, with a
    /// fresh count of attempts, in batches of batchSize so no transaction holds many locks.
    /// Reports the mails queued so far.
    /// </summary>
    public Task<BulkRetryOutcome> RetryAllAsync(string status, int batchSize, IProgress<long>? progress, CancellationToken cancellationToken) =>
        RetryMatchingAsync(new MailFilter { Status = status }, batchSize, progress, cancellationToken);

    /// <summary>
    /// Queues the mails the filter matches as the call begins (its Status must be failed,
    /// unconfirmed or cancelled) for sending now, as <see cref="RetryAsync"/> does one, each
    /// recorded in the attempt log, in batches of batchSize so no transaction holds many locks.
    /// Each mail of that set is queued at most once, however often workers fail it again
    /// meanwhile, so the call ends; mails that left the status since, or that another
    /// transaction holds (PostgreSQL: skipped, not waited for), are counted as skipped.
    /// </summary>
    public async Task<BulkRetryOutcome> RetryMatchingAsync(MailFilter filter, int batchSize, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Status is not ("failed" or "unconfirmed" or "cancelled"))
        {
            throw new MailValidationException("--status", $"\"{filter.Status}\" cannot be retried", "Give failed, unconfirmed or cancelled");
        }

        var (where, parameters) = Where(filter with { BeforeId = null });
        // The set is read once, ids only: a mail failed again after being queued is not in it,
        // so the retry cannot chase the workers forever, nor queue one mail twice. A mail past its
        // expires_at is left out and counted: queued, the claim would only record it expired.
        var found = (await QueryAsync<(long Id, long Expired)>(D.Sql(
            $"select m.id, case when m.expires_at <= {D.Now} then 1 else 0 end as expired from {Messages} m {where} order by m.id"), parameters, cancellationToken).ConfigureAwait(false)).ToList();
        var matched = found.Where(m => m.Expired == 0).Select(m => m.Id).ToArray();
        // The mails are changed first, each only if still in the status (and, where the database
        // can, not held by another transaction); their action rows and recipients follow for the
        // ids changed. A changed mail is locked until commit and no longer in a status the purge
        // deletes, so the purge can neither take it nor the action row it refers to.
        var queue = D.Sql(D.ReturningIds($"""
            update {Messages}
               set status = 'queued', due_at = {D.Now}, attempt_count = 0, queued_at = coalesce(queued_at, {D.Now})
             where id in (select id from {Messages} where {D.InList("id", "@Ids")} and status = @Status{D.SkipLocked})
               and status = @Status
            """));
        var record = D.Sql($"""
            insert into {D.Table("outbox_attempt")} (message_id, attempt_no, attempted_at, worker, outcome)
            select id, {ActionAttemptNo}, {D.Now}, @Actor, 'retried' from {Messages} where {D.InList("id", "@Ids")}
            """);
        var askAgain = D.Sql($"update {Recipients} set status = null, smtp_reply = null where status = 'rejected' and {D.InList("message_id", "@Ids")}");
        long total = 0;
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var batch in matched.Chunk(batchSize))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            foreach (var chunk in batch.Chunk(InListLimit))
            {
                var queued = (await connection.QueryAsync<long>(new CommandDefinition(queue, new { Ids = chunk, filter.Status }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToArray();
                if (queued.Length > 0)
                {
                    var values = new { Ids = queued, Actor = _actor };
                    await connection.ExecuteAsync(new CommandDefinition(record, values, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                    await connection.ExecuteAsync(new CommandDefinition(askAgain, values, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                    total += queued.Length;
                }
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            progress?.Report(total);
        }

        if (total > 0 && D.WakeWorkersStatement is { } wake)
        {
            await connection.ExecuteAsync(new CommandDefinition(wake, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        return new BulkRetryOutcome(matched.Length, total) { Expired = found.Count - matched.Length };
    }

    private async Task<IEnumerable<T>> QueryAsync<T>(string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return (await connection.QueryAsync<T>(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToList();
    }

    /// <summary>
    /// Cancels a mail that has not been sent yet (or whose sending is unconfirmed: leave it be).
    /// Does not wait for a transaction that holds the mail (an application still building it).
    /// Its last error goes: it is no longer why the mail waits (the attempt log keeps it).
    /// </summary>
    public Task CancelAsync(long id, CancellationToken cancellationToken) =>
        ChangeAsync(id, ["draft", "queued", "unconfirmed"],
            $"update {Messages} set status = 'cancelled', due_at = null, last_error = null where id = @Id and status = @Status",
            "cancel", cancellationToken);

    /// <summary>
    /// Deletes sent, failed, cancelled and expired mails created before now minus olderThan, with their
    /// recipients, attachments and attempts, in batches of batchSize rows: each batch is its own
    /// short transaction, so the purge never holds long locks. Mails another transaction holds
    /// (a retry queueing them) are skipped, not waited for.
    /// </summary>
    public Task<PurgeOutcome> PurgeAsync(TimeSpan olderThan, int batchSize, IProgress<long>? progress, CancellationToken cancellationToken) =>
        DeleteAsync(FinishedStatuses, olderThan, batchSize, progress, cancellationToken);

    /// <summary>How many finished mails <see cref="PurgeAsync"/> would delete now (`outbox purge --dry-run`, and its count before it deletes).</summary>
    public async Task<long> CountPurgeableAsync(TimeSpan olderThan, CancellationToken cancellationToken)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            D.Sql($"select count(*) from {Messages} where {Older(FinishedStatuses)}"), new { Seconds = -olderThan.TotalSeconds }, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    private const string FinishedStatuses = "'sent', 'failed', 'cancelled', 'expired'";

    private string Older(string statuses) => $"status in ({statuses}) and created_at < {D.NowPlusSeconds("@Seconds")}";

    /// <summary>
    /// Deletes drafts (mails never queued: a builder block that stopped before enqueue or
    /// close_mail) created before now minus olderThan, with their parts, in batches as
    /// <see cref="PurgeAsync"/> does. A draft is never sent, so only its space is at stake; one an
    /// application is still building (its transaction holds it) is skipped.
    /// </summary>
    public Task<PurgeOutcome> PurgeDraftsAsync(TimeSpan olderThan, int batchSize, CancellationToken cancellationToken) =>
        DeleteAsync("'draft'", olderThan, batchSize, null, cancellationToken);

    private async Task<PurgeOutcome> DeleteAsync(string statuses, TimeSpan olderThan, int batchSize, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var old = Older(statuses);
        // The status is tested again on the row the DELETE changes: the subquery's choice may
        // be stale by then (a retry queued the mail), and a stale choice must delete nothing.
        var sql = D.Sql(D.DeleteChosen(Messages, $"select id from {Messages} where {old} order by id {D.Limit("@BatchSize")}{D.SkipLocked}", old));
        var values = new { Seconds = -olderThan.TotalSeconds, BatchSize = batchSize };
        long total = 0;
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var deleted = await connection.ExecuteAsync(new CommandDefinition(sql, values, cancellationToken: cancellationToken)).ConfigureAwait(false);
            total += deleted;
            progress?.Report(total);
            if (deleted < batchSize)
            {
                break;
            }
        }

        // What is left of the old ones was held by another transaction while the purge ran.
        var skipped = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            D.Sql($"select count(*) from {Messages} where {old}"), values, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return new PurgeOutcome(total, skipped);
    }

    private async Task ChangeAsync(long id, string[] allowed, string update, string verb, CancellationToken cancellationToken, string? alongside = null)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            // Locked without waiting: a mail an application's open transaction holds (a draft it
            // is still building) is reported at once instead of holding the operator up.
            string? status;
            try
            {
                status = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                    D.Sql($"select status from {Messages} where id = @Id{D.NoWait}"), new { Id = id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
            catch (System.Data.Common.DbException ex) when (D.IsLockBusy(ex))
            {
                throw new MailValidationException("ID", $"mail {id} is held by another transaction (an application still building or changing it); nothing was changed",
                    "Run the command again once that transaction has committed or rolled back");
            }

            if (status is null)
            {
                throw new MailValidationException("ID", $"there is no mail {id}", "See `outbox list` for the ids");
            }

            if (!allowed.Contains(status))
            {
                throw new MailValidationException("ID", $"mail {id} is {status}; only a mail that is {string.Join(" or ", allowed)} can be {(verb == "retry" ? "retried" : "cancelled")}",
                    status == "sending" ? "A worker is sending it now; look again in a moment" : "Nothing was changed");
            }

            // Queued again, the claim would only record it expired: say so now instead.
            if (verb == "retry" && await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                    D.Sql($"select {D.AsIsoText("expires_at")} from {Messages} where id = @Id and expires_at <= {D.Now}"), new { Id = id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false) is { } expiredAt)
            {
                throw new MailValidationException("ID", $"mail {id} expired at {expiredAt} (its expires_at) and is never sent after it; nothing was changed",
                    "Enqueue it again with a later expiry if it must still go");
            }

            // The status in the WHERE clause makes the change lose, not win, against a worker
            // that claimed it meanwhile where the database has no row lock to take (SQLite).
            var changed = await connection.ExecuteAsync(new CommandDefinition(D.Sql(update), new { Id = id, Status = status }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (changed == 0)
            {
                throw new MailValidationException("ID", $"mail {id} changed while we looked at it", "Run the command again");
            }

            if (alongside is not null)
            {
                await connection.ExecuteAsync(new CommandDefinition(D.Sql(alongside), new { Id = id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }

            await connection.ExecuteAsync(new CommandDefinition(D.Sql(
                $"""
                insert into {D.Table("outbox_attempt")} (message_id, attempt_no, attempted_at, worker, outcome)
                values (@Id, {ActionAttemptNo}, {D.Now}, @Actor, @Outcome)
                """), new { Id = id, Actor = _actor, Outcome = verb == "retry" ? "retried" : "cancelled" }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (verb == "retry" && D.WakeWorkersStatement is { } wake)
        {
            await connection.ExecuteAsync(new CommandDefinition(wake, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
    }
}
