using System.Data.Common;
using Dapper;
using Outbox.Core.Validation;

namespace Outbox.Storage.Admin;

/// <summary>
/// The identity the install recorded (outbox_setting 'database_identity') and the one of the
/// database the connection is in now. They differ in a copy: a clone into test, a restore
/// elsewhere. Such a copy holds production's queue, so its worker sends nothing until an
/// operator adopts it (<see cref="DatabaseAdoption"/>).
/// </summary>
public sealed record DatabaseIdentity(string? Recorded, string Current, string? Adopted)
{
    /// <summary>outbox_setting's row holding the identity the worker sends in.</summary>
    public const string SettingName = "database_identity";

    /// <summary>outbox_setting's row holding the last adoption: when, who, what was chosen.</summary>
    public const string AdoptedSettingName = "database_adopted";

    /// <summary>The description of the identity's row, as the install scripts write it.</summary>
    public const string SettingDescription = "The database the outbox was installed in or last adopted in; a worker in another (a copy) sends nothing until `outbox adopt`.";

    public bool IsCopy => !string.Equals(Recorded, Current, StringComparison.Ordinal);

    /// <summary>Why a worker may not send here; null when it may.</summary>
    public string? Problem => Recorded switch
    {
        _ when !IsCopy => null,
        null => $"no database identity is recorded in outbox_setting (this is {Shown(Current)}), so the worker cannot tell whether this database is a copy; it sends nothing",
        _ => $"this database is a copy: the outbox was installed in {Shown(Recorded)}, and this is {Shown(Current)}; it sends nothing until adopted",
    };

    // The recorded value is anybody's UPDATE away from any length: a line stays a line.
    private static string Shown(string text) => text.Length <= 300 ? text : text[..299] + "…";

    /// <summary>What to run about <see cref="Problem"/>.</summary>
    public string Remedy => Recorded is null
        ? "Run `outbox init` (it records the identity), or `outbox adopt` if this database is a copy"
        : "Run `outbox adopt --keep-queue` (a move or a restore: send what waits) or `outbox adopt --cancel-waiting` (a clone: cancel what waits)";

    public static async Task<DatabaseIdentity> ReadAsync(OutboxDatabase database, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAsync(connection, database.Dialect, null, cancellationToken).ConfigureAwait(false);
    }

    internal static async Task<DatabaseIdentity> ReadAsync(DbConnection connection, Dialects.SqlDialect d, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        var settings = (await connection.QueryAsync<(string Name, string Value)>(new CommandDefinition(
            d.Sql($"select name, value from {d.Table("outbox_setting")} where name in ('{SettingName}', '{AdoptedSettingName}')"),
            transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToDictionary(s => s.Name, s => s.Value);
        return new DatabaseIdentity(settings.GetValueOrDefault(SettingName), await CurrentAsync(connection, d, transaction, cancellationToken).ConfigureAwait(false), settings.GetValueOrDefault(AdoptedSettingName));
    }

    /// <summary>The identity of the database the connection is in now.</summary>
    internal static async Task<string> CurrentAsync(DbConnection connection, Dialects.SqlDialect d, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        var queried = await connection.ExecuteScalarAsync<string>(new CommandDefinition(d.DatabaseIdentityQuery, transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return d.IdentityOf(queried ?? string.Empty);
    }

    /// <summary>Throws the one line a worker exits with (code 3) when it may not send in this database.</summary>
    public static async Task RequireOriginalAsync(OutboxDatabase database, CancellationToken cancellationToken)
    {
        var identity = await ReadAsync(database, cancellationToken).ConfigureAwait(false);
        if (identity.Problem is { } problem)
        {
            throw new MailValidationException("Outbox:Database", problem, identity.Remedy);
        }
    }
}
