using System.CommandLine;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Outbox.Worker;

namespace Outbox.Commands;

/// <summary>`outbox pause [--profile P] [--reason TEXT]` and `outbox resume [--profile P]`: stop and restart sending for every worker.</summary>
public static class PauseCommand
{
    // Recorded as paused_by / resumed_by: the OS user, as with retry and cancel.
    private static string Actor => $"{Environment.UserName} (outbox cli)";

    public static Command Pause(CliContext context)
    {
        var profile = new Option<string?>("--profile") { Description = "Pause only this profile's mail (an entry of Outbox:Profiles, or default); without it, all sending" };
        var reason = new Option<string?>("--reason") { Description = "Why, in one line (kept with the pause, shown by status and the dashboard)" };
        var command = new Command("pause", "Pause sending, for every worker of this outbox, until `outbox resume`: each stops between mails within its poll interval and hands back what it holds, uncharged. Example: outbox pause --profile bulk --reason \"provider incident\"")
        {
            profile, reason,
        };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var scope = parse.GetValue(profile);
            PauseControl.ScopeOf(scope, "--profile");
            PauseControl.CheckReason(parse.GetValue(reason), "--reason");
            var database = await OutboxDatabases.OpenAsync(options.Database, ConnectionUse.Cli, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                var line = await new PauseControl(database, Actor).PauseAsync(scope, parse.GetValue(reason), cancellationToken).ConfigureAwait(false);
                await context.Out.WriteLineAsync(line).ConfigureAwait(false);
                return 0;
            }
        }));
        return command;
    }

    public static Command Resume(CliContext context)
    {
        var profile = new Option<string?>("--profile") { Description = "Resume only this profile; without it, everything paused" };
        var command = new Command("resume", "Resume sending paused with `outbox pause` (everything paused, or one profile). Example: outbox resume")
        {
            profile,
        };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var scope = parse.GetValue(profile);
            if (scope is not null)
            {
                PauseControl.ScopeOf(scope, "--profile");
            }

            var database = await OutboxDatabases.OpenAsync(options.Database, ConnectionUse.Cli, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                var (_, lines) = await new PauseControl(database, Actor).ResumeAsync(scope, cancellationToken).ConfigureAwait(false);
                foreach (var line in lines)
                {
                    await context.Out.WriteLineAsync(line).ConfigureAwait(false);
                }

                return 0;
            }
        }));
        return command;
    }
}
