using System.Data;
using System.Data.Common;
using System.Globalization;
using Dapper;
using Outbox.Core.Messages;
using Outbox.Core.Validation;
using Outbox.Storage.Dialects;

namespace Outbox.Storage;

/// <summary>
/// Writes a mail on Oracle through the OUTBOX_MAIL package (CREATE_MAIL, ADD_RECIPIENT,
/// SET_TEMPLATE, OPEN_ATTACHMENT / WRITE_ATTACHMENT, ENQUEUE), as PL/SQL callers do: an
/// application needs only OUTBOX_SENDER, the package checks every rule and limit and records the
/// session user as the mail's owner. Its errors (ORA-20001 to ORA-20009, "field: problem. hint")
/// come back as <see cref="MailValidationException"/> naming the same field. Attachments go in
/// pieces of 32000 bytes (a RAW argument holds at most 32767), 32 of them a round trip, so no
/// BLOB is built in memory.
/// </summary>
internal static class OracleApiMailWriter
{
    private const string Savepoint = "outbox_enqueue";

    public static async Task<long> WriteAsync(DbConnection connection, DbTransaction transaction, OracleDialect dialect, MailRequest request, IReadOnlyList<MailAttachment> attachments, CancellationToken cancellationToken)
    {
        // A refusal comes after CREATE_MAIL has written: the savepoint undoes only the mail, so the
        // caller's own writes in the same transaction can still commit, as on PostgreSQL.
        await ExecuteAsync(connection, transaction, $"savepoint {Savepoint}", null, cancellationToken).ConfigureAwait(false);
        try
        {
            return await WriteMailAsync(connection, transaction, dialect, request, attachments, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (connection.State == ConnectionState.Open)
        {
            await ExecuteAsync(connection, transaction, $"rollback to savepoint {Savepoint}", null, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<long> WriteMailAsync(DbConnection connection, DbTransaction transaction, OracleDialect dialect, MailRequest request, IReadOnlyList<MailAttachment> attachments, CancellationToken cancellationToken)
    {
        try
        {
            var created = new DynamicParameters(new
            {
                request.Sender,
                request.Subject,
                TextBody = dialect.LargeText(request.TextBody),
                HtmlBody = dialect.LargeText(request.HtmlBody),
                request.ReplyTo,
                request.Priority,
                // The package takes TIMESTAMP WITH TIME ZONE: a DateTimeOffset binds as one, where a
                // DateTime would be read in the session's time zone.
                SendAfter = request.SendAfter?.ToUniversalTime(),
                request.IdempotencyKey,
                request.Profile,
                ExpiresAt = request.ExpiresAt?.ToUniversalTime(),
                request.ExpiresAfter,
                Headers = MailHeaderRules.Normalize(request.Headers),
            });
            created.Add("Id", dbType: DbType.Int64, direction: ParameterDirection.Output);
            await ExecuteAsync(connection, transaction,
                $"""
                begin
                    :Id := {Package(dialect)}.create_mail(sender => :Sender, subject => :Subject, text_body => :TextBody, html_body => :HtmlBody,
                        replyto => :ReplyTo, priority => :Priority, send_after => :SendAfter, idempotency_key => :IdempotencyKey, profile => :Profile,
                        expires_at => :ExpiresAt, expires_after => :ExpiresAfter, headers => :Headers);
                end;
                """, created, cancellationToken).ConfigureAwait(false);
            var id = Number(created.Get<object>("Id"));

            // A key seen before gives back the mail it made; the calls below then change nothing
            // on it (the package's builder calls leave a mail that is no longer a draft alone).
            foreach (var (kind, address) in request.RecipientsByKind())
            {
                try
                {
                    await ExecuteAsync(connection, transaction,
                        $"begin {Package(dialect)}.add_recipient(mail_id => :Id, recipient => :Address, kind => :Kind); end;",
                        new { Id = id, Address = address, Kind = kind }, cancellationToken).ConfigureAwait(false);
                }
                catch (DbException ex) when (Refusal(ex) is { Field: "recipient" } refusal)
                {
                    // Named as the C# checks name them: an address by the list it came from, the
                    // count (max_recipients) by the request's recipients as a whole.
                    throw refusal.Named(refusal.Problem.StartsWith("the mail would have", StringComparison.Ordinal) ? "recipients" : kind);
                }
            }

            if (request.Template is { } template)
            {
                await ExecuteAsync(connection, transaction,
                    $"begin {Package(dialect)}.set_template(mail_id => :Id, template => :Template, data => :Data, locale => :Locale); end;",
                    new { Id = id, Template = template, Data = dialect.LargeText(request.TemplateData ?? "{}"), request.Locale }, cancellationToken).ConfigureAwait(false);
            }

            foreach (var attachment in attachments)
            {
                await AddAttachmentAsync(connection, transaction, dialect, id, attachment, cancellationToken).ConfigureAwait(false);
            }

            await ExecuteAsync(connection, transaction, $"begin {Package(dialect)}.enqueue(mail_id => :Id); end;", new { Id = id }, cancellationToken).ConfigureAwait(false);
            return id;
        }
        catch (DbException ex) when (Refusal(ex) is { } refusal)
        {
            throw refusal.Named(refusal.Field);
        }
    }

    private static async Task AddAttachmentAsync(DbConnection connection, DbTransaction transaction, OracleDialect dialect, long mailId, MailAttachment attachment, CancellationToken cancellationToken)
    {
        // BOOLEAN cannot be bound before Oracle 23ai: the flag goes in as a number and becomes
        // the BOOLEAN argument in the block.
        var opened = new DynamicParameters(new { MailId = mailId, FileName = attachment.FileName, attachment.MimeType, attachment.ContentId, Inline = attachment.Inline ? 1 : 0 });
        opened.Add("Id", dbType: DbType.Int64, direction: ParameterDirection.Output);
        await ExecuteAsync(connection, transaction,
            $"""
            begin
                :Id := {Package(dialect)}.open_attachment(mail_id => :MailId, filename => :FileName, mime_type => :MimeType,
                    content_id => :ContentId, inline => :Inline = 1);
            end;
            """, opened, cancellationToken).ConfigureAwait(false);
        if (opened.Get<object>("Id") is null or DBNull)
        {
            // The mail was made before with this idempotency key: it has its attachments.
            return;
        }

        var id = Number(opened.Get<object>("Id"));
        // Up to 1 MB per round trip (32 calls of WRITE_ATTACHMENT in one block), never the whole
        // attachment in memory.
        var buffer = new byte[OracleDialect.PieceSize * OracleDialect.PiecesPerCall];
        int filled;
        while ((filled = await attachment.Content.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false)) > 0)
        {
            var pieces = (filled + OracleDialect.PieceSize - 1) / OracleDialect.PieceSize;
            var parameters = new DynamicParameters(new { Id = id });
            for (var i = 0; i < pieces; i++)
            {
                parameters.Add($"Piece{i}", buffer.AsSpan(i * OracleDialect.PieceSize, Math.Min(OracleDialect.PieceSize, filled - (i * OracleDialect.PieceSize))).ToArray());
            }

            await ExecuteAsync(connection, transaction,
                "begin\n" + string.Concat(Enumerable.Range(0, pieces).Select(i => $"    {Package(dialect)}.write_attachment(attachment_id => :Id, data => :Piece{i});\n")) + "end;",
                parameters, cancellationToken).ConfigureAwait(false);
            if (filled < buffer.Length)
            {
                return;
            }
        }
    }

    // The package of the schema the client was made for (OutboxClient.For(connection, schema)), else
    // the one the session's name resolution finds (its own, or a synonym).
    internal static string Package(OracleDialect dialect) => dialect.Schema is { } owner ? $"{owner}.outbox_mail" : "outbox_mail";

    private static Task<int> ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, object? parameters, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken));

    // ODP.NET gives an output NUMBER as its own OracleDecimal, which no cast turns into a long:
    // its text does.
    private static long Number(object value) => long.Parse(value.ToString()!, NumberStyles.Integer, CultureInfo.InvariantCulture);

    /// <summary>
    /// OUTBOX_MAIL's refusals are ORA-20001 to ORA-20009 with "field: problem. hint" (its FAIL
    /// procedure); ODP.NET adds the ORA-06512 lines of the call stack below the first line.
    /// </summary>
    private static Refused? Refusal(DbException ex)
    {
        var first = ex.Message.Split('\n')[0].Trim();
        if (!first.StartsWith("ORA-2000", StringComparison.Ordinal) || first.IndexOf(": ", StringComparison.Ordinal) is not (var code and > 0))
        {
            return null;
        }

        var text = first[(code + 2)..];
        var colon = text.IndexOf(": ", StringComparison.Ordinal);
        if (colon < 0)
        {
            return null;
        }

        var rest = text[(colon + 2)..];
        var stop = rest.IndexOf(". ", StringComparison.Ordinal);
        return stop < 0
            ? new Refused(text[..colon], rest.TrimEnd('.'), string.Empty)
            : new Refused(text[..colon], rest[..stop], rest[(stop + 2)..].TrimEnd('.'));
    }

    private sealed record Refused(string Field, string Problem, string Hint)
    {
        public MailValidationException Named(string field) => new(field, Problem, Hint);
    }
}
