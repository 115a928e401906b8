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
        ["outbox_message", "outbox_recipient", "outbox_attachment", "outbox_raw_part", "outbox_attempt"];

    private readonly OutboxDatabase _database;

    public SchemaInstaller(OutboxDatabase database)
    {
        _database = database;
    }

    /// <summary>The names of the scripts for this database, in the order they run.</summary>
    public IReadOnlyList<string> Scripts =>
        typeof(SchemaInstaller).Assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith($"sql/{_database.Dialect.ScriptFolder}/", StringComparison.Ordinal))
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

    public async Task InstallAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var script in Scripts)
        {
            await connection.ExecuteAsync(new CommandDefinition(ReadScript(script), cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>The outbox tables that are missing (empty when the schema is installed).</summary>
    public async Task<IReadOnlyList<string>> MissingTablesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var present = _database.IsSqlite
            ? await connection.QueryAsync<string>(new CommandDefinition(
                "select name from sqlite_master where type = 'table'", cancellationToken: cancellationToken)).ConfigureAwait(false)
            : await connection.QueryAsync<string>(new CommandDefinition(
                "select table_name from information_schema.tables where table_schema = 'outbox'", cancellationToken: cancellationToken)).ConfigureAwait(false);
        var set = present.ToHashSet(StringComparer.OrdinalIgnoreCase);
        return RequiredTables.Where(table => !set.Contains(table)).ToList();
    }
}
