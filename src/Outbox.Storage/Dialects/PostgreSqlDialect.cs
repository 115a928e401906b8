using System.Data.Common;
using Npgsql;
using NpgsqlTypes;
using Outbox.Core.Messages;
using Outbox.Storage.Content;

namespace Outbox.Storage.Dialects;

public sealed class PostgreSqlDialect : SqlDialect
{
    public override string ScriptFolder => "postgresql";

    public override string Now => "now()";

    // SKIP LOCKED: concurrent workers each take different rows instead of queueing on one lock.
    // Most of the batch goes by priority (1 first), the rest to the longest-waiting mails of any
    // priority, so a stream of urgent mail never starves the others (OutboxStore.ByPriority).
    public override string ClaimStatement => """
        with urgent as (
            select id from outbox.outbox_message
             where status in ('queued', 'sending') and due_at <= now()
             order by priority, due_at, id
             limit @ByPriority
               for update skip locked),
        oldest as (
            select id from outbox.outbox_message
             where status in ('queued', 'sending') and due_at <= now() and id not in (select id from urgent)
             order by due_at, id
             limit @ByAge
               for update skip locked),
        due as (select id from urgent union all select id from oldest)
        update outbox.outbox_message m
           set status = 'sending', lease_owner = @Worker, due_at = now() + make_interval(secs => @LeaseSeconds),
               taken_over_from = case when m.status = 'sending' then m.lease_owner end,
               attempt_count = m.attempt_count + case when m.data_started_at is null and (m.status = 'sending' or m.expires_at <= now()) then 0 else 1 end, last_attempt_at = now()
          from due
         where m.id = due.id
        returning m.id, m.kind, m.sender, m.reply_to as ReplyTo, m.subject, m.text_body as TextBody, m.html_body as HtmlBody,
                  m.priority, m.mime_message_id as MimeMessageId, m.attempt_count as AttemptCount, m.taken_over_from as TakenOverFrom, m.profile,
                  m.template, m.template_locale as TemplateLocale, m.template_data as TemplateData, m.headers, coalesce(m.expires_at <= now(), false) as Expired
        """;

    public override string SentGroupStatement => """
        with sent as (
            select * from unnest(@Ids::bigint[], @Codes::integer[], @Replies::text[], @AttemptNos::integer[], @Accounts::text[])
                       as s(id, code, reply, attempt_no, account)),
        mine as (
            update outbox.outbox_message m
               set status = 'sent', sent_at = now(), due_at = null, lease_owner = null, data_started_at = null,
                   smtp_code = sent.code, smtp_reply = sent.reply, last_error = null
              from sent
             where m.id = sent.id and m.status = 'sending' and m.lease_owner = @Worker
            returning m.id, sent.code, sent.reply, sent.attempt_no, sent.account),
        attempts as (
            insert into outbox.outbox_attempt (message_id, attempt_no, attempted_at, worker, account, outcome, smtp_code, smtp_reply)
            select id, attempt_no, now(), @Worker, account, 'sent', code, reply from mine)
        update outbox.outbox_recipient r set status = 'accepted', smtp_reply = null
          from mine where r.message_id = mine.id and (r.status is null or r.status = 'deferred')
        """;

    public override string SkipLocked => "\n   for update skip locked";

    // Chosen once: as an IN subquery, a LIMIT ... SKIP LOCKED choice can be run again for each
    // row the DELETE reaches, and then deletes more rows than its limit.
    public override string DeleteChosen(string table, string choose, string condition) => $"""
        with chosen as materialized ({choose})
        delete from {table} m using chosen
         where m.id = chosen.id
           and {condition}
        """;

    // lock_not_available: NOWAIT, or lock_timeout ran out.
    public override bool IsLockBusy(DbException exception) => exception is PostgresException { SqlState: PostgresErrorCodes.LockNotAvailable };

    public const string Channel = "outbox_mail";

