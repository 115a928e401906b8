using System.CommandLine;
using Outbox.Storage;
using Outbox.Storage.Admin;

namespace Outbox.Commands;

/// <summary>`outbox init`: runs the shipped install scripts (safe to repeat), then checks the tables.</summary>
public static class InitCommand
{
    public static Command Create(CliContext context)
    {
        var lockTimeout = CliArguments.Duration("--lock-timeout");
        lockTimeout.DefaultValueFactory = _ => SchemaInstaller.DefaultLockTimeout;
        lockTimeout.Description = "PostgreSQL: how long a change to an existing table may wait for its lock before init gives up, naming who holds it (default 5s; callers of the table wait behind it meanwhile). A current schema takes no such lock";
        var command = new Command("init", "Install or upgrade the outbox schema with the install scripts built into this program (the files under sql/, byte for byte), then verify it; as a user that does not own the schema, only verify it. On a current schema it changes nothing and waits for nobody. Example: outbox init --config /etc/outbox/outbox.json")
        {
            lockTimeout,
        };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var database = OutboxDatabase.Create(options.Database, ConnectionUse.Cli);
            await using (database.ConfigureAwait(false))
            {
                var installer = new SchemaInstaller(database);
                // A worker user (Outbox:Database:Schema naming the owner) only verifies: the
                // scripts would make a second outbox in its own schema.
                var otherOwner = await installer.OtherOwnerAsync(cancellationToken).ConfigureAwait(false);
                if (otherOwner is null)
                {
                    var timeout = parse.GetValue(lockTimeout);
                    if (timeout <= TimeSpan.Zero)
                    {
                        throw new Core.Validation.MailValidationException("--lock-timeout", "must be positive", "For example 30s");
                    }

                    await installer.InstallAsync(timeout, change => context.Error.WriteLine($"outbox: {change}"), cancellationToken).ConfigureAwait(false);
                }

                var missing = await installer.MissingTablesAsync(cancellationToken).ConfigureAwait(false);
                if (missing.Count > 0)
                {
                    await context.Error.WriteLineAsync(otherOwner is null
                        ? $"outbox: the scripts ran but these tables are missing: {string.Join(", ", missing)}"
                        : $"outbox: Outbox:Database:Schema: {options.Database.Schema} has no {string.Join(", ", missing)} that {otherOwner} can see. Install as {options.Database.Schema} (outbox init or sql/oracle/install.sql), then grant_to_user.sql {otherOwner} OUTBOX_WORKER").ConfigureAwait(false);
                    return ExitCodes.Configuration;
                }

                if (otherOwner is not null)
                {
                    if (await installer.CompileErrorAsync(cancellationToken).ConfigureAwait(false) is { } error)
                    {
                        throw SchemaInstaller.NotCompiled(error);
                    }

                    var owner = options.Database.Schema ?? "outbox";
                    int? version;
                    try
                    {
                        version = await DatabaseCheck.SchemaVersionAsync(database, cancellationToken).ConfigureAwait(false);
                    }
                    catch (System.Data.Common.DbException ex) when (ex.SqlState == "42501")
                    {
                        // A sender-only role sees the tables but may not read them: that is its
                        // configuration, not an outage to wait out.
                        throw new Core.Validation.MailValidationException(
                            "Outbox:Database:ConnectionString",
                            $"user {otherOwner} may not read the outbox's tables ({ex.Message.Split('\n')[0].Trim()}), so init cannot verify schema {owner}",
                            $"Run outbox init as the schema's owner; for the worker or the command line, grant outbox_worker to {otherOwner} and grant usage on schema outbox, outbox_mail to {otherOwner}");
                    }


                    if (version != DatabaseCheck.ExpectedSchemaVersion)
                    {
                        await context.Error.WriteLineAsync($"outbox: schema {owner} is version {version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"}, but this release needs {DatabaseCheck.ExpectedSchemaVersion}; {otherOwner} does not own it, so run outbox init connected as its owner").ConfigureAwait(false);
                        return ExitCodes.Configuration;
                    }

                    await context.Out.WriteLineAsync($"Outbox schema {owner} verified; not installed or upgraded, because {otherOwner} does not own it (run outbox init as its owner for that).").ConfigureAwait(false);
                    return 0;
                }

                await context.Out.WriteLineAsync($"Outbox schema installed and verified ({options.Database.Provider}); ran {string.Join(", ", installer.Scripts.Select(Path.GetFileName))}.").ConfigureAwait(false);
                // The scripts never adopt a copy; whoever runs them on one learns it here, not
                // from a worker that will not send.
                var identity = await DatabaseIdentity.ReadAsync(database, cancellationToken).ConfigureAwait(false);
                if (identity.Problem is { } copy)
                {
                    await context.Error.WriteLineAsync($"outbox: Outbox:Database: {copy}. {identity.Remedy}").ConfigureAwait(false);
                }

                return 0;
            }
        }));
        return command;
    }
}
