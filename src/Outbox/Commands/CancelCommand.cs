using System.CommandLine;
using Outbox.Storage.Admin;
using Outbox.Worker;

namespace Outbox.Commands;

/// <summary>`outbox cancel ID`: stops a mail that has not been sent.</summary>
public static class CancelCommand
{
    public static Command Create(CliContext context)
    {
        var id = new Argument<long>("ID") { Description = "The mail's id" };
        var command = new Command("cancel", "Cancel a draft or queued mail") { id };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var database = await OutboxDatabases.OpenAsync(options.Database, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                await new OutboxAdmin(database).CancelAsync(parse.GetValue(id), cancellationToken).ConfigureAwait(false);
                await context.Out.WriteLineAsync($"mail {parse.GetValue(id)} cancelled").ConfigureAwait(false);
                return 0;
            }
        }));
        return command;
    }
}
