using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Outbox.Core.Messages;
using Outbox.Storage.Content;

namespace Outbox.Storage.Dialects;

public sealed class SqliteDialect : SqlDialect
{
    private const string IsoNow = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

    public override string ScriptFolder => "sqlite";

    public override string Now => IsoNow;

    // SQLite has one writer at a time, so a single UPDATE ... RETURNING is the atomic claim.
    // Most of the batch by priority, the rest to the longest-waiting mails (OutboxStore.ByPriority);
    // id breaks ties, so the two evaluations of the priority part choose the same rows.
    public override string ClaimStatement => $"""
        update outbox_message
           set status = 'sending', lease_owner = @Worker, due_at = {NowPlusSeconds("@LeaseSeconds")},
               taken_over_from = case when status = 'sending' then lease_owner end,
               attempt_count = attempt_count + case when data_started_at is null and (status = 'sending' or expires_at <= {IsoNow}) then 0 else 1 end, last_attempt_at = {IsoNow}
         where id in (select id from (select id from outbox_message
                                       where status in ('queued', 'sending') and due_at <= {IsoNow}
                                       order by priority, due_at, id
                                       limit @ByPriority)
                      union all
                      select id from (select id from outbox_message
                                       where status in ('queued', 'sending') and due_at <= {IsoNow}
                                         and id not in (select id from outbox_message
                                                         where status in ('queued', 'sending') and due_at <= {IsoNow}
                                                         order by priority, due_at, id
                                                         limit @ByPriority)
                                       order by due_at, id
                                       limit @ByAge))
        returning id, kind, sender, reply_to as ReplyTo, subject, text_body as TextBody, html_body as HtmlBody,
                  priority, mime_message_id as MimeMessageId, attempt_count as AttemptCount, taken_over_from as TakenOverFrom, profile,
                  template, template_locale as TemplateLocale, template_data as TemplateData, headers, coalesce(expires_at <= {IsoNow}, 0) as Expired
        """;

    // One writer at a time: a transaction's rows are not locked one by one.
    public override string NoWait => string.Empty;

    public override string Table(string name) => name;

    public override string NowPlusSeconds(string parameter) => $"strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ({parameter}) || ' seconds')";

    public override string AsIsoText(string column) => column;

    public override string SecondsSince(string column) => $"((julianday('now') - julianday({column})) * 86400.0)";

    public override string InList(string column, string parameter) => $"{column} in {parameter}";

    public override string ByteLength(string column) => $"length({column})";

    // A SQLite file has no users (and no created_by column): keys are unique in the file.
    public override string OwnedByCurrentUser => "1 = 1";

    /// <summary>An INSERT into outbox_message that returns the new id, or no row when the idempotency key is taken.</summary>
    public static string InsertMessageReturningId(string insert) => $"{insert}\non conflict (idempotency_key) do nothing\nreturning id";

    public override string TablesQuery => "select name from sqlite_master where type = 'table'";

    // The file's absolute path as SQLite opened it: a copy is another file. The same path on
    // another machine is told apart by the machine's id (Linux's /etc/machine-id, hashed: it is
    // not to be shown); without one (Windows, some containers) the path alone.
    public override string DatabaseIdentityQuery => "select file from pragma_database_list where name = 'main'";

    public override string IdentityOf(string queried) => MachineId is { } machine ? $"SQLite file {queried} on machine {machine}" : $"SQLite file {queried}";

    private static readonly string? MachineId = ReadMachineId();

    private static string? ReadMachineId()
    {
        try
        {
            var id = File.ReadAllText("/etc/machine-id").Trim();
            return id.Length == 0 ? null : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("outbox:" + id)))[..12];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public override object TimestampParameter(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    // A SQLite file has no server whose connections a use could take from another.
    public override DbDataSource CreateDataSource(string connectionString, ConnectionUse use)
    {
        // Foreign keys make deleting a mail delete its parts; the default timeout doubles as
        // the time a writer waits for another one (several workers or a CLI on one file).
        var builder = new SqliteConnectionStringBuilder(connectionString) { ForeignKeys = true };
        if (builder.DefaultTimeout < 30)
        {
            builder.DefaultTimeout = 30;
        }

        return SqliteFactory.Instance.CreateDataSource(builder.ConnectionString);
    }

    /// <summary>Inserts an attachment row, streaming its content; returns the new id.</summary>
    public static async Task<long> InsertAttachmentAsync(DbConnection connection, DbTransaction transaction, long messageId, MailAttachment attachment, long length, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            insert into outbox_attachment (message_id, file_name, mime_type, content_id, is_inline, content)
            values (@MessageId, @FileName, @MimeType, @ContentId, @IsInline, zeroblob(@Length))
            returning id
            """,
            new
            {
                MessageId = messageId,
                attachment.FileName,
                attachment.MimeType,
                attachment.ContentId,
                IsInline = attachment.Inline || attachment.ContentId is not null,
                Length = length,
            },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);

        // Incremental blob I/O: the content goes to the file in pieces, never whole in memory.
        using var blob = new SqliteBlob((SqliteConnection)connection, "outbox_attachment", "content", id);
        await attachment.Content.CopyToAsync(blob, cancellationToken).ConfigureAwait(false);
        return id;
    }

    public override async Task<Stream> OpenAttachmentAsync(DbDataSource dataSource, ClaimedAttachment attachment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(attachment);
        var connection = (SqliteConnection)await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return new ConnectionOwningStream(new SqliteBlob(connection, "outbox_attachment", "content", attachment.Id, readOnly: true), connection);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
