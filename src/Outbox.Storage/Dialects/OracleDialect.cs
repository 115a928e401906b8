using System.Data.Common;
using System.Text;
using System.Text.RegularExpressions;
using Dapper;
using Outbox.Core.Messages;
using Outbox.Core.Validation;
using Outbox.Storage.Content;

namespace Outbox.Storage.Dialects;

/// <summary>
/// Oracle Database 12.2 or later, through Oracle.ManagedDataAccess.Core (ODP.NET), which this
/// project cannot ship: it is loaded by type name when the provider is "oracle". Only ADO.NET
/// abstractions are used, so the code compiles and is tested without the driver.
/// <para>
/// What Oracle does differently: :Name bind markers (Dapper sets ODP.NET's BindByName); no
/// multi-row RETURNING to the client and no LIMIT with SKIP LOCKED, so the claim and every
/// "update ... returning" are anonymous PL/SQL blocks that hand their rows back as implicit
/// results (DBMS_SQL.RETURN_RESULT, read by ODP.NET like a query's); BLOBs written in pieces
/// with DBMS_LOB.WRITEAPPEND and read through the LOB locator.
/// </para>
/// </summary>
public sealed partial class OracleDialect : SqlDialect
{
    public const string FactoryType = "Oracle.ManagedDataAccess.Client.OracleClientFactory, Oracle.ManagedDataAccess";

    public const string HowToAddDriver =
        "Build one with it from a clone: dotnet publish src/Outbox -p:PublishProfile=release -r linux-x64 -p:WithOracle=true, or build/release.sh (see docs/oracle.md)";

    // PL/SQL takes a RAW of at most 32767 bytes; 32 of these pieces make one round trip of 1 MB
    // (OutboxClient's attachments, through OUTBOX_MAIL.WRITE_ATTACHMENT).
    internal const int PieceSize = 32000;
    internal const int PiecesPerCall = 32;

    // The longest values OUTBOX_MAIL and OutboxClient accept, in bytes (UTF-8 here, LENGTHB in
    // the database), so that a value fits its VARCHAR2 column whatever its characters: a column
    // of N CHAR holds N characters but never more than 4000 bytes.
    internal const int SubjectBytes = 2000;
    internal const int AddressBytes = 1000;
    internal const int FileNameBytes = 1000;
    internal const int MimeTypeBytes = 400;
    internal const int ContentIdBytes = 400;

    private readonly string? _schema;

    /// <param name="schema">The schema that owns the outbox tables, when the worker connects as another user; null for its own.</param>
    public OracleDialect(string? schema = null)
    {
        if (schema is not null && !Identifier().IsMatch(schema))
        {
            throw new MailValidationException("Outbox:Database:Schema", $"\"{schema}\" is not a plain Oracle schema name",
                "Give the owner's name as created, e.g. OUTBOX, or leave it out when the worker connects as the owner");
        }

        _schema = schema;
    }

    /// <summary>The owner of the outbox tables as configured (Outbox:Database:Schema), or null for the connecting user.</summary>
    public string? Schema => _schema;

    /// <summary>The user the connection is logged in as.</summary>
    public const string SessionUserQuery = "select sys_context('userenv', 'session_user') from dual";

    public override string ScriptFolder => "oracle";

    public override string Now => "sys_extract_utc(systimestamp)";

    // A cursor FOR UPDATE SKIP LOCKED fetched with a LIMIT locks only the rows it fetches, and
    // skips rows other workers hold; a row limit in the query itself would be applied before
    // the locked rows are skipped and claim too few. The CASE expressions are those the claim
    // indexes (outbox_message_due_ix, outbox_message_priority_ix) are built on, so finished rows
    // are not in their path. Most of the batch by priority, the rest to the longest-waiting
    // mails (OutboxStore.ByPriority).
    public override string ClaimStatement => $"""
        declare
            ids    sys.odcinumberlist := sys.odcinumberlist();
            oldest sys.odcinumberlist := sys.odcinumberlist();
            by_age pls_integer := :ByAge;
            result sys_refcursor;
            cursor urgent is
                select id from {Table("outbox_message")}
                 where case when status in ('queued', 'sending') then due_at end <= sys_extract_utc(systimestamp)
                 order by case when status in ('queued', 'sending') then priority end, case when status in ('queued', 'sending') then due_at end, id
                   for update skip locked;
            cursor due is
                select id from {Table("outbox_message")}
                 where case when status in ('queued', 'sending') then due_at end <= sys_extract_utc(systimestamp)
                   and id not in (select column_value from table(ids))
                 order by case when status in ('queued', 'sending') then due_at end, id
                   for update skip locked;
        begin
            open urgent;
            fetch urgent bulk collect into ids limit :ByPriority;
            close urgent;
            -- A batch of one has no share by age, and a LIMIT must be positive.
            if by_age > 0 then
                open due;
                fetch due bulk collect into oldest limit by_age;
                close due;
            end if;
            for i in 1 .. oldest.count loop
                ids.extend;
                ids(ids.count) := oldest(i);
            end loop;
            forall i in 1 .. ids.count
                update {Table("outbox_message")} m
                   set m.status = 'sending', m.lease_owner = :Worker, m.due_at = {NowPlusSeconds(":LeaseSeconds")},
                       m.taken_over_from = case when m.status = 'sending' then m.lease_owner end,
                       m.attempt_count = m.attempt_count + case when m.data_started_at is null and (m.status = 'sending' or m.expires_at <= sys_extract_utc(systimestamp)) then 0 else 1 end, m.last_attempt_at = sys_extract_utc(systimestamp)
                 where m.id = ids(i);
            open result for
                select m.id, m.kind, m.sender, m.reply_to as ReplyTo, m.subject, m.text_body as TextBody, m.html_body as HtmlBody,
                       m.priority, m.mime_message_id as MimeMessageId, m.attempt_count as AttemptCount, m.taken_over_from as TakenOverFrom, m.profile,
                       m.template, m.template_locale as TemplateLocale, m.template_data as TemplateData, m.headers, case when m.expires_at <= sys_extract_utc(systimestamp) then 1 else 0 end as Expired
                  from {Table("outbox_message")} m
                 where m.id in (select column_value from table(ids));
            dbms_sql.return_result(result);
        end;
        """;

