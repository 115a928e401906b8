using System.Data.Common;
using System.Diagnostics;
using Dapper;

namespace Outbox.Storage.Admin;

/// <summary>One step of `outbox check db`.</summary>
public sealed record DatabaseCheckStep(string Step, bool Ok, string Detail);

/// <summary>
/// Checks the configured database as the worker will use it: it answers, the outbox schema is
/// installed and of the version this program expects, the configured user may read and change
/// every table, and what the queue holds. The privilege checks run statements that touch no
/// row (WHERE 1 = 0) in a transaction that is rolled back, so they work the same on every
/// database and change nothing.
/// </summary>
public sealed class DatabaseCheck(OutboxDatabase database)
{
    /// <summary>The schema version (outbox_setting 'schema_version') this program's statements are written for.</summary>
    public const int ExpectedSchemaVersion = 7;

    // Each table with columns that are neither identities (which may not be written) nor
    // optional: enough for an INSERT ... SELECT and an UPDATE that would be valid statements.
    // Every table the install scripts create; a test keeps the list in step with them.
    internal static readonly (string Table, string Columns)[] Tables =
    [
        ("outbox_message", "status, kind, sender, mime_message_id"),
        ("outbox_recipient", "kind, message_id, address"),
        ("outbox_attachment", "mime_type, message_id, content"),
        ("outbox_raw_part", "part_no, message_id, content"),
        ("outbox_attempt", "outcome, message_id, attempt_no, worker"),
        ("outbox_setting", "value, name"),
        ("outbox_rate_account", "account"),
        ("outbox_rate_slot", "account, done_at"),
        ("outbox_template", "name, subject"),
        ("outbox_pause", "paused_by, scope"),
        ("outbox_worker", "host, pid, version, poll_seconds, started_at, last_seen_at, name"),
    ];

    /// <summary>The one line that ends a check, the same in `outbox check db` and on the dashboard.</summary>
    public static string Verdict(IReadOnlyList<DatabaseCheckStep> steps, bool usable)
    {
        ArgumentNullException.ThrowIfNull(steps);
        return usable
            ? "the worker can use this database"
            : $"the worker cannot use this database: {steps.Last(s => !s.Ok).Detail}";
    }

