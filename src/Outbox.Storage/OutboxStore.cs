using System.Data.Common;
using Dapper;
using MimeKit;
using Outbox.Core.Dispatch;
using Outbox.Core.Messages;
using Outbox.Core.Sending;

namespace Outbox.Storage;

/// <summary>
/// The worker's side of the outbox, written once for every database: claim with a lease on the
/// database clock, then record each outcome. Every write-back is guarded by
/// "still sending and still ours", so a worker whose lease ran out cannot overwrite the outcome
/// of the worker that took the mail over.
/// </summary>
public sealed class OutboxStore : IDispatchStore, IMessageContentSource
{
    internal const int MaxText = 1000;

    // "expired at <time> (its expires_at) before its next try: not tried again; the last
    // attempt: " before the attempt's error, within MaxText (MarkRetry).
    private const int ExpiredBeforeRetryLength = 120;

    private readonly OutboxDatabase _database;
    private readonly string _worker;
    private readonly Statements _sql;

    public OutboxStore(OutboxDatabase database, string worker)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        _worker = worker;
        _sql = new Statements(database.Dialect);
    }

    public IMessageContentSource Content => this;

    // The claim takes most of a batch by priority (1 first, then the longest due) and the rest, a
    // quarter rounded up, by time due alone: however much priority 1 mail keeps arriving, the
    // mails that have waited longest still leave with every batch. A batch of one goes by priority.
    private static int ByPriority(int batchSize) => Math.Max(1, batchSize - (batchSize + 3) / 4);

    public async Task<IReadOnlyList<ClaimedMessage>> ClaimAsync(int batchSize, TimeSpan lease, bool holdTakenOver, CancellationToken cancellationToken)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        List<ClaimedMessage> messages;
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            messages = (await connection.QueryAsync<ClaimedMessage>(new CommandDefinition(
                _sql.Claim,
                new { ByPriority = ByPriority(batchSize), ByAge = batchSize - ByPriority(batchSize), Worker = _worker, LeaseSeconds = lease.TotalSeconds },
                transaction,
                cancellationToken: cancellationToken)).ConfigureAwait(false)).OrderBy(m => m.Priority).ThenBy(m => m.Id).ToList();
            if (messages.Any(m => m.TakenOverFrom is not null || m.Expired))
            {
                await RecordTakeOversAndExpiriesAsync(connection, transaction, messages, holdTakenOver, cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        var toSend = messages.Where(m => !m.Expired || m.Held).ToList();
        if (toSend.Count > 0)
        {
            await ReadPartsAsync(connection, toSend, cancellationToken).ConfigureAwait(false);
        }

        return messages;
    }

    // In the claim's transaction, so no later hand-back, stop or crash can lose it: a mail taken
    // over after the worker that died had begun its SMTP transaction gets that worker's attempt
    // recorded 'unconfirmed'; under Hold it stops in 'unconfirmed' for an operator. A mail whose
    // transaction never began was never tried and is simply this claim's. A mail whose expiry
    // had passed is then recorded 'expired' instead of being sent (a held one stays unconfirmed:
    // the server may have it).
    private async Task RecordTakeOversAndExpiriesAsync(DbConnection connection, DbTransaction transaction, List<ClaimedMessage> messages, bool hold, CancellationToken cancellationToken)
    {
        var ids = messages.Where(m => m.TakenOverFrom is not null).Select(m => m.Id).ToList();
        var held = new HashSet<long>();
        if (ids.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(_sql.RecordLostAttempts, new { Ids = ids }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (hold)
            {
                held = (await connection.QueryAsync<long>(new CommandDefinition(_sql.HoldTakenOver, new { Ids = ids }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToHashSet();
            }
        }

        // Before ResendTakenOver clears data_started_at, which says whether the claim counted an attempt.
        var expired = messages.Where(m => m.Expired && !held.Contains(m.Id)).Select(m => m.Id).ToList();
        if (expired.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(_sql.Expire, new { Ids = expired, Worker = _worker }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        if (ids.Count > 0 && !hold)
        {
            await connection.ExecuteAsync(new CommandDefinition(_sql.ResendTakenOver, new { Ids = ids }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        foreach (var message in messages.Where(m => held.Contains(m.Id)))
        {
            message.Held = true;
        }
    }

    public async Task<DataStart> MarkDataStartingAsync(ClaimedMessage message, string? renderedSubject, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var written = await connection.QueryAsync<string>(new CommandDefinition(
            _sql.MarkDataStarting, new { message.Id, Worker = _worker, RenderedSubject = renderedSubject }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return written.SingleOrDefault() switch
        {
            null => DataStart.NotMine,
            "expired" => DataStart.Expired,
            _ => DataStart.Marked,
        };
    }

    /// <summary>A mail as the worker would read it, without claiming it: for `outbox show --eml`.</summary>
    public async Task<ClaimedMessage?> ReadAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var message = await connection.QuerySingleOrDefaultAsync<ClaimedMessage>(new CommandDefinition(
            _sql.Read, new { Id = id }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (message is not null)
        {
            await ReadPartsAsync(connection, [message], cancellationToken).ConfigureAwait(false);
        }

        return message;
    }

    private async Task ReadPartsAsync(DbConnection connection, List<ClaimedMessage> messages, CancellationToken cancellationToken)
    {
        var ids = messages.Select(m => m.Id).ToList();
        var recipients = (await connection.QueryAsync<RecipientRow>(new CommandDefinition(
            _sql.RecipientsOf, new { Ids = ids }, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToLookup(r => r.MessageId);
        var attachments = (await connection.QueryAsync<AttachmentRow>(new CommandDefinition(
            _sql.AttachmentsOf, new { Ids = ids }, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToLookup(a => a.MessageId);
        foreach (var message in messages)
        {
            message.Recipients = recipients[message.Id].Select(r => new ClaimedRecipient(r.Id, r.Kind, r.Address, r.Status)).ToList();
            message.Attachments = attachments[message.Id]
                .Select(a => new ClaimedAttachment(a.Id, a.FileName, a.MimeType, a.ContentId, a.IsInline, a.Size)).ToList();
        }
    }

    public async Task<int> ExtendLeaseAsync(IReadOnlyList<ClaimedMessage> messages, TimeSpan lease, CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
        {
            return 0;
        }

        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteAsync(new CommandDefinition(
            _sql.ExtendLease,
            new { Ids = messages.Select(m => m.Id).ToList(), Worker = _worker, LeaseSeconds = lease.TotalSeconds },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// Records several sent mails at once, however many there are. Where the database binds
    /// arrays (PostgreSQL) and no recipient was refused, that is one statement; otherwise one
    /// transaction of three round trips: one UPDATE (guarded by "still sending and still ours")
    /// returning the ids it changed, then their attempt rows and recipients, then the commit.
    /// </summary>
    public async Task MarkSentAsync(IReadOnlyList<SentMail> sent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sent);
        if (sent.Count == 0)
        {
            return;
        }

        if (_database.Dialect.SentGroupStatement is { } group && sent.All(s => s.Result.Rejected.Count == 0))
        {
            await MarkSentAsArraysAsync(group, sent, cancellationToken).ConfigureAwait(false);
            return;
        }

        // Each command gets exactly the values it names: Oracle refuses a bind it does not use.
        DynamicParameters Values(IEnumerable<int> indexes, bool attemptNumbers)
        {
            var values = new DynamicParameters(new { Worker = _worker });
            foreach (var i in indexes)
            {
                var (mail, result) = (sent[i].Message, sent[i].Result);
                values.Add($"Id{i}", mail.Id);
                values.Add($"Code{i}", result.SmtpCode);
                values.Add($"Reply{i}", Capped(result.Reply));
                values.Add($"Error{i}", result.Rejected.Count == 0
                    ? null
                    : Capped("refused by the server: " + string.Join("; ", result.Rejected)));
                if (attemptNumbers)
                {
                    values.Add($"AttemptNo{i}", mail.AttemptCount);
                    values.Add($"Account{i}", sent[i].Account);
                }
            }

            return values;
        }

        var all = Enumerable.Range(0, sent.Count).ToList();
        string Case(string column) => "case id " + string.Concat(all.Select(i => $"when @Id{i} then @{column}{i} ")) + "end";
        var d = _database.Dialect;
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var updated = (await connection.QueryAsync<long>(new CommandDefinition(
            d.Sql(d.ReturningIds($"""
                update {d.Table("outbox_message")}
                   set status = 'sent', sent_at = {d.Now}, due_at = null, lease_owner = null, data_started_at = null,
                       smtp_code = {Case("Code")}, smtp_reply = {Case("Reply")}, last_error = {Case("Error")}
                 where id in ({string.Join(", ", all.Select(i => $"@Id{i}"))}) and status = 'sending' and lease_owner = @Worker
                """)), Values(all, attemptNumbers: false), transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToHashSet();

        // A mail not updated was taken over by another worker when its lease ran out: that
        // worker's outcome stands, so it gets no attempt row here.
        var mine = all.Where(i => updated.Contains(sent[i].Message.Id)).ToList();
        if (mine.Count > 0)
        {
            var attempts = d.InsertRows(d.Table("outbox_attempt"), "message_id, attempt_no, attempted_at, worker, account, outcome, smtp_code, smtp_reply, error",
                mine.Select(i => $"@Id{i}, @AttemptNo{i}, {d.Now}, @Worker, @Account{i}, 'sent', @Code{i}, @Reply{i}, @Error{i}"));
            var accepted = $"""
                update {d.Table("outbox_recipient")} set status = 'accepted', smtp_reply = null
                 where message_id in ({string.Join(", ", mine.Select(i => $"@Id{i}"))}) and {Statements.Owed}
                """;
            await connection.ExecuteAsync(new CommandDefinition(
                d.Sql(d.Batch(attempts, accepted)), Values(mine, attemptNumbers: true), transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            foreach (var i in mine)
            {
                await RecordRejectionsAsync(connection, transaction, sent[i].Message, sent[i].Result.Rejected, cancellationToken).ConfigureAwait(false);
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task MarkSentAsArraysAsync(string statement, IReadOnlyList<SentMail> sent, CancellationToken cancellationToken)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(statement, new
        {
            Ids = sent.Select(s => s.Message.Id).ToArray(),
            Codes = sent.Select(s => s.Result.SmtpCode).ToArray(),
            Replies = sent.Select(s => Capped(s.Result.Reply)).ToArray(),
            AttemptNos = sent.Select(s => s.Message.AttemptCount).ToArray(),
            Accounts = sent.Select(s => s.Account).ToArray(),
            Worker = _worker,
        }, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    public async Task<bool> MarkRetryAsync(ClaimedMessage message, SendFailure failure, TimeSpan delay, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return await RecordAsync(message, failure.Kind == FailureKind.ReplyLost ? "unconfirmed" : "retry", _sql.MarkRetry,
            failure, delay.TotalSeconds, cancellationToken).ConfigureAwait(false) == "expired";
    }

    public async Task MarkFailedAsync(ClaimedMessage message, SendFailure failure, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(failure);
        await RecordAsync(message, "failed", _sql.MarkFailed, failure, null, cancellationToken).ConfigureAwait(false);
    }

    public async Task MarkUnconfirmedAsync(ClaimedMessage message, SendFailure failure, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(failure);
        // A partial delivery keeps its recipients' answers: those who had it stay accepted.
        await RecordAsync(message, "unconfirmed", _sql.MarkUnconfirmed, failure with { SmtpCode = null }, null, cancellationToken).ConfigureAwait(false);
    }

    public async Task ReleaseAsync(IReadOnlyList<ClaimedMessage> messages, TimeSpan delay, string? reason, int? smtpCode, CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
        {
            return;
        }

        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            _sql.Release,
            new { Ids = messages.Select(m => m.Id).ToList(), Worker = _worker, DelaySeconds = delay.TotalSeconds, Reason = Capped(reason), Reply = Capped(WithoutCode(reason, smtpCode)), Code = smtpCode },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<Pause>> ReadPausesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return (await connection.QueryAsync<Pause>(new CommandDefinition(_sql.Pauses, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToList();
    }

    public Task<Stream> OpenAttachmentAsync(ClaimedAttachment attachment, CancellationToken cancellationToken) =>
        _database.Dialect.OpenAttachmentAsync(_database.DataSource, attachment, cancellationToken);

    /// <summary>
    /// Raw mails are spooled to a temporary file (deleted on close) so that MimeKit can parse
    /// them without holding them in memory and MailKit can read them twice.
    /// </summary>
    public async Task<Stream> OpenRawContentAsync(long messageId, CancellationToken cancellationToken)
    {
        var spool = new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 81920,
            FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = _sql.RawPartsOf;
            var id = command.CreateParameter();
            id.ParameterName = "Id";
            id.Value = messageId;
            command.Parameters.Add(id);
            await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                await using var part = reader.GetStream(0);
                await part.CopyToAsync(spool, cancellationToken).ConfigureAwait(false);
            }

            spool.Position = 0;
            return spool;
        }
        catch
        {
            await spool.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // Dapper sends only the members of an anonymous object that a statement names, so each
    // statement below gets just its own binds (Oracle refuses others).
    // Returns the status written, or null when the mail was no longer this worker's.
    private async Task<string?> RecordAsync(ClaimedMessage message, string outcome, string update, SendFailure failure, double? delaySeconds, CancellationToken cancellationToken)
    {
        var code = failure.SmtpCode;
        var (reply, error) = (Capped(failure.Reply ?? WithoutCode(failure.Reason, code)), Capped(failure.Reason));
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var status = (await connection.QueryAsync<string>(new CommandDefinition(update,
            new { message.Id, Worker = _worker, Code = code, Reply = reply, Error = error, DelaySeconds = delaySeconds, LastTry = Capped(failure.Reason, MaxText - ExpiredBeforeRetryLength) },
            transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).SingleOrDefault();
        if (status is null)
        {
            // The lease ran out and another worker took the mail over: its outcome stands.
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }

        await connection.ExecuteAsync(new CommandDefinition(_sql.InsertAttempt,
            new { message.Id, AttemptNo = message.AttemptCount, Worker = _worker, failure.Account, Outcome = outcome, Code = code, Reply = reply, Error = error },
            transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (failure.PartlyDelivered)
        {
            await connection.ExecuteAsync(new CommandDefinition(_sql.AcceptOwed, new { message.Id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
        else if (outcome == "unconfirmed")
        {
            // The whole message went out and its reply was lost: its recipients were asked (the
            // server's refusals follow), not "not tried yet".
            await connection.ExecuteAsync(new CommandDefinition(_sql.UnconfirmOwed, new { message.Id, Reply = UnconfirmedRecipient }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        await RecordRejectionsAsync(connection, transaction, message, failure.Rejections, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return status;
    }

    /// <summary>What an owed recipient of a mail whose reply was lost records as its reply (its status stays null: still owed).</summary>
    public const string UnconfirmedRecipient = "unconfirmed: the whole message was sent and the server's reply was lost, so it may have the mail";

    /// <summary>
    /// SMTP replies and errors are cut to 1000 characters: enough to read, and within the
    /// 4000-byte VARCHAR2 columns of Oracle in any character set.
    /// </summary>
    // smtp_reply is the reply's text beside its code in smtp_code, as for a mail sent; a failure's
    // reason ("500 5.3.0 …") begins with the code, which would then be shown twice.
    private static string? WithoutCode(string? reason, int? code) =>
        code is null || reason is null ? null
        : reason.StartsWith($"{code} ", StringComparison.Ordinal) ? reason[($"{code} ".Length)..]
        : reason;

    internal static string? Capped(string? text, int max = MaxText) => text is { Length: var length } && length > max ? text[..(max - 1)] + "…" : text;

    private async Task RecordRejectionsAsync(DbConnection connection, DbTransaction transaction, ClaimedMessage message, IReadOnlyList<RecipientRejection> rejections, CancellationToken cancellationToken)
    {
        if (rejections.Count == 0)
        {
            return;
        }

        // An address may be refused twice (named as To and as Cc, or again in a further transaction): the last answer stands.
        var refused = new Dictionary<string, RecipientRejection>(StringComparer.OrdinalIgnoreCase);
        foreach (var rejection in rejections)
        {
            refused[rejection.Address] = rejection;
        }

        foreach (var recipient in message.Recipients)
        {
            if (recipient.IsOwed && refused.TryGetValue(MailboxAddress.Parse(recipient.Address).Address, out var rejection))
            {
                await connection.ExecuteAsync(new CommandDefinition(_sql.RefuseRecipient,
                    new { recipient.Id, Status = rejection.IsDeferred ? "deferred" : "rejected", Reply = Capped(rejection.Answer) },
                    transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
        }
    }

    private sealed class RecipientRow
    {
        public long Id { get; init; }

        public long MessageId { get; init; }

        public string Kind { get; init; } = string.Empty;

        public string Address { get; init; } = string.Empty;

        public string? Status { get; init; }
    }

    private sealed class AttachmentRow
    {
        public long Id { get; init; }

        public long MessageId { get; init; }

        public string? FileName { get; init; }

        public string MimeType { get; init; } = string.Empty;

        public string? ContentId { get; init; }

        public bool IsInline { get; init; }

        public long Size { get; init; }
    }

    /// <summary>The store's statements, built once for the dialect.</summary>
    private sealed class Statements(Dialects.SqlDialect d)
    {
        private const string Mine = "id = @Id and status = 'sending' and lease_owner = @Worker";

        private const string LostReason =
            "'worker ' || taken_over_from || ' stopped while sending (its lease ran out after it had begun the SMTP transaction): the server may have accepted the mail'";

        public string Claim { get; } = d.Sql(d.ClaimStatement);

        public string Read { get; } = d.Sql(
            $"""
            select id, kind, sender, reply_to as ReplyTo, subject, text_body as TextBody, html_body as HtmlBody, priority,
                   mime_message_id as MimeMessageId, attempt_count as AttemptCount, profile,
                   template, template_locale as TemplateLocale, template_data as TemplateData, headers
              from {d.Table("outbox_message")} where id = @Id
            """);

        public string RecipientsOf { get; } = d.Sql(
            $"select id, message_id as MessageId, kind, address, status from {d.Table("outbox_recipient")} where {d.InList("message_id", "@Ids")} order by id");

        public string AttachmentsOf { get; } = d.Sql(
            $"""
            select id, message_id as MessageId, file_name as FileName, mime_type as MimeType, content_id as ContentId,
                   is_inline as IsInline, {d.ByteLength("content")} as "Size"
              from {d.Table("outbox_attachment")} where {d.InList("message_id", "@Ids")} order by id
            """);

        public string RawPartsOf { get; } = d.Sql(
            $"select content from {d.Table("outbox_raw_part")} where message_id = @Id order by part_no");

        // A retry at or after the mail's expires_at could never go: the same statement records it
        // 'expired' instead, on the database clock, and says which it wrote. The attempt's own
        // error follows the expiry in last_error (LastTry: the error cut so that both fit).
        public string MarkRetry { get; } = d.Sql(d.ReturningStatus(
            $"""
            update {d.Table("outbox_message")}
               set status = case when expires_at <= {d.NowPlusSeconds("@DelaySeconds")} then 'expired' else 'queued' end,
                   due_at = case when expires_at <= {d.NowPlusSeconds("@DelaySeconds")} then null else {d.NowPlusSeconds("@DelaySeconds")} end,
                   lease_owner = null, data_started_at = null, smtp_code = @Code, smtp_reply = @Reply,
                   last_error = case when expires_at <= {d.NowPlusSeconds("@DelaySeconds")}
                                     then 'expired at ' || {d.AsIsoText("expires_at")} || ' (its expires_at) before its next try: not tried again; the last attempt: ' || @LastTry
                                     else @Error end
             where {Mine}
            """));

        public string MarkFailed { get; } = Finish(d, "failed");

        public string MarkUnconfirmed { get; } = Finish(d, "unconfirmed");

        public string ExtendLease { get; } = d.Sql(
            $"""
            update {d.Table("outbox_message")}
               set due_at = {d.NowPlusSeconds("@LeaseSeconds")}
             where {d.InList("id", "@Ids")} and status = 'sending' and lease_owner = @Worker
            """);

        // A worker whose lease is gone may no longer write the mark; the lease is measured on the
        // database clock, in the same statement. The lease test sits inside a CASE, which no
        // planner reads as an index condition: written plainly, PostgreSQL estimated from its
        // statistics (taken while the mails waited, their due_at past) that "due_at > now()"
        // matches almost nothing in the claim's index, and read every leased mail to find this one.
        // A mail whose expires_at passed while it waited in the batch (behind slow mails, a rate
        // limit, a new connection) is recorded 'expired' by this same statement instead of being
        // marked, so the check and the mark cannot disagree; the claim's attempt is taken back, as
        // a hand-back does. It returns the status it wrote: 'sending' (marked) or 'expired'.
        public string MarkDataStarting { get; } = d.Sql(d.ReturningStatus(
            $"""
            update {d.Table("outbox_message")}
               set status = case when {ExpiredNow(d)} then 'expired' else status end,
                   due_at = case when {ExpiredNow(d)} then null else due_at end,
                   lease_owner = case when {ExpiredNow(d)} then null else lease_owner end,
                   attempt_count = attempt_count - case when {ExpiredNow(d)} then 1 else 0 end,
                   last_error = case when {ExpiredNow(d)} then {ExpiredError(d)} else last_error end,
                   data_started_at = case when {ExpiredNow(d)} then null else {d.Now} end,
                   rendered_subject = @RenderedSubject
             where id = @Id
               and case when status = 'sending' and lease_owner = @Worker and due_at > {d.Now} then 1 else 0 end = 1
            """));

        private static string ExpiredNow(Dialects.SqlDialect d) => $"expires_at <= {d.Now}";

        private static string ExpiredError(Dialects.SqlDialect d) =>
            $"'expired at ' || {d.AsIsoText("expires_at")} || ' (its expires_at) before it could be sent: not sent'";

        public string RecordLostAttempts { get; } = d.Sql(
            $"""
            insert into {d.Table("outbox_attempt")} (message_id, attempt_no, attempted_at, worker, outcome, error)
            select id, attempt_count - 1, {d.Now}, taken_over_from, 'unconfirmed', {LostReason}
              from {d.Table("outbox_message")}
             where {d.InList("id", "@Ids")} and data_started_at is not null
            """);

        // Resend: the attempt row now holds what the mark said; this claim sends the mail again.
        public string ResendTakenOver { get; } = d.Sql(
            $"update {d.Table("outbox_message")} set data_started_at = null where {d.InList("id", "@Ids")} and data_started_at is not null");

        public string HoldTakenOver { get; } = d.Sql(d.ReturningIds(
            $"""
            update {d.Table("outbox_message")}
               set status = 'unconfirmed', due_at = null, lease_owner = null, data_started_at = null,
                   attempt_count = attempt_count - 1, smtp_code = null, smtp_reply = null,
                   last_error = {LostReason} || '; held for an operator (LostReplyPolicy Hold)'
             where {d.InList("id", "@Ids")} and data_started_at is not null
            """));

        // Not sent: its expires_at passed before this claim. The claim counted no attempt for it
        // unless it took it over from a worker that had begun sending it (whose attempt is recorded
        // 'unconfirmed' before this); that count is taken back here. The guard sits in a CASE, as
        // in MarkDataStarting: written plainly, "status = 'sending'" led PostgreSQL to read every
        // waiting and leased mail in the claim's index instead of these few by primary key.
        public string Expire { get; } = d.Sql(
            $"""
            update {d.Table("outbox_message")}
               set status = 'expired', due_at = null, lease_owner = null,
                   attempt_count = attempt_count - case when data_started_at is null then 0 else 1 end, data_started_at = null,
                   last_error = {ExpiredError(d)}
             where {d.InList("id", "@Ids")}
               and case when status = 'sending' and lease_owner = @Worker then 1 else 0 end = 1
            """);

        // Handing back: the worker knows the mail's data did not reach the server whole (never
        // begun, or cut before its end), so the mark goes with the lease.
        // A mail handed back for longer than it has left is due at its expires_at, so the next
        // claim then records it expired instead of it showing 'queued' past its expiry.
        public string Release { get; } = d.Sql(
            $"""
            update {d.Table("outbox_message")}
               set status = 'queued',
                   due_at = case when expires_at < {d.NowPlusSeconds("@DelaySeconds")} then expires_at else {d.NowPlusSeconds("@DelaySeconds")} end,
                   lease_owner = null, data_started_at = null,
                   attempt_count = attempt_count - 1, last_error = coalesce(@Reason, last_error),
                   smtp_code = coalesce(@Code, smtp_code), smtp_reply = case when @Code is null then smtp_reply else @Reply end
             where {d.InList("id", "@Ids")} and status = 'sending' and lease_owner = @Worker
            """);

        public string Pauses { get; } = d.Sql(
            $"select scope, paused_by as PausedBy, {d.AsIsoText("paused_at")} as PausedAt, reason from {d.Table("outbox_pause")} where resumed_at is null");

        public string InsertAttempt { get; } = d.Sql(
            $"""
            insert into {d.Table("outbox_attempt")} (message_id, attempt_no, attempted_at, worker, account, outcome, smtp_code, smtp_reply, error)
            values (@Id, @AttemptNo, {d.Now}, @Worker, @Account, @Outcome, @Code, @Reply, @Error)
            """);

        /// <summary>Recipients a retry still sends to: not yet asked, or deferred with 4xx.</summary>
        public const string Owed = "(status is null or status = 'deferred')";

        public string RefuseRecipient { get; } = d.Sql(
            $"update {d.Table("outbox_recipient")} set status = @Status, smtp_reply = @Reply where id = @Id");

        // A partial delivery: every recipient this attempt sent to is accepted, but for those
        // the server refused, which are recorded after this.
        public string UnconfirmOwed { get; } = d.Sql(
            $"update {d.Table("outbox_recipient")} set smtp_reply = @Reply where message_id = @Id and status is null");

        public string AcceptOwed { get; } = d.Sql(
            $"update {d.Table("outbox_recipient")} set status = 'accepted', smtp_reply = null where message_id = @Id and {Owed}");

        // The outcome of an attempt other than success: the mail leaves 'sending' only while it is
        // ours. It returns the status written, as MarkRetry does (no row: not ours).
        private static string Finish(Dialects.SqlDialect d, string status) => d.Sql(d.ReturningStatus(
            $"""
            update {d.Table("outbox_message")}
               set status = '{status}', due_at = null, lease_owner = null, data_started_at = null,
                   smtp_code = @Code, smtp_reply = @Reply, last_error = @Error
             where {Mine}
            """));
    }
}
