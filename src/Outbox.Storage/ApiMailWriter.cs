using System.Data.Common;
using Dapper;
using Npgsql;
using NpgsqlTypes;
using Outbox.Core.Messages;
using Outbox.Core.Validation;

namespace Outbox.Storage;

/// <summary>
/// Writes a mail on PostgreSQL through the outbox_mail API (create_mail, add_recipient,
/// set_template, add_attachment, enqueue), as PL/pgSQL callers do: an application needs only
/// outbox_sender, the database checks every rule and limit and records the connection's login
/// role as the mail's owner. The API's errors (SQLSTATE 22023, "field: problem") come back as
/// <see cref="MailValidationException"/> naming the same field. The attachments are the
/// request's, made seekable by the caller.
/// </summary>
internal static class ApiMailWriter
{
    private const string InvalidParameter = "22023";
    private const string Savepoint = "outbox_enqueue";

    public static async Task<long> WriteAsync(NpgsqlConnection connection, DbTransaction transaction, MailRequest request, IReadOnlyList<MailAttachment> attachments, CancellationToken cancellationToken)
    {
        // A refusal is raised by the database after create_mail has written, and an error aborts
        // the whole transaction: the savepoint undoes only the mail, so the caller's own writes
        // in the same transaction can still commit, as they can when the C# checks refuse.
        var postgres = (NpgsqlTransaction)transaction;
        await postgres.SaveAsync(Savepoint, cancellationToken).ConfigureAwait(false);
        try
        {
            var id = await WriteMailAsync(connection, transaction, request, attachments, cancellationToken).ConfigureAwait(false);
            await postgres.ReleaseAsync(Savepoint, cancellationToken).ConfigureAwait(false);
            return id;
        }
        catch (Exception) when (connection.FullState == System.Data.ConnectionState.Open)
        {
            await postgres.RollbackAsync(Savepoint, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<long> WriteMailAsync(NpgsqlConnection connection, DbTransaction transaction, MailRequest request, IReadOnlyList<MailAttachment> attachments, CancellationToken cancellationToken)
    {
        try
        {
            var id = await connection.ExecuteScalarAsync<long>(Command(
                """
                select outbox_mail.create_mail(sender => @Sender, subject => @Subject, text_body => @TextBody, html_body => @HtmlBody,
                    replyto => @ReplyTo, priority => @Priority, send_after => @SendAfter, idempotency_key => @IdempotencyKey, profile => @Profile,
                    expires_at => @ExpiresAt, expires_after => @ExpiresAfter, headers => @Headers)
                """,
                new
                {
                    ExpiresAt = request.ExpiresAt?.ToUniversalTime(),
                    request.ExpiresAfter,
                    Headers = MailHeaderRules.Normalize(request.Headers),
                    request.Sender,
                    request.Subject,
                    request.TextBody,
                    request.HtmlBody,
                    request.ReplyTo,
                    request.Priority,
                    SendAfter = request.SendAfter?.ToUniversalTime(),
                    request.IdempotencyKey,
                    request.Profile,
                },
                transaction,
                cancellationToken)).ConfigureAwait(false);
            if (request.IdempotencyKey is not null && await MadeBeforeAsync(connection, transaction, id, cancellationToken).ConfigureAwait(false))
            {
                return id;
            }

            foreach (var (kind, address) in request.RecipientsByKind())
            {
                try
                {
                    await connection.ExecuteAsync(Command(
                        "select outbox_mail.add_recipient(mail_id => @Id, recipient => @Address, kind => @Kind)",
                        new { Id = id, Address = address, Kind = kind }, transaction, cancellationToken)).ConfigureAwait(false);
                }
                catch (PostgresException ex) when (ex.SqlState == InvalidParameter && ex.MessageText.StartsWith("recipient: ", StringComparison.Ordinal))
                {
                    // Named as the C# checks name them: an address by the list it came from, the
                    // count (max_recipients) by the request's recipients as a whole.
                    throw Invalid(ex, ex.MessageText.StartsWith("recipient: the mail would have", StringComparison.Ordinal) ? "recipients" : kind);
                }
            }

            if (request.Template is { } template)
            {
                await connection.ExecuteAsync(Command(
                    "select outbox_mail.set_template(mail_id => @Id, template => @Template, data => @Data::jsonb, locale => @Locale)",
                    new { Id = id, Template = template, Data = request.TemplateData ?? "{}", request.Locale }, transaction, cancellationToken)).ConfigureAwait(false);
            }

            foreach (var attachment in attachments)
            {
                await AddAttachmentAsync(connection, transaction, id, attachment, cancellationToken).ConfigureAwait(false);
            }

            await connection.ExecuteAsync(Command("select outbox_mail.enqueue(@Id)", new { Id = id }, transaction, cancellationToken)).ConfigureAwait(false);
            return id;
        }
        catch (PostgresException ex) when (ex.SqlState == InvalidParameter)
        {
            throw Invalid(ex);
        }
    }

    // A known key gives back the mail made with it, by another transaction (whose start time,
    // now(), differs from this one's) or earlier in this one (queued already); then nothing is
    // added to it.
    private static async Task<bool> MadeBeforeAsync(NpgsqlConnection connection, DbTransaction transaction, long id, CancellationToken cancellationToken) =>
        await connection.ExecuteScalarAsync<bool>(Command(
            "select status <> 'draft' or created_at <> now() from outbox_mail.mail_status(@Id)",
            new { Id = id }, transaction, cancellationToken)).ConfigureAwait(false);

    private static async Task AddAttachmentAsync(NpgsqlConnection connection, DbTransaction transaction, long id, MailAttachment attachment, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            select outbox_mail.add_attachment(mail_id => @mail_id, filename => @filename, content => @content,
                mime_type => @mime_type, content_id => @content_id, inline => @inline)
            """,
            connection,
            (NpgsqlTransaction)transaction);
        command.Parameters.AddWithValue("mail_id", id);
        command.Parameters.AddWithValue("filename", (object?)attachment.FileName ?? DBNull.Value);
        command.Parameters.AddWithValue("mime_type", attachment.MimeType);
        command.Parameters.AddWithValue("content_id", (object?)attachment.ContentId ?? DBNull.Value);
        command.Parameters.AddWithValue("inline", attachment.Inline);
        // A seekable stream is copied to the server as it is read (OutboxClient spools forward-only
        // streams first); the function then holds the value in the server's memory once.
        command.Parameters.Add(new NpgsqlParameter("content", NpgsqlDbType.Bytea) { Value = attachment.Content });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static CommandDefinition Command(string sql, object parameters, DbTransaction transaction, CancellationToken cancellationToken) =>
        new(sql, parameters, transaction, cancellationToken: cancellationToken);

    // "recipient: "user@" is not a valid mail address" with its hint, as the C# checks word theirs.
    private static MailValidationException Invalid(PostgresException ex, string? field = null)
    {
        var colon = ex.MessageText.IndexOf(": ", StringComparison.Ordinal);
        return colon < 0
            ? new MailValidationException(ex.MessageText, ex)
            : new MailValidationException(field ?? ex.MessageText[..colon], ex.MessageText[(colon + 2)..].TrimEnd('.'), (ex.Hint ?? string.Empty).TrimEnd('.'));
    }
}
