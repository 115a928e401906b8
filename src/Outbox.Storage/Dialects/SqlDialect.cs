using System.Data.Common;
using Dapper;
using Outbox.Core.Messages;

namespace Outbox.Storage.Dialects;

/// <summary>
/// The SQL that differs between databases, and nothing else: the store, the client and the
/// admin queries are written once against these members (the Quartz.NET delegate pattern).
/// </summary>
public abstract class SqlDialect
{
    /// <summary>The folder under sql/ whose numbered scripts install this database's schema, in name order.</summary>
    public abstract string ScriptFolder { get; }

    /// <summary>The qualified name of an outbox table.</summary>
    public abstract string Table(string name);

    /// <summary>The database clock, in the type the timestamp columns use.</summary>
    public abstract string Now { get; }

    /// <summary>The database clock plus a number of seconds held by a parameter.</summary>
    public abstract string NowPlusSeconds(string parameter);

    /// <summary>A timestamp column as ISO 8601 UTC text, for display.</summary>
    public abstract string AsIsoText(string column);

    /// <summary>Seconds from a timestamp column until now.</summary>
    public abstract string SecondsSince(string column);

    /// <summary>
    /// "column is one of the list parameter". Dapper expands a list into (@p1, @p2, ...) for
    /// most providers but passes it whole, as an array, to Npgsql.
    /// </summary>
    public abstract string InList(string column, string parameter);

    /// <summary>The size in bytes of a binary column, without reading it.</summary>
    public abstract string ByteLength(string column);

    /// <summary>
    /// A statement written with @Name bind markers, in this database's bind syntax. Every
    /// statement goes through here, so each is written once for all databases.
    /// </summary>
    public virtual string Sql(string statement) => statement;

    /// <summary>The clause that ends a query after count rows.</summary>
    public virtual string Limit(string count) => $"limit {count}";

    /// <summary>
    /// Ends a subquery that chooses rows an admin statement changes: locks them, leaving out rows
    /// another transaction holds instead of waiting for it. Empty where a subquery cannot lock
    /// (Oracle: its DML waits for a held row, then tests its WHERE again; SQLite: one writer).
    /// </summary>
    public virtual string SkipLocked => string.Empty;

    /// <summary>A DELETE of the rows whose ids a query chooses, each deleted only if the condition still holds for it.</summary>
    public virtual string DeleteChosen(string table, string choose, string condition) => $"""
        delete from {table}
         where id in ({choose})
           and {condition}
        """;

    /// <summary>Ends a SELECT of one row that an operator's change locks without waiting; empty where the database has no row locks (SQLite).</summary>
    public virtual string NoWait => "\n   for update nowait";

    /// <summary>True when a statement failed because a row or table it needed was held by another transaction and it would not wait.</summary>
    public virtual bool IsLockBusy(DbException exception) => false;

    /// <summary>An UPDATE made to return the ids of the rows it changed, as a result set.</summary>
    public virtual string ReturningIds(string update) => $"{update}\nreturning id";

    /// <summary>
    /// An UPDATE of at most one row made to return the status it wrote, as a result set (no row:
    /// it changed nothing). For statements whose outcome the database decides (the mark, a retry
    /// that would come after the mail's expiry).
    /// </summary>
    public virtual string ReturningStatus(string update) => $"{update}\nreturning status";

    /// <summary>Several statements sent as one command (one round trip).</summary>
    public virtual string Batch(params string[] statements) => string.Join(";\n", statements);

    /// <summary>One INSERT of several rows; each row is a comma-separated list of values.</summary>
    public virtual string InsertRows(string table, string columns, IEnumerable<string> rows) =>
        $"insert into {table} ({columns})\nvalues " + string.Join(",\n       ", rows.Select(row => $"({row})"));

    /// <summary>An INSERT of one row made to return its new id as a one-row result.</summary>
    public virtual string InsertReturningId(string insert) => $"{insert}\nreturning id";

    /// <summary>
    /// The condition that an outbox_message row belongs to the connection's database user, whom
    /// created_by records by default: a mail and its idempotency key belong to the user that made it.
    /// </summary>
    public abstract string OwnedByCurrentUser { get; }

