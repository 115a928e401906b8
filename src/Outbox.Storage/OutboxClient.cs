using System.Data.Common;
using System.Text;
using Dapper;
using Npgsql;
using Outbox.Core.Messages;
using Outbox.Core.Validation;
using Outbox.Storage.Dialects;

namespace Outbox.Storage;

/// <summary>
/// Enqueues mail from .NET through the application's own connection and transaction: the mail
/// exists only if that transaction commits. Checks the same rules as outbox_mail in the database.
/// </summary>
/// <example>
/// <code>
/// await using var tx = await connection.BeginTransactionAsync();
/// // ... the application's own writes ...
/// var id = await OutboxClient.For(connection).EnqueueAsync(connection, tx, new MailRequest
/// {
///     Sender = "shop@example.com", To = ["customer@example.com"], Subject = "Order 42", TextBody = "Thanks!",
/// });
/// await tx.CommitAsync();
/// </code>
/// </example>
public sealed class OutboxClient
{
    private readonly SqlDialect _dialect;

    public OutboxClient(SqlDialect dialect)
    {
        _dialect = dialect;
    }

    /// <summary>A client for the database behind an open Npgsql, SQLite or ODP.NET (Oracle) connection.</summary>
    public static OutboxClient For(DbConnection connection) => new(OutboxDatabase.DialectOf(connection));

    /// <summary>
    /// A client for an ODP.NET connection whose user is not the outbox's owner (a user granted
    /// OUTBOX_SENDER): the package is called as oracleSchema.outbox_mail, as Outbox:Database:Schema names the worker's tables.
    /// </summary>
    public static OutboxClient For(DbConnection connection, string oracleSchema) => new(OutboxDatabase.DialectOf(connection, oracleSchema));

    /// <summary>
    /// Writes the mail and returns its id. With a null transaction the client uses one of its
    /// own. The mail is written as a draft and queued last, so a half-written mail is never sent
    /// even if the caller commits after an error. A known idempotency key returns the mail it
    /// made instead of a second one.
    /// </summary>
    public async Task<long> EnqueueAsync(DbConnection connection, DbTransaction? transaction, MailRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        MailRequestValidator.Validate(request);
        _dialect.CheckColumnSizes(request);
        if (transaction is not null)
        {
            return await WriteAsync(connection, transaction, request, cancellationToken).ConfigureAwait(false);
        }

        await using var own = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var id = await WriteAsync(connection, own, request, cancellationToken).ConfigureAwait(false);
        await own.CommitAsync(cancellationToken).ConfigureAwait(false);
        return id;
    }