    public override string? WakeWorkersStatement => $"select pg_notify('{Channel}', '')";

    public override string Table(string name) => "outbox." + name;

    public override async Task ListenForNewMailAsync(DbDataSource dataSource, Func<CancellationToken, Task> wake, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(wake);
        await using var connection = (NpgsqlConnection)await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var listen = new NpgsqlCommand($"listen {Channel}", connection))
        {
            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            // Mail committed while nobody listened (start, reconnect) would wait for a poll otherwise.
            await wake(cancellationToken).ConfigureAwait(false);
            while (true)
            {
                // Returns when a notification arrived; an idle wait sends nothing to the server.
                await connection.WaitAsync(cancellationToken).ConfigureAwait(false);
                await wake(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            // The pool does not reset a connection it takes back (see CreateDataSource): one still
            // listening would hand every notification to whoever used it next.
            if (connection.FullState == System.Data.ConnectionState.Open)
            {
                try
                {
                    await using var unlisten = new NpgsqlCommand("unlisten *", connection);
                    await unlisten.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is NpgsqlException or IOException or InvalidOperationException)
                {
                    // A connection that cannot answer is broken, and the pool drops broken ones;
                    // the error that ended the loop is the one to report.
                }
            }
        }
    }

    public override string NowPlusSeconds(string parameter) => $"now() + make_interval(secs => {parameter})";

    public override string AsIsoText(string column) => $"to_char({column} at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

    public override string SecondsSince(string column) => $"extract(epoch from now() - {column})::float8";

    public override string InList(string column, string parameter) => $"{column} = any({parameter})";

    public override string ByteLength(string column) => $"octet_length({column})";

    // The login role, which SECURITY DEFINER functions and SET ROLE leave unchanged.
    public override string TemplateEditor => "session_user";

    public override string OwnedByCurrentUser => "created_by = session_user";

    // pg_class, not information_schema: the latter lists only the tables the user has a
    // privilege on, so a sender-only role would see an installed schema as missing.
    public override string TablesQuery => """
        select c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'outbox' and c.relkind in ('r', 'p')
        """;

    // The cluster's system identifier (pg_control_system is executable by PUBLIC) tells another
    // server, restored from a dump; the database's oid tells a CREATE DATABASE ... TEMPLATE copy
    // in the same cluster. A physical copy (pg_basebackup, a file-system snapshot) keeps both.
    public const string IdentityExpression = "'PostgreSQL system ' || s.system_identifier || ', database oid ' || d.oid";

    public override string DatabaseIdentityQuery => $"""
        select {IdentityExpression}
          from pg_catalog.pg_control_system() s, pg_catalog.pg_database d
         where d.datname = current_database()
        """;

    /// <summary>The connecting user, when schema outbox exists and belongs to a role it is not a member of.</summary>
    public const string OtherOwnerQuery = """
        select current_user::text from pg_catalog.pg_namespace n
         where n.nspname = 'outbox' and not pg_catalog.pg_has_role(current_user, n.nspowner, 'USAGE')
        """;

    /// <summary>
    /// What the install scripts need that the connecting user lacks, as one row of text each:
    /// CREATE on the database when a schema is missing, CREATEROLE when a role is missing or
    /// outbox_worker is not yet a member of outbox_sender.
    /// Read before the scripts run, so an install that could not finish changes nothing.
    /// </summary>
    public const string InstallNeedsQuery = """
        select format('it may not create schemas in database %s (missing: %s)', current_database(), string_agg(s, ', '))
          from unnest(array['outbox', 'outbox_mail']) s
         where not exists (select 1 from pg_catalog.pg_namespace where nspname = s)
           and not pg_catalog.has_database_privilege(current_database(), 'CREATE')
        having count(*) > 0
        union all
        select format('it may not create roles (no CREATEROLE), and %s do not exist', string_agg(r, ', '))
          from unnest(array['outbox_sender', 'outbox_worker', 'outbox_reader']) r
         where not exists (select 1 from pg_catalog.pg_roles where rolname = r)
           and not exists (select 1 from pg_catalog.pg_roles where rolname = current_user and (rolsuper or rolcreaterole))
        having count(*) > 0
        union all
        select 'it may not grant outbox_sender to outbox_worker (no CREATEROLE, no ADMIN OPTION on outbox_sender)'
         where exists (select 1 from pg_catalog.pg_roles where rolname = 'outbox_sender')
           and exists (select 1 from pg_catalog.pg_roles where rolname = 'outbox_worker')
           and not pg_catalog.pg_has_role('outbox_worker', 'outbox_sender', 'MEMBER')
           and not exists (select 1 from pg_catalog.pg_roles where rolname = current_user and (rolsuper or rolcreaterole))
           and not pg_catalog.pg_has_role(current_user, 'outbox_sender', 'MEMBER WITH ADMIN OPTION')
        """;

    /// <summary>
    /// What differs from the grants 03_roles.sql leaves, one row of text per role and privilege: a
    /// role that does not exist, outbox_worker without select, insert, update or delete on a
    /// table or without outbox_sender, outbox_reader without select, outbox_sender without the API,
    /// a role that itself holds USAGE on a schema (roles are cluster-wide: that opens this outbox to
    /// every database's logins). Empty when the roles are as the scripts leave them.
    /// </summary>
    public const string MissingGrantsQuery = """
        with role_name(name) as (values ('outbox_sender'), ('outbox_worker'), ('outbox_reader')),
             present as (select name from role_name where exists (select 1 from pg_catalog.pg_roles where rolname = name)),
             needs(name, privilege) as (values ('outbox_worker', 'select'), ('outbox_worker', 'insert'), ('outbox_worker', 'update'),
                                               ('outbox_worker', 'delete'), ('outbox_reader', 'select'))
        select format('role %s does not exist', name) from role_name where name not in (select name from present)
        union all
        select 'outbox_worker is not a member of outbox_sender'
         where exists (select 1 from present where name = 'outbox_worker') and exists (select 1 from present where name = 'outbox_sender')
           and not pg_catalog.pg_has_role('outbox_worker', 'outbox_sender', 'MEMBER')
        union all
        select format('%s itself may use schema %s, so a login granted it in any database of this cluster may too', r.rolname, n.nspname)
          from pg_catalog.pg_namespace n cross join lateral pg_catalog.aclexplode(n.nspacl) a
          join pg_catalog.pg_roles r on r.oid = a.grantee
         where n.nspname in ('outbox', 'outbox_mail') and a.privilege_type = 'USAGE'
           and r.rolname in ('outbox_sender', 'outbox_worker', 'outbox_reader')
        union all
        select format('PUBLIC may use schema %s, so every login of this cluster may', n.nspname)
          from pg_catalog.pg_namespace n cross join lateral pg_catalog.aclexplode(n.nspacl) a
         where n.nspname in ('outbox', 'outbox_mail') and a.privilege_type = 'USAGE' and a.grantee = 0
        union all
        select format('%s may not %s on %s', n.name, n.privilege, string_agg(c.relname, ', ' order by c.relname))
          from needs n join present p on p.name = n.name
         cross join pg_catalog.pg_class c join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
         where ns.nspname = 'outbox' and c.relkind in ('r', 'p')
           and not pg_catalog.has_table_privilege(n.name, c.oid, n.privilege)
         group by n.name, n.privilege
        union all
        select format('outbox_sender may not execute %s', string_agg(distinct f.proname, ', '))
          from present p cross join pg_catalog.pg_proc f join pg_catalog.pg_namespace ns on ns.oid = f.pronamespace
         where p.name = 'outbox_sender' and ns.nspname = 'outbox_mail'
           and not pg_catalog.has_function_privilege(p.name, f.oid, 'EXECUTE')
        having count(*) > 0
        """;

    /// <summary>
    /// One row when the connecting user may not use schema outbox (the tables) in this database,
    /// with the grant that lets a worker in (outbox_mail too, for `outbox send`). The roles carry
    /// the privileges on the objects, but each database lets its own logins in with USAGE on its
    /// schemas (03_roles.sql says why), so a login with the right role can still be refused here.
    /// </summary>
    public const string SchemaRefusedQuery = """
        select format('%s may not use schema outbox in database %s: %sgrant usage on schema outbox, outbox_mail to %s (see sql/README.md)',
                      current_user, current_database(),
                      case when exists (select 1 from pg_catalog.pg_roles where rolname = 'outbox_worker')
                                and pg_catalog.pg_has_role('outbox_worker', 'MEMBER') then ''
                           else format('grant outbox_worker to %s; ', quote_ident(current_user)) end,
                      quote_ident(current_user))
         where exists (select 1 from pg_catalog.pg_namespace where nspname = 'outbox')
           and not pg_catalog.has_schema_privilege('outbox', 'USAGE')
        """;

    /// <summary>
    /// The roles this database lets use its outbox (USAGE on schema outbox or outbox_mail, the
    /// owner left out), each with its schemas: for a DBA to review who may send or read here.
    /// </summary>
    public const string SchemaUsersQuery = """
        select coalesce(r.rolname, 'PUBLIC') || ' (' || string_agg(n.nspname, ', ' order by n.nspname) || ')'
          from pg_catalog.pg_namespace n cross join lateral pg_catalog.aclexplode(n.nspacl) a
          left join pg_catalog.pg_roles r on r.oid = a.grantee
         where n.nspname in ('outbox', 'outbox_mail') and a.privilege_type = 'USAGE' and a.grantee <> n.nspowner
         group by r.rolname
         order by r.rolname nulls first
        """;

    public override object TimestampParameter(DateTimeOffset value) => value.ToUniversalTime();

    public override DbDataSource CreateDataSource(string connectionString, ConnectionUse use)
    {
        ArgumentNullException.ThrowIfNull(use);
        // The worker runs the same few statements all day: prepared automatically, PostgreSQL
        // parses and plans each once per connection instead of on every call.
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 32;
        }

        // The worker opens a pooled connection for every mark before a mail's SMTP transaction;
        // resetting each one on its way back to the pool (DISCARD ALL and the like) cost more
        // PostgreSQL time per mail than the mark itself. No outbox statement leaves session
        // state behind. A connection string that names the setting keeps its value.
        if (!NamesSetting(connectionString, "noresetonclose"))
        {
            builder.NoResetOnClose = true;
        }

        builder.ApplicationName = use.ApplicationName(builder.ApplicationName);
        if (use.MaxPoolSize is { } max)
        {
            builder.MaxPoolSize = max;
            builder.MinPoolSize = Math.Min(builder.MinPoolSize, max);
        }

        return NpgsqlDataSource.Create(builder.ConnectionString);
    }

    // Whether the connection string itself sets a keyword, in any of its spellings ("No Reset On
    // Close", "noresetonclose"). NpgsqlConnectionStringBuilder.ContainsKey cannot tell: it answers
    // for every keyword Npgsql knows, set or not.
    private static bool NamesSetting(string connectionString, string keyword) =>
        new DbConnectionStringBuilder { ConnectionString = connectionString }.Keys.Cast<string>()
            .Any(key => string.Equals(key.Replace(" ", "", StringComparison.Ordinal), keyword, StringComparison.OrdinalIgnoreCase));

    public override Task<Stream> OpenAttachmentAsync(DbDataSource dataSource, ClaimedAttachment attachment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        return Task.FromResult<Stream>(new SlicedBlobStream(
            dataSource,
            "select substring(content from (@Offset + 1)::integer for @Count) from outbox.outbox_attachment where id = @Id",
            attachment.Id,
            attachment.Size));
    }
}
