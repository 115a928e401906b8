using System.CommandLine;
using Outbox.Storage;

namespace Outbox.Commands;

/// <summary>`outbox init`: runs the shipped install scripts (safe to repeat), then checks the tables.</summary>
public static class InitCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("init", "Install the outbox schema with the scripts under sql/, or verify an installed one");
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var database = OutboxDatabase.Create(options.Database);
            await using (database.ConfigureAwait(false))
            {
                var installer = new SchemaInstaller(database);
                await installer.InstallAsync(cancellationToken).ConfigureAwait(false);
                var missing = await installer.MissingTablesAsync(cancellationToken).ConfigureAwait(false);
                if (missing.Count > 0)
                {
                    await context.Error.WriteLineAsync($"outbox: the scripts ran but these tables are missing: {string.Join(", ", missing)}").ConfigureAwait(false);
                    return 1;
                }

                await context.Out.WriteLineAsync($"Outbox schema installed and verified ({options.Database.Provider}); ran {string.Join(", ", installer.Scripts.Select(Path.GetFileName))}.").ConfigureAwait(false);
                return 0;
            }
        }));
        return command;
    }
}
