using System.Data.Common;
using Dapper;
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

    /// <summary>A client for the database behind an open Npgsql or SQLite connection.</summary>
    public static OutboxClient For(DbConnection connection) => new(OutboxDatabase.DialectOf(connection));

    /// <summary>
    /// Writes the mail and returns its id. With a null transaction the client uses one of its
    /// own, so a half-written mail is never visible to the worker.
    /// </summary>
    public async Task<long> EnqueueAsync(DbConnection connection, DbTransaction? transaction, MailRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        MailRequestValidator.Validate(request);
        if (transaction is not null)
        {
            return await WriteAsync(connection, transaction, request, cancellationToken).ConfigureAwait(false);
        }

        await using var own = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var id = await WriteAsync(connection, own, request, cancellationToken).ConfigureAwait(false);
        await own.CommitAsync(cancellationToken).ConfigureAwait(false);
        return id;
    }

    private async Task<long> WriteAsync(DbConnection connection, DbTransaction transaction, MailRequest request, CancellationToken cancellationToken)
    {
        var message = _dialect.Table("outbox_message");
        if (request.IdempotencyKey is not null)
        {
            var existing = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                $"select id from {message} where idempotency_key = @Key", new { Key = request.IdempotencyKey }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (existing is not null)
            {
                throw new MailValidationException("idempotency_key", $"\"{request.IdempotencyKey}\" was already used by mail {existing}",
                    "Each mail needs its own key; look the earlier mail up by that key");
            }
        }

        var sendAfter = request.SendAfter is { } after ? _dialect.TimestampParameter(after) : null;
        var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"""
            insert into {message}
                (status, kind, sender, reply_to, subject, text_body, html_body, priority, send_after, idempotency_key,
                 mime_message_id, queued_at, due_at)
            values ('queued', 'mime', @Sender, @ReplyTo, @Subject, @TextBody, @HtmlBody, @Priority, @SendAfter, @IdempotencyKey,
                 @MimeMessageId, {_dialect.Now}, case when @SendAfter > {_dialect.Now} then @SendAfter else {_dialect.Now} end)
            returning id
            """,
            new
            {
                Sender = request.Sender.Trim(),
                ReplyTo = request.ReplyTo?.Trim(),
                request.Subject,
                request.TextBody,
                request.HtmlBody,
                request.Priority,
                SendAfter = sendAfter,
                request.IdempotencyKey,
                MimeMessageId = NewMessageId(request.Sender),
            },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);

        var recipients = request.To.Select(a => ("to", a)).Concat(request.Cc.Select(a => ("cc", a))).Concat(request.Bcc.Select(a => ("bcc", a)));
        foreach (var (kind, address) in recipients)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                $"insert into {_dialect.Table("outbox_recipient")} (message_id, kind, address) values (@Id, @Kind, @Address)",
                new { Id = id, Kind = kind, Address = address.Trim() },
                transaction,
                cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        foreach (var attachment in request.Attachments)
        {
            await InsertAttachmentAsync(connection, transaction, id, attachment, cancellationToken).ConfigureAwait(false);
        }

        return id;
    }

    private async Task InsertAttachmentAsync(DbConnection connection, DbTransaction transaction, long id, MailAttachment attachment, CancellationToken cancellationToken)
    {
        if (attachment.Content.CanSeek)
        {
            await _dialect.InsertAttachmentAsync(connection, transaction, id, attachment, attachment.Content.Length - attachment.Content.Position, cancellationToken).ConfigureAwait(false);
            return;
        }

        // The database needs the length before the bytes: spool a forward-only stream to disk first.
        var spool = new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        await using (spool.ConfigureAwait(false))
        {
            await attachment.Content.CopyToAsync(spool, cancellationToken).ConfigureAwait(false);
            spool.Position = 0;
            var spooled = new MailAttachment
            {
                FileName = attachment.FileName,
                Content = spool,
                MimeType = attachment.MimeType,
                ContentId = attachment.ContentId,
                Inline = attachment.Inline,
            };
            await _dialect.InsertAttachmentAsync(connection, transaction, id, spooled, spool.Length, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string NewMessageId(string sender)
    {
        var address = MimeKit.MailboxAddress.Parse(sender.Trim()).Address;
        var at = address.LastIndexOf('@');
        return $"<{Guid.NewGuid()}@{address[(at + 1)..]}>";
    }
}
