using System.CommandLine;
using Outbox.Storage.Admin;
using Outbox.Worker;

namespace Outbox.Commands;

/// <summary>`outbox retry ID`: sends a failed or cancelled mail again, with a fresh count of attempts.</summary>
public static class RetryCommand
{
    public static Command Create(CliContext context)
    {
        var id = new Argument<long>("ID") { Description = "The mail's id" };
        var command = new Command("retry", "Queue a failed or cancelled mail to be sent now") { id };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var database = await OutboxDatabases.OpenAsync(options.Database, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                await new OutboxAdmin(database).RetryAsync(parse.GetValue(id), cancellationToken).ConfigureAwait(false);
                await context.Out.WriteLineAsync($"mail {parse.GetValue(id)} queued").ConfigureAwait(false);
                return 0;
            }
        }));
        return command;
    }
}
