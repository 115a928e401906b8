using System.Reflection;
using Dapper;

namespace Outbox.Storage;

/// <summary>
/// Runs the install scripts that ship under sql/ (embedded in this assembly, byte for byte) and
/// checks that the schema is there. The scripts are safe to run again, so installing an
/// installed schema is harmless.
/// </summary>
public sealed class SchemaInstaller
{
    /// <summary>Every table the install scripts create; a test keeps it in step with them.</summary>
    internal static readonly string[] RequiredTables =
        ["outbox_message", "outbox_recipient", "outbox_attachment", "outbox_raw_part", "outbox_attempt", "outbox_rate_account", "outbox_rate_slot", "outbox_connection_slot", "outbox_setting", "outbox_template", "outbox_pause", "outbox_worker"];

    private readonly OutboxDatabase _database;

    public SchemaInstaller(OutboxDatabase database)
    {
        _database = database;
    }

    /// <summary>The names of the install scripts for this database (the numbered ones), in the order they run.</summary>
    public IReadOnlyList<string> Scripts => ScriptsOf(_database.Dialect.ScriptFolder);

    /// <summary>The numbered install scripts of one folder under sql/, in the order they run.</summary>
    public static IReadOnlyList<string> ScriptsOf(string folder) =>
        typeof(SchemaInstaller).Assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith($"sql/{folder}/", StringComparison.Ordinal) && char.IsAsciiDigit(name[$"sql/{folder}/".Length]))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>The text of one shipped script.</summary>
    public static string ReadScript(string name)
    {
        using var stream = typeof(SchemaInstaller).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"script {name} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    // Columns added after the first release. The PostgreSQL and Oracle scripts add them
    // themselves; SQLite has no "add column if not exists", so it is done here.
    private static readonly (string Table, string Column)[] AddedColumns = [("outbox_message", "profile"), ("outbox_attempt", "account"), ("outbox_message", "template"), ("outbox_message", "template_locale"), ("outbox_message", "template_data"), ("outbox_message", "data_started_at"), ("outbox_message", "rendered_subject"), ("outbox_message", "expires_at"), ("outbox_message", "headers"), ("outbox_rate_slot", "recipients")];

    /// <summary>
    /// The connecting user's name when it may use the outbox but not install it, so the scripts
    /// are not run (the owner installs and upgrades; this user only verifies). On Oracle: when
    /// Outbox:Database:Schema names another user (the scripts create objects in the connecting
    /// user's schema). On PostgreSQL: when schema outbox exists and belongs to a role this user
    /// is not a member of (outbox_worker, say). Null otherwise.
    /// </summary>
    public async Task<string?> OtherOwnerAsync(CancellationToken cancellationToken)
    {
        switch (_database.Dialect)
        {
            case Dialects.OracleDialect { Schema: { } owner }:
            {
                await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                var user = await connection.ExecuteScalarAsync<string>(new CommandDefinition(Dialects.OracleDialect.SessionUserQuery, cancellationToken: cancellationToken)).ConfigureAwait(false);
                return string.Equals(user, owner, StringComparison.OrdinalIgnoreCase) ? null : user;
            }

            case Dialects.PostgreSqlDialect:
            {
                await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                return await connection.ExecuteScalarAsync<string?>(new CommandDefinition(Dialects.PostgreSqlDialect.OtherOwnerQuery, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }

            default:
                return null;
        }
    }

    /// <summary>How long `outbox init` lets a change to an existing table wait for its lock, unless told otherwise.</summary>
    public static readonly TimeSpan DefaultLockTimeout = TimeSpan.FromSeconds(5);

    public Task InstallAsync(CancellationToken cancellationToken) => InstallAsync(DefaultLockTimeout, null, cancellationToken);

    /// <summary>
    /// Runs the install scripts. On an installed schema of this release they change nothing and
    /// take no lock a caller or a worker would wait behind. A change that must run (an upgrade)
    /// waits at most lockTimeout for its lock (PostgreSQL), and says first what it does through
    /// progress, a line each; when the wait runs out, the error names the sessions holding the
    /// tables. A grant handed from a role to its logins (03_roles.sql) is said there too.
    /// </summary>
    public async Task InstallAsync(TimeSpan lockTimeout, Action<string>? progress, CancellationToken cancellationToken)
    {
        if (await OtherOwnerAsync(cancellationToken).ConfigureAwait(false) is { } user)
        {
            throw _database.Dialect is Dialects.OracleDialect oracle
                ? new Core.Validation.MailValidationException("Outbox:Database:Schema",
                    $"names {oracle.Schema}, but the connection's user is {user}, and the scripts install into the connecting user's schema",
                    "Run outbox init (or install.sql) connected as the owner, then give this user OUTBOX_WORKER")
                : NotAllowed($"user {user} does not own schema outbox");
        }

        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (_database.Dialect is Dialects.PostgreSqlDialect)
        {
            // The scripts are not one transaction (roles are the cluster's, not the database's):
            // what they need is checked first, so an install that cannot finish changes nothing.
            var lacking = (await connection.QueryAsync<string>(new CommandDefinition(Dialects.PostgreSqlDialect.InstallNeedsQuery, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToList();
            if (lacking.Count > 0)
            {
                var installer = await connection.ExecuteScalarAsync<string>(new CommandDefinition("select current_user::text", cancellationToken: cancellationToken)).ConfigureAwait(false);
                throw new Core.Validation.MailValidationException(
                    "Outbox:Database:ConnectionString",
                    $"user {installer} cannot install the outbox: {string.Join("; ", lacking)}; nothing was changed",
                    "Run outbox init as a user that may (a superuser, or the database's owner with CREATEROLE), or have a superuser create the roles first (create role outbox_sender nologin; and so on for outbox_worker, outbox_reader; then grant outbox_sender to outbox_worker)");
            }
        }

        // The scripts announce each change to an existing table (a notice "outbox: <statement>")
        // before it waits for its lock: the operator sees what it waits for, and so does the error.
        var notices = connection as Npgsql.NpgsqlConnection;
        string? changing = null;
        // A first install changes tables nobody uses yet: it waits for nobody, so it says nothing.
        var fresh = notices is not null && (await MissingTablesAsync(cancellationToken).ConfigureAwait(false)).Count == RequiredTables.Length;
        void Relay(object sender, Npgsql.NpgsqlNoticeEventArgs e)
        {
            if (e.Notice.MessageText.StartsWith("outbox:", StringComparison.Ordinal))
            {
                changing = e.Notice.MessageText["outbox:".Length..].Trim();
                if (!fresh)
                {
                    progress?.Invoke($"{changing} (waits up to {lockTimeout.TotalSeconds:0.###} s for transactions using the table)");
                }
            }
            else if (e.Notice.MessageText.StartsWith("outbox roles:", StringComparison.Ordinal))
            {
                // Takes no table lock: a DBA's review item, not something waited for.
                progress?.Invoke(e.Notice.MessageText["outbox roles:".Length..].Trim());
            }
        }

        if (notices is not null)
        {
            notices.Notice += Relay;
            await connection.ExecuteAsync(new CommandDefinition(
                $"select set_config('lock_timeout', '{(long)lockTimeout.TotalMilliseconds}ms', false)", cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        try
        {
            foreach (var script in Scripts)
            {
                foreach (var statement in _database.Dialect.StatementsOf(ReadScript(script)))
                {
                    await connection.ExecuteAsync(new CommandDefinition(statement, cancellationToken: cancellationToken)).ConfigureAwait(false);
                }
            }
        }
        catch (Npgsql.PostgresException ex) when (ex.SqlState == Npgsql.PostgresErrorCodes.LockNotAvailable)
        {
            throw new Core.Validation.MailValidationException(
                "Outbox:Database",
                $"the upgrade waited {lockTimeout.TotalSeconds:0.###} s for a lock on the outbox's tables and gave up{(changing is null ? string.Empty : $" (last change begun: {changing})")}; nothing after it was changed. Holding them: {await HoldersAsync(connection, cancellationToken).ConfigureAwait(false)}",
                "Run outbox init again when those transactions have ended, or with a longer --lock-timeout (callers of the table wait behind the upgrade meanwhile)");
        }
        catch (System.Data.Common.DbException ex) when (ex.SqlState == "42501")
        {
            // PostgreSQL's insufficient_privilege: a worker or sender role cannot create the schema.
            throw NotAllowed(ex.Message.Trim());
        }
        catch (System.Data.Common.DbException) when (_database.Dialect.CompileErrorsQuery is not null)
        {
            // A package that did not compile fails the scripts' own checks (or its CREATE, as
            // ORA-24344): its first error says why, where the failed check only says that.
            if (await CompileErrorAsync(connection, cancellationToken).ConfigureAwait(false) is { } error)
            {
                throw NotCompiled(error);
            }

            throw;
        }

        finally
        {
            if (notices is not null)
            {
                notices.Notice -= Relay;
                // The pool keeps session settings (No Reset On Close): the next user of this
                // connection must not inherit the upgrade's lock_timeout.
                await connection.ExecuteAsync(new CommandDefinition("reset lock_timeout", cancellationToken: CancellationToken.None)).ConfigureAwait(false);
            }
        }

        if (await CompileErrorAsync(connection, cancellationToken).ConfigureAwait(false) is { } remaining)
        {
            throw NotCompiled(remaining);
        }

        if (_database.IsSqlite)
        {
            await UpgradeSqliteAsync(connection, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The first line of the first compile error of the outbox's stored code (Oracle: USER_ERRORS
    /// of the OUTBOX_ packages), or null when there is none or the database has no such code.
    /// </summary>
    public async Task<string?> CompileErrorAsync(CancellationToken cancellationToken)
    {
        if (_database.Dialect.CompileErrorsQuery is null)
        {
            return null;
        }

        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await CompileErrorAsync(connection, cancellationToken).ConfigureAwait(false);
    }

    internal async Task<string?> CompileErrorAsync(System.Data.Common.DbConnection connection, CancellationToken cancellationToken)
    {
        if (_database.Dialect.CompileErrorsQuery is not { } query)
        {
            return null;
        }

        var error = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(query, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return error?.Split('\n')[0].Trim();
    }

    /// <summary>How `outbox init` reports an outbox whose stored code did not compile: not installed, exit code 3.</summary>
    public static Core.Validation.MailValidationException NotCompiled(string error) => new(
        "Outbox:Database",
        $"the outbox is not installed: {error}",
        "Fix the cause, then run the install scripts again as the owner (outbox init or sql/oracle/install.sql); select * from user_errors lists every error");

    private static Core.Validation.MailValidationException NotAllowed(string problem) => new(
        "Outbox:Database:ConnectionString",
        $"the configured user may not install or upgrade the outbox schema ({problem})",
        "Run outbox init connected as the schema's owner or a superuser; the worker's own user then needs only its role (outbox_worker, see sql/README.md)");

    // The sessions other than this one that hold a lock on a table of schema outbox, as one line.
    private static async Task<string> HoldersAsync(System.Data.Common.DbConnection connection, CancellationToken cancellationToken)
    {
        var holders = await connection.QueryAsync<string>(new CommandDefinition(
            """
            select format('pid %s (user %s, application "%s", %s since %s)', a.pid, a.usename, a.application_name, a.state,
                          to_char(coalesce(a.xact_start, a.backend_start) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
              from pg_catalog.pg_stat_activity a
             where a.pid <> pg_backend_pid()
               and a.pid in (select l.pid from pg_catalog.pg_locks l join pg_catalog.pg_class c on c.oid = l.relation
                              where l.granted and c.relnamespace = 'outbox'::regnamespace)
             order by a.pid
            """, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return holders.Any() ? string.Join("; ", holders) : "no session now (they ended meanwhile)";
    }

    // What the SQLite script cannot do itself for a file made by an older release.
    private static async Task UpgradeSqliteAsync(System.Data.Common.DbConnection connection, CancellationToken cancellationToken)
    {
        foreach (var (table, column) in AddedColumns)
        {
            var columns = await connection.QueryAsync<string>(new CommandDefinition($"select name from pragma_table_info('{table}')", cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (!columns.Contains(column, StringComparer.OrdinalIgnoreCase))
            {
                await connection.ExecuteAsync(new CommandDefinition($"alter table {table} add column {column} text", cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
        }

        await RebuildUnlessAsync(connection, "outbox_recipient", "'deferred'", "sql/sqlite/upgrade_recipient_status.sql", cancellationToken).ConfigureAwait(false);
        await RebuildUnlessAsync(connection, "outbox_attempt", "'cancelled'", "sql/sqlite/upgrade_attempt_outcome.sql", cancellationToken).ConfigureAwait(false);

        // Four tables reference outbox_message: with foreign keys on, dropping it would delete
        // their rows. The pragma has no effect inside a transaction, so it is set around it.
        await connection.ExecuteAsync(new CommandDefinition("pragma foreign_keys = off", cancellationToken: cancellationToken)).ConfigureAwait(false);
        try
        {
            await RebuildUnlessAsync(connection, "outbox_message", "'expired'", "sql/sqlite/upgrade_message_status.sql", cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await connection.ExecuteAsync(new CommandDefinition("pragma foreign_keys = on", cancellationToken: CancellationToken.None)).ConfigureAwait(false);
        }

        await RebuildUnlessAsync(connection, "outbox_failed", "rendered_subject", "sql/sqlite/upgrade_failed_view.sql", cancellationToken, "view").ConfigureAwait(false);

        // The file this outbox was made in: its path, which SQL cannot know, so it is recorded
        // here. Never overwritten: opening a copied file must not adopt it (`outbox adopt` does).
        var d = new Dialects.SqliteDialect();
        await connection.ExecuteAsync(new CommandDefinition(
            "insert or ignore into outbox_setting (name, value, description) values (@Name, @Value, @Description)",
            new
            {
                Name = Admin.DatabaseIdentity.SettingName,
                Value = await Admin.DatabaseIdentity.CurrentAsync(connection, d, null, cancellationToken).ConfigureAwait(false),
                Description = Admin.DatabaseIdentity.SettingDescription,
            },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    // SQLite can neither widen a check nor replace a view in place: a table (or view) whose
    // definition lacks the value is made again by its upgrade script, in one transaction.
    private static async Task RebuildUnlessAsync(System.Data.Common.DbConnection connection, string table, string value, string script, CancellationToken cancellationToken, string type = "table")
    {
        var definition = await connection.ExecuteScalarAsync<string>(new CommandDefinition(
            "select sql from sqlite_master where type = @Type and name = @Table", new { Type = type, Table = table }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (definition is null || definition.Contains(value, StringComparison.Ordinal))
        {
            return;
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var statement in new Dialects.SqliteDialect().StatementsOf(ReadScript(script)))
        {
            await connection.ExecuteAsync(new CommandDefinition(statement, transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The outbox tables that are missing (empty when the schema is installed).</summary>
    public async Task<IReadOnlyList<string>> MissingTablesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await MissingTablesAsync(connection, cancellationToken).ConfigureAwait(false);
    }

    internal async Task<IReadOnlyList<string>> MissingTablesAsync(System.Data.Common.DbConnection connection, CancellationToken cancellationToken)
    {
        var present = await connection.QueryAsync<string>(new CommandDefinition(
            _database.Dialect.TablesQuery, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var set = present.ToHashSet(StringComparer.OrdinalIgnoreCase);
        return RequiredTables.Where(table => !set.Contains(table)).ToList();
    }
}