    public override string TablesQuery => _schema is null
        ? "select table_name from user_tables"
        : $"select table_name from all_tables where owner = upper('{_schema}')";

    // The container's DBID is new in a clone (CREATE PLUGGABLE DATABASE ... FROM, RMAN DUPLICATE,
    // a Data Pump import into another database); its name tells PDBs apart. SYS_CONTEXT needs
    // no privilege. An RMAN restore of the same database keeps both.
    public const string IdentityExpression = "'Oracle DBID ' || sys_context('userenv', 'con_dbid') || ', container ' || sys_context('userenv', 'con_name')";

    public override string DatabaseIdentityQuery => $"select {IdentityExpression} from dual";

    // A user other than the owner sees another schema's errors only for objects it may use.
    public override string CompileErrorsQuery => $"""
        select e.name || ' ' || lower(e.type) || ' line ' || e.line || ': ' || e.text
          from {(_schema is null ? "user_errors e where" : $"all_errors e where e.owner = upper('{_schema}') and")} e.name like 'OUTBOX\_%' escape '\' and e.attribute = 'ERROR'
         order by e.name, e.type, e.sequence
         fetch first 1 rows only
        """;

    public override string Table(string name) => _schema is null ? name : $"{_schema}.{name}";

    public override string NowPlusSeconds(string parameter) => $"(sys_extract_utc(systimestamp) + numtodsinterval({parameter}, 'SECOND'))";

    public override string AsIsoText(string column) => $"to_char({column}, 'YYYY-MM-DD\"T\"HH24:MI:SS.FF3\"Z\"')";

    // On intervals, not DATEs: a DATE difference times 86400 is a NUMBER of ~40 digits that
    // ODP.NET cannot read as decimal, and DATEs drop the fractions of a second.
    public override string SecondsSince(string column)
    {
        var elapsed = $"(sys_extract_utc(systimestamp) - {column})";
        return $"cast(extract(day from {elapsed}) * 86400 + extract(hour from {elapsed}) * 3600 + extract(minute from {elapsed}) * 60 + extract(second from {elapsed}) as binary_double)";
    }

    // Dapper expands a list parameter into (:Ids1, :Ids2, ...) for every driver but Npgsql.
    public override string InList(string column, string parameter) => $"{column} in {parameter}";

    public override string ByteLength(string column) => $"dbms_lob.getlength({column})";

    public override string TemplateEditor => "sys_context('userenv', 'session_user')";

    public override string OwnedByCurrentUser => "created_by = sys_context('userenv', 'session_user')";

    public override string Limit(string count) => $"fetch first {count} rows only";

    // ORA-00054: resource busy and acquire with NOWAIT specified or timeout expired.
    public override bool IsLockBusy(DbException exception) => exception?.Message.StartsWith("ORA-00054", StringComparison.Ordinal) == true;

    // ODP.NET rejects a carriage return inside a PL/SQL block (PLS-00103), which a checkout
    // with Windows line endings would put into every multi-line statement.
    public override string Sql(string statement) =>
        BindMarker().Replace(statement.ReplaceLineEndings("\n"), ":$1");

    public override string ReturningIds(string update) => $"""
        declare
            ids    sys.odcinumberlist;
            result sys_refcursor;
        begin
            {update}
            returning id bulk collect into ids;
            open result for select column_value as id from table(ids);
            dbms_sql.return_result(result);
        end;
        """;

