using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Storage.Admin;

namespace Outbox.Worker;

/// <summary>
/// Opens the configured database for a command. SQLite is installed on first use (the embedded
/// default needs no setup); PostgreSQL and Oracle are installed by a DBA or `outbox init`, and every other
/// command only checks that it is there. The worker also checks that the database is the one the
/// outbox was installed in (or adopted), not a copy.
/// </summary>
public static class OutboxDatabases
{
    public static async Task<OutboxDatabase> OpenAsync(DatabaseOptions options, ConnectionUse use, CancellationToken cancellationToken)
    {
        var database = OutboxDatabase.Create(options, use);
        try
        {
            var installer = new SchemaInstaller(database);
            if (database.IsSqlite)
            {
                await installer.InstallAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var missing = await installer.MissingTablesAsync(cancellationToken).ConfigureAwait(false);
                if (missing.Count > 0)
                {
                    throw new MailValidationException("Outbox:Database", $"the outbox schema is not installed (missing {string.Join(", ", missing)})",
                        $"Run `outbox init`, or have a DBA run the scripts in sql/{database.Dialect.ScriptFolder}/ (see sql/README.md)");
                }

                // An older schema would refuse what this program writes (a recipient 'deferred', say).
                var version = await DatabaseCheck.SchemaVersionAsync(database, cancellationToken).ConfigureAwait(false);
                if (version != DatabaseCheck.ExpectedSchemaVersion)
                {
                    throw new MailValidationException("Outbox:Database", $"the outbox schema is version {version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"}, but this program needs version {DatabaseCheck.ExpectedSchemaVersion}",
                        $"Run `outbox init`, or have a DBA run the scripts in sql/{database.Dialect.ScriptFolder}/ of this release again (they are safe to run again)");
                }
            }

            // A copy of the database (a clone into test, a restore elsewhere) holds mail that is
            // not this worker's to send: it refuses to start until an operator adopts the copy.
            if (use == ConnectionUse.Worker)
            {
                await DatabaseIdentity.RequireOriginalAsync(database, cancellationToken).ConfigureAwait(false);
            }

            return database;
        }
        catch
        {
            await database.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