    /// <summary>
    /// Runs the checks, on one connection. Installed is false when the schema is not installed as
    /// this release needs it (tables missing, stored code that did not compile, no or another
    /// schema version), which `outbox check db` reports as a configuration error.
    /// </summary>
    public async Task<(IReadOnlyList<DatabaseCheckStep> Steps, bool Usable, bool Installed)> RunAsync(CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        var steps = new List<DatabaseCheckStep>();
        var d = database.Dialect;
        var clock = Stopwatch.StartNew();
        DbConnection connection;
        try
        {
            connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbException ex)
        {
            steps.Add(new("connect", false, $"{ex.Message.Trim()}. Check Outbox:Database:ConnectionString (host, port, database, user, password) and that the server runs"));
            return (steps, false, true);
        }

        await using (connection.ConfigureAwait(false))
        {
            steps.Add(new("connect", true, $"{d.ScriptFolder} {connection.ServerVersion}, in {clock.ElapsedMilliseconds} ms"));

            var installer = new SchemaInstaller(database);
            var missing = await installer.MissingTablesAsync(connection, cancellationToken).ConfigureAwait(false);
            if (missing.Count > 0)
            {
                steps.Add(new("schema", false, $"missing {string.Join(", ", missing)}: run `outbox init`, or have a DBA run the scripts in sql/{d.ScriptFolder}/ (see sql/README.md)"));
                return (steps, false, false);
            }

            if (await installer.CompileErrorAsync(connection, cancellationToken).ConfigureAwait(false) is { } error)
            {
                steps.Add(new("schema", false, $"not installed: {error}. Fix the cause, then run the scripts in sql/{d.ScriptFolder}/ again as the owner (outbox init or install.sql)"));
                return (steps, false, false);
            }

            // A user without the worker's role (a sender, say) sees the tables but may not read
            // them: each step says so instead of the check ending in a database error.
            bool versionOk;
            var installed = true;
            try
            {
                var version = await SchemaVersionAsync(connection, d, cancellationToken).ConfigureAwait(false);
                versionOk = version == ExpectedSchemaVersion;
                installed = versionOk;
                steps.Add(new("schema", versionOk, version switch
                {
                    ExpectedSchemaVersion => $"installed, version {version}",
                    null => $"installed, but without a schema_version in outbox_setting (this outbox expects {ExpectedSchemaVersion}): run the install scripts of this release again",
                    _ => $"version {version}, but this outbox expects {ExpectedSchemaVersion}: run the install scripts of this release (they are safe to run again)",
                }));
            }
            catch (DbException ex)
            {
                versionOk = false;
                steps.Add(new("schema", false, $"installed, but the configured user may not read outbox_setting ({ex.Message.Trim()}). Grant it the worker role (outbox_worker; see sql/README.md)"));
            }

            // A copy of the database (a clone, a restore elsewhere) is installed and usable, but
            // its worker sends nothing until it is adopted.
            var original = true;
            if (versionOk)
            {
                var identity = await DatabaseIdentity.ReadAsync(connection, d, null, cancellationToken).ConfigureAwait(false);
                original = identity.Problem is null;
                steps.Add(new("identity", original, identity.Problem is { } problem
                    ? $"{problem}. {identity.Remedy}"
                    : $"{identity.Current}, as recorded" + (identity.Adopted is { } adopted ? $"; adopted {adopted}" : string.Empty)));
            }

            var privilegesOk = await CheckPrivilegesAsync(connection, d, steps, cancellationToken).ConfigureAwait(false);
            var rolesOk = true;
            if (d is Dialects.PostgreSqlDialect)
            {
                // The owner may use every table without them, but the worker's, the readers' and
                // the applications' logins get their rights only through these roles.
                var lacking = (await connection.QueryAsync<string>(new CommandDefinition(Dialects.PostgreSqlDialect.MissingGrantsQuery, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToList();
                steps.Add(new("roles", lacking.Count == 0, lacking.Count == 0
                    ? "outbox_sender, outbox_worker and outbox_reader exist with their grants"
                    : $"{string.Join("; ", lacking)}: run outbox init as the owner with CREATEROLE (or a superuser), or have a DBA run sql/postgresql/03_roles.sql"));
                rolesOk = lacking.Count == 0;
                installed &= rolesOk;
            }

            try
            {
                // On this step's connection: the dashboard runs the check within one pool slot.
                var status = await new OutboxAdmin(database).StatusAsync(connection, cancellationToken).ConfigureAwait(false);
                var counts = string.Join(", ", status.Counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}"));
                steps.Add(new("queue", true, (counts.Length == 0 ? "empty" : counts)
                    + (status.OldestQueuedSeconds is { } age ? $"; oldest waiting mail {TimeSpan.FromSeconds(Math.Round(age)):c} old" : "; no mail waiting")));
            }
            catch (DbException ex)
            {
                steps.Add(new("queue", false, $"the configured user may not read the queue ({ex.Message.Trim()})"));
                return (steps, false, installed);
            }

            return (steps, versionOk && original && privilegesOk && rolesOk, installed);
        }
    }

    /// <summary>The schema version the install scripts wrote (outbox_setting 'schema_version'), or null.</summary>
    public static async Task<int?> SchemaVersionAsync(OutboxDatabase database, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await SchemaVersionAsync(connection, database.Dialect, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int?> SchemaVersionAsync(DbConnection connection, Dialects.SqlDialect d, CancellationToken cancellationToken)
    {
        var text = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            d.Sql($"select value from {d.Table("outbox_setting")} where name = 'schema_version'"), cancellationToken: cancellationToken)).ConfigureAwait(false);
        return int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var version) ? version : null;
    }

    private static async Task<bool> CheckPrivilegesAsync(DbConnection connection, Dialects.SqlDialect d, List<DatabaseCheckStep> steps, CancellationToken cancellationToken)
    {
        var refused = new List<string>();
        foreach (var (table, columns) in Tables)
        {
            var t = d.Table(table);
            var first = columns.Split(',')[0];
            var probes = new (string Privilege, string Statement)[]
            {
                ("select", $"select count(*) from {t} where 1 = 0"),
                ("insert", $"insert into {t} ({columns}) select {columns} from {t} where 1 = 0"),
                ("update", $"update {t} set {first} = {first} where 1 = 0"),
                ("delete", $"delete from {t} where 1 = 0"),
            };
            foreach (var (privilege, statement) in probes)
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await connection.ExecuteAsync(new CommandDefinition(statement, transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                }
                catch (DbException)
                {
                    refused.Add($"{privilege} on {table}");
                }
                finally
                {
                    await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }

        steps.Add(new("privileges", refused.Count == 0, refused.Count == 0
            ? "the configured user may select, insert, update and delete in every outbox table"
            : $"the configured user may not {string.Join("; ", refused)}. Grant it the worker role (outbox_worker; see sql/README.md)"));
        return refused.Count == 0;
    }
}