    /// <summary>
    /// The state of a mail this connection's user made, or null for a mail that does not exist or
    /// belongs to another user. On PostgreSQL and Oracle through outbox_mail.mail_status /
    /// mail_recipients, which outbox_sender may call; a SQLite file has no users, so every mail is
    /// its caller's.
    /// </summary>
    public async Task<MailState?> StateAsync(DbConnection connection, long id, DbTransaction? transaction = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (_dialect is OracleDialect oracle)
        {
            return await OracleMailState.ReadAsync(connection, oracle, id, transaction, cancellationToken).ConfigureAwait(false);
        }

        var (mail, recipients) = connection is NpgsqlConnection
            ? ("outbox_mail.mail_status(@Id) m", "outbox_mail.mail_recipients(@Id) r")
            : ($"{_dialect.Table("outbox_message")} m where m.id = @Id and {_dialect.OwnedByCurrentUser}",
               $"{_dialect.Table("outbox_recipient")} r where r.message_id = @Id and exists (select 1 from {_dialect.Table("outbox_message")} m where m.id = @Id and {_dialect.OwnedByCurrentUser}) order by r.id");
        var state = await connection.QuerySingleOrDefaultAsync<MailState>(new CommandDefinition(_dialect.Sql(
            $"""
            select m.id, m.status, {_dialect.AsIsoText("m.created_at")} as CreatedAt, {_dialect.AsIsoText("m.queued_at")} as QueuedAt,
                   {_dialect.AsIsoText("m.sent_at")} as SentAt, m.attempt_count as AttemptCount, {_dialect.AsIsoText("m.last_attempt_at")} as LastAttemptAt,
                   m.smtp_code as SmtpCode, m.smtp_reply as SmtpReply, m.last_error as LastError, {_dialect.AsIsoText("m.expires_at")} as ExpiresAt
              from {mail}
            """), new { Id = id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (state is null)
        {
            return null;
        }

        var rows = await connection.QueryAsync<RecipientState>(new CommandDefinition(_dialect.Sql(
            $"select r.kind, r.address, r.status, r.smtp_reply as SmtpReply from {recipients}"),
            new { Id = id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return state with { Recipients = rows.ToList() };
    }

    private async Task<long> WriteAsync(DbConnection connection, DbTransaction transaction, MailRequest request, CancellationToken cancellationToken)
    {
        var attachments = new List<(MailAttachment Attachment, long Length)>();
        try
        {
            foreach (var attachment in request.Attachments)
            {
                var (content, length) = await SeekableAsync(attachment.Content, cancellationToken).ConfigureAwait(false);
                attachments.Add((Copy(attachment, content), length));
            }

            // PostgreSQL and Oracle have the outbox_mail API and its roles: the client is one more
            // caller of it, and the application needs no more than outbox_sender. SQLite has no
            // users, so there the rows are written here.
            return (connection, _dialect) switch
            {
                (NpgsqlConnection postgres, _) => await ApiMailWriter.WriteAsync(postgres, transaction, request, [.. attachments.Select(a => a.Attachment)], cancellationToken).ConfigureAwait(false),
                (_, OracleDialect oracle) => await OracleApiMailWriter.WriteAsync(connection, transaction, oracle, request, [.. attachments.Select(a => a.Attachment)], cancellationToken).ConfigureAwait(false),
                (_, SqliteDialect sqlite) => await WriteRowsAsync(connection, transaction, sqlite, request, attachments, cancellationToken).ConfigureAwait(false),
                _ => throw new NotSupportedException($"OutboxClient does not know the {_dialect.GetType().Name} database"),
            };
        }
        finally
        {
            // Only the spools made here; the caller's own streams stay open.
            foreach (var (attachment, _) in attachments.Where(a => !request.Attachments.Any(r => ReferenceEquals(r.Content, a.Attachment.Content))))
            {
                await attachment.Content.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    // SQLite: the rows are written here, with the checks the APIs of the other databases make.
    private static async Task<long> WriteRowsAsync(DbConnection connection, DbTransaction transaction, SqliteDialect sqlite, MailRequest request, List<(MailAttachment Attachment, long Length)> spooled, CancellationToken cancellationToken)
    {
        await EnsureSqliteSchemaAsync(connection, transaction, cancellationToken).ConfigureAwait(false);

        // A mail from a template holds a copy of the template's row as it is now (see docs/templates.md).
        var template = request.Template is { } templateName
            ? await new Templates.TemplateStore(sqlite).RequireAsync(connection, transaction, templateName, request.Locale, cancellationToken).ConfigureAwait(false)
            : null;
        var limits = await EnqueueLimits.ReadAsync(connection, transaction, sqlite, cancellationToken).ConfigureAwait(false);
        limits.CheckRequest(request);
        var attachments = spooled.Select(a => (a.Attachment, Name: limits.CheckFileName("filename", a.Attachment.FileName), a.Length)).ToList();

        // Everything stored for the mail, as outbox.stored_bytes counts it in PostgreSQL.
        string?[] texts = [request.Sender.Trim(), request.ReplyTo?.Trim(), template?.Subject ?? request.Subject, template?.TextBody ?? request.TextBody,
            template?.HtmlBody ?? request.HtmlBody, template is null ? null : request.TemplateData ?? "{}", MailHeaderRules.Normalize(request.Headers),
            .. request.To.Concat(request.Cc).Concat(request.Bcc).Select(a => a.Trim()), .. attachments.Select(a => a.Name)];
        limits.CheckSize(texts.Sum(t => (long)Encoding.UTF8.GetByteCount(t ?? string.Empty)) + attachments.Sum(a => a.Length));

        var id = await InsertMessageAsync(connection, transaction, sqlite, request, template, cancellationToken).ConfigureAwait(false);
        if (id is not { } newId)
        {
            return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                sqlite.Sql($"select id from {sqlite.Table("outbox_message")} where {sqlite.OwnedByCurrentUser} and idempotency_key = @Key"),
                new { Key = request.IdempotencyKey }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        foreach (var (kind, address) in request.RecipientsByKind())
        {
            await connection.ExecuteAsync(new CommandDefinition(
                sqlite.Sql($"insert into {sqlite.Table("outbox_recipient")} (message_id, kind, address) values (@Id, @Kind, @Address)"),
                new { Id = newId, Kind = kind, Address = address.Trim() },
                transaction,
                cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        foreach (var (attachment, name, length) in attachments)
        {
            var named = new MailAttachment { FileName = name, Content = attachment.Content, MimeType = attachment.MimeType, ContentId = attachment.ContentId, Inline = attachment.Inline };
            await SqliteDialect.InsertAttachmentAsync(connection, transaction, newId, named, length, cancellationToken).ConfigureAwait(false);
        }

        await connection.ExecuteAsync(new CommandDefinition(sqlite.Sql(
            $"""
            update {sqlite.Table("outbox_message")}
               set status = 'queued', queued_at = {sqlite.Now},
                   due_at = case when send_after > {sqlite.Now} then send_after else {sqlite.Now} end
             where id = @Id
            """),
            new { Id = newId }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (sqlite.WakeWorkersStatement is { } wake)
        {
            await connection.ExecuteAsync(new CommandDefinition(wake, transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        return newId;
    }

    // A new SQLite file has no outbox until a program installs it, as every outbox command does;
    // the client does the same, in the caller's transaction, so a rollback takes the tables with
    // it. The journal mode cannot change inside a transaction: the pragma is left to the CLI and
    // the worker, which run the script again. A file of another version is the CLI's to upgrade.
    private static async Task EnsureSqliteSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        var tables = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "select count(*) from sqlite_master where type = 'table' and name like 'outbox\\_%' escape '\\'", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var script = SchemaInstaller.ScriptsOf("sqlite").Single();
        if (tables == 0)
        {
            foreach (var statement in new SqliteDialect().StatementsOf(SchemaInstaller.ReadScript(script))
                         .Where(statement => !statement.TrimStart().StartsWith("pragma", StringComparison.OrdinalIgnoreCase)))
            {
                await connection.ExecuteAsync(new CommandDefinition(statement, transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
        }

        var version = tables == 0 || await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "select count(*) from sqlite_master where type = 'table' and name = 'outbox_setting'", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false) > 0
            ? await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                "select value from outbox_setting where name = 'schema_version'", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)
            : null;
        if (version != Admin.DatabaseCheck.ExpectedSchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            throw new MailValidationException(
                "Outbox:Database",
                $"this SQLite file's outbox schema is version {version ?? "(none)"}, but this release needs {Admin.DatabaseCheck.ExpectedSchemaVersion}",
                "Run outbox init --config FILE (FILE naming this file) once: it upgrades the file in place");
        }
    }

    // Returns null when the idempotency key is taken: the caller gets the existing mail.
    private static async Task<long?> InsertMessageAsync(DbConnection connection, DbTransaction transaction, SqliteDialect sqlite, MailRequest request, Core.Templates.TemplateSource? template, CancellationToken cancellationToken) =>
        await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(sqlite.Sql(SqliteDialect.InsertMessageReturningId(
            $"""
            insert into {sqlite.Table("outbox_message")}
                (status, kind, sender, reply_to, subject, text_body, html_body, priority, send_after, idempotency_key, profile, mime_message_id,
                 template, template_locale, template_data, expires_at, headers)
            values ('draft', 'mime', @Sender, @ReplyTo, @Subject, @TextBody, @HtmlBody, @Priority, @SendAfter, @IdempotencyKey, @Profile, @MimeMessageId,
                    @Template, @TemplateLocale, @TemplateData, @ExpiresAt, @Headers)
            """)),
            new
            {
                Sender = request.Sender.Trim(),
                ReplyTo = request.ReplyTo?.Trim(),
                Subject = template?.Subject ?? request.Subject,
                TextBody = sqlite.LargeText(template?.TextBody ?? request.TextBody),
                HtmlBody = sqlite.LargeText(template?.HtmlBody ?? request.HtmlBody),
                Template = template?.Name,
                TemplateLocale = template?.Locale,
                TemplateData = sqlite.LargeText(template is null ? null : request.TemplateData ?? "{}"),
                request.Priority,
                SendAfter = request.SendAfter is { } after ? sqlite.TimestampParameter(after) : null,
                // On this machine's clock, which is SQLite's too.
                ExpiresAt = MailRequestValidator.CheckExpiry(request.ExpiresAt, request.ExpiresAfter, request.SendAfter, DateTimeOffset.UtcNow) is { } expires
                    ? sqlite.TimestampParameter(expires) : null,
                Headers = MailHeaderRules.Normalize(request.Headers),
                request.IdempotencyKey,
                request.Profile,
                MimeMessageId = NewMessageId(request.Sender),
            },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);

    // The database needs each length before the bytes: a forward-only stream is spooled to disk.
    private static async Task<(Stream Content, long Length)> SeekableAsync(Stream content, CancellationToken cancellationToken)
    {
        if (content.CanSeek)
        {
            return (content, content.Length - content.Position);
        }

        var spool = new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        await content.CopyToAsync(spool, cancellationToken).ConfigureAwait(false);
        spool.Position = 0;
        return (spool, spool.Length);
    }

    private static MailAttachment Copy(MailAttachment attachment, Stream content) => new()
    {
        FileName = attachment.FileName,
        Content = content,
        MimeType = attachment.MimeType,
        ContentId = attachment.ContentId,
        Inline = attachment.Inline,
    };

    private static string NewMessageId(string sender)
    {
        var address = MimeKit.MailboxAddress.Parse(sender.Trim()).Address;
        var domain = address[(address.LastIndexOf('@') + 1)..];
        // Cut as OUTBOX_MAIL cuts it (no real domain is longer), so the id fits Oracle's column.
        return $"<{Guid.NewGuid()}@{domain[..Math.Min(domain.Length, 255)]}>";
    }
}