    public override string ReturningStatus(string update) => $"""
        declare
            statuses sys.odcivarchar2list;
            result   sys_refcursor;
        begin
            {update}
            returning status bulk collect into statuses;
            open result for select column_value as status from table(statuses);
            dbms_sql.return_result(result);
        end;
        """;

    public override string Batch(params string[] statements) =>
        "begin\n" + string.Concat(statements.Select(s => s.TrimEnd() + ";\n")) + "end;";

    // INSERT ALL would give every row one identity value; UNION ALL of single rows does not.
    public override string InsertRows(string table, string columns, IEnumerable<string> rows) =>
        $"insert into {table} ({columns})\n" + string.Join("\nunion all\n", rows.Select(row => $"select {row} from dual"));

    public override string InsertReturningId(string insert) => ReturningNewId(insert);

    public override IReadOnlyList<string> StatementsOf(string script) => SqlPlusScript.Split(script);

    public override object TimestampParameter(DateTimeOffset value) => value.UtcDateTime;

    public override SqlMapper.ICustomQueryParameter LargeText(string? value) => new OracleClob(value);

    // The limits OUTBOX_MAIL checks (-20005), in bytes as it counts them, so a long value is
    // refused by name instead of failing with ORA-12899 (or ORA-01461 from the driver).
    public override void CheckColumnSizes(MailRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        (string Field, string? Value, int Max)[] values =
        [
            ("sender", request.Sender.Trim(), AddressBytes), ("replyto", request.ReplyTo?.Trim(), AddressBytes), ("subject", request.Subject, SubjectBytes),
            .. request.To.Select(a => ("to", (string?)a.Trim(), AddressBytes)),
            .. request.Cc.Select(a => ("cc", (string?)a.Trim(), AddressBytes)),
            .. request.Bcc.Select(a => ("bcc", (string?)a.Trim(), AddressBytes)),
            .. request.Attachments.SelectMany(a => new[] { ("filename", FileNameAsStored(a.FileName), FileNameBytes), ("mime_type", (string?)a.MimeType, MimeTypeBytes), ("content_id", a.ContentId, ContentIdBytes) }),
        ];
        foreach (var (field, value, max) in values)
        {
            CheckBytes(field, value, max);
        }
    }

    public override void CheckColumnSizes(Core.Templates.TemplateSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        CheckBytes("subject", source.Subject, SubjectBytes);
    }

    private static void CheckBytes(string field, string? value, int max)
    {
        var bytes = value is null ? 0 : Encoding.UTF8.GetByteCount(value);
        if (bytes > max)
        {
            throw new MailValidationException(field, $"is {bytes} bytes, more than the {max} allowed",
                "Shorten it; the Oracle column holds no more (a character outside ASCII takes two to four bytes)");
        }
    }

    // As OUTBOX_MAIL measures it: the name trimmed and cut to its last path segment.
    private static string? FileNameAsStored(string? fileName)
    {
        var name = fileName?.Trim();
        return name?[(name.LastIndexOfAny(['/', '\\']) + 1)..];
    }

    // ODP.NET names no application in its connection string; the pool bound it has ("Max Pool Size").
    public override DbDataSource CreateDataSource(string connectionString, ConnectionUse use)
    {
        ArgumentNullException.ThrowIfNull(use);
        var factory = ProviderFactoryLoader.Load(FactoryType, "oracle", "Oracle.ManagedDataAccess.Core", HowToAddDriver);
        if (use.MaxPoolSize is not { } max)
        {
            return factory.CreateDataSource(connectionString);
        }

        var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
        builder["Max Pool Size"] = max;
        if (builder.TryGetValue("Min Pool Size", out var min) && int.TryParse(min?.ToString(), out var given) && given > max)
        {
            builder["Min Pool Size"] = max;
        }

        return factory.CreateDataSource(builder.ConnectionString);
    }

    public override Task<Stream> OpenAttachmentAsync(DbDataSource dataSource, ClaimedAttachment attachment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        return Task.FromResult<Stream>(new ReaderBlobStream(
            dataSource, Sql($"select content from {Table("outbox_attachment")} where id = @Id"), attachment.Id, attachment.Size));
    }

    // One INSERT in a block that hands the new id back as a one-row implicit result.
    private static string ReturningNewId(string insert, string? onError = null) => $"""
        declare
            new_id number;
            result sys_refcursor;
        begin
            begin
                {insert}
                returning id into new_id;
            {(onError is null ? string.Empty : "exception " + onError)}
            end;
            open result for select new_id as id from dual;
            dbms_sql.return_result(result);
        end;
        """;

    // @Name not preceded by a word character, "@" or ":" (so "user@example.com" stays as it is).
    [GeneratedRegex(@"(?<![\w@:])@(\w+)")]
    private static partial Regex BindMarker();

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_$#]{0,127}$")]
    private static partial Regex Identifier();
}
