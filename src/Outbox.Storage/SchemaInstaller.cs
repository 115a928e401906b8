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
    private static readonly string[] RequiredTables =
        ["outbox_message", "outbox_recipient", "outbox_attachment", "outbox_raw_part", "outbox_attempt", "outbox_rate_account", "outbox_rate_slot"];

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
    private static readonly (string Table, string Column)[] AddedColumns = [("outbox_message", "profile"), ("outbox_attempt", "account")];

    public async Task InstallAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var script in Scripts)
        {
            foreach (var statement in _database.Dialect.StatementsOf(ReadScript(script)))
            {
                await connection.ExecuteAsync(new CommandDefinition(statement, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
        }

        if (_database.IsSqlite)
        {
            foreach (var (table, column) in AddedColumns)
            {
                var columns = await connection.QueryAsync<string>(new CommandDefinition($"select name from pragma_table_info('{table}')", cancellationToken: cancellationToken)).ConfigureAwait(false);
                if (!columns.Contains(column, StringComparer.OrdinalIgnoreCase))
                {
                    await connection.ExecuteAsync(new CommandDefinition($"alter table {table} add column {column} text", cancellationToken: cancellationToken)).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>The outbox tables that are missing (empty when the schema is installed).</summary>
    public async Task<IReadOnlyList<string>> MissingTablesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var present = await connection.QueryAsync<string>(new CommandDefinition(
            _database.Dialect.TablesQuery, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var set = present.ToHashSet(StringComparer.OrdinalIgnoreCase);
        return RequiredTables.Where(table => !set.Contains(table)).ToList();
    }
}
