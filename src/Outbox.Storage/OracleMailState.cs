using System.Data.Common;
using System.Globalization;
using Dapper;
using Outbox.Storage.Dialects;

namespace Outbox.Storage;

/// <summary>
/// What became of a mail, read on Oracle through OUTBOX_MAIL.MAIL_STATUS and MAIL_RECIPIENTS,
/// which OUTBOX_SENDER may call and which show only the session user's own mails. Their cursors
/// come back as implicit results; times (UTC TIMESTAMPs) become the ISO text the other databases give.
/// </summary>
internal static class OracleMailState
{
    public static async Task<MailState?> ReadAsync(DbConnection connection, OracleDialect oracle, long id, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        var package = OracleApiMailWriter.Package(oracle);
        MailState? state;
        await using (var reader = await ReadCursorAsync(connection, $"{package}.mail_status", id, transaction, cancellationToken).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            state = new MailState
            {
                Id = Convert.ToInt64(reader["ID"], CultureInfo.InvariantCulture),
                Status = (string)reader["STATUS"],
                CreatedAt = Iso(reader["CREATED_AT"]) ?? string.Empty,
                QueuedAt = Iso(reader["QUEUED_AT"]),
                SentAt = Iso(reader["SENT_AT"]),
                AttemptCount = Convert.ToInt32(reader["ATTEMPT_COUNT"], CultureInfo.InvariantCulture),
                LastAttemptAt = Iso(reader["LAST_ATTEMPT_AT"]),
                ExpiresAt = Iso(reader["EXPIRES_AT"]),
                SmtpCode = reader["SMTP_CODE"] is DBNull ? null : Convert.ToInt32(reader["SMTP_CODE"], CultureInfo.InvariantCulture),
                SmtpReply = Text(reader["SMTP_REPLY"]),
                LastError = Text(reader["LAST_ERROR"]),
            };
        }

        var recipients = new List<RecipientState>();
        await using (var reader = await ReadCursorAsync(connection, $"{package}.mail_recipients", id, transaction, cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                recipients.Add(new RecipientState
                {
                    Kind = (string)reader["KIND"],
                    Address = (string)reader["ADDRESS"],
                    Status = Text(reader["STATUS"]),
                    SmtpReply = Text(reader["SMTP_REPLY"]),
                });
            }
        }

        return state with { Recipients = recipients };
    }

    private static Task<DbDataReader> ReadCursorAsync(DbConnection connection, string function, long id, DbTransaction? transaction, CancellationToken cancellationToken) =>
        connection.ExecuteReaderAsync(new CommandDefinition(
            $"declare c sys_refcursor; begin c := {function}(mail_id => :Id); dbms_sql.return_result(c); end;",
            new { Id = id }, transaction, cancellationToken: cancellationToken));

    private static string? Text(object value) => value is DBNull ? null : (string)value;

    // As OracleDialect.AsIsoText writes them in SQL.
    private static string? Iso(object value) =>
        value is DateTime time ? time.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) : null;
}