    /// <summary>
    /// One statement that records a group of sent mails given as arrays, for databases with array
    /// binds: @Ids, @Codes, @Replies, @AttemptNos, @Accounts (one element per mail) and @Worker.
    /// It does what the generic path does in three round trips (the guarded UPDATE, the attempt
    /// rows, the accepted recipients); a mail another worker took over is left alone. Its text
    /// never changes, so it is prepared once per connection. Null where arrays cannot be bound.
    /// </summary>
    public virtual string? SentGroupStatement => null;

    /// <summary>
    /// Refuses a value longer than this database's column for it, naming the field, as the
    /// database's own enqueue API does. PostgreSQL's and SQLite's text columns have no such size.
    /// </summary>
    public virtual void CheckColumnSizes(MailRequest request)
    {
    }

    /// <summary>Refuses a template whose subject is longer than this database's column for it, naming the field.</summary>
    public virtual void CheckColumnSizes(Core.Templates.TemplateSource source)
    {
    }

    /// <summary>
    /// Who saves a template, for outbox_template's created_by / changed_by: the database's login
    /// user; SQLite, which has none, takes the @User parameter (the operating system's user).
    /// </summary>
    public virtual string TemplateEditor => "@User";

    /// <summary>
    /// A long text value (a mail body, template data) as a parameter of this database. Typed as
    /// Dapper's custom parameter, so that Dapper lets it add itself (an object-typed property
    /// would be bound as the wrapper object, which no driver takes).
    /// </summary>
    public virtual SqlMapper.ICustomQueryParameter LargeText(string? value) => new TextParameter(value);

    /// <summary>
    /// The first compile error of the outbox's stored code, as one text, or null where the
    /// install scripts make no code that can stay installed with errors (Oracle's packages can:
    /// CREATE succeeds and the errors go to USER_ERRORS).
    /// </summary>
    public virtual string? CompileErrorsQuery => null;

    /// <summary>Lists the names of the tables the configured user can see in the outbox's schema.</summary>
    public abstract string TablesQuery { get; }

    /// <summary>
    /// One row, one text naming the database the connection is in, such that a copy of it (a
    /// clone, a restore into another database or server) reads differently: the install records
    /// it in outbox_setting 'database_identity' and the worker sends only while it matches. Any
    /// user that may connect can run it. The install scripts hold the same expression (a test
    /// checks).
    /// </summary>
    public abstract string DatabaseIdentityQuery { get; }

    /// <summary>The identity as recorded, from what <see cref="DatabaseIdentityQuery"/> returned (SQLite adds the machine).</summary>
    public virtual string IdentityOf(string queried) => queried;

    /// <summary>
    /// The statements of one install script, in order, for running through ADO.NET. PostgreSQL
    /// and SQLite take a script as one command.
    /// </summary>
    public virtual IReadOnlyList<string> StatementsOf(string script) => [script];

    /// <summary>
    /// Claims up to @BatchSize due mails for @Worker for @LeaseSeconds and returns their
    /// outbox_message columns, in one statement, so two workers never claim the same row.
    /// </summary>
    public abstract string ClaimStatement { get; }

    /// <summary>
    /// A statement that wakes listening workers when the transaction commits, or null where the
    /// database cannot (SQLite: workers find new mail by polling).
    /// </summary>
    public virtual string? WakeWorkersStatement => null;

    /// <summary>
    /// Calls wake each time new mail is announced, until cancelled; returns at once where the
    /// database has no notifications. Throws when the connection fails (the caller retries).
    /// </summary>
    public virtual Task ListenForNewMailAsync(DbDataSource dataSource, Func<CancellationToken, Task> wake, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A timestamp value as a parameter of this database.</summary>
    public abstract object TimestampParameter(DateTimeOffset value);

    /// <summary>A data source of its own for one use (the worker, the dashboard, a CLI command), with that use's pool bound.</summary>
    public abstract DbDataSource CreateDataSource(string connectionString, ConnectionUse use);

    /// <summary>Opens an attachment's content as a seekable stream that reads from the database as it goes.</summary>
    public abstract Task<Stream> OpenAttachmentAsync(DbDataSource dataSource, ClaimedAttachment attachment, CancellationToken cancellationToken);
}
