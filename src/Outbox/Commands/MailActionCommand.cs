using System.CommandLine;
using Outbox.Storage.Admin;
using Outbox.Worker;

namespace Outbox.Commands;

/// <summary>The commands that change one mail by id: `outbox retry ID` and `outbox cancel ID`.</summary>
public static class MailActionCommand
{
    public static Command Retry(CliContext context) =>
        Create(context, "retry", "Queue a failed or cancelled mail to be sent now, with a fresh count of attempts", "queued",
            (admin, id, cancellationToken) => admin.RetryAsync(id, cancellationToken));

    public static Command Cancel(CliContext context) =>
        Create(context, "cancel", "Cancel a draft or queued mail", "cancelled",
            (admin, id, cancellationToken) => admin.CancelAsync(id, cancellationToken));

    private static Command Create(CliContext context, string name, string description, string done, Func<OutboxAdmin, long, CancellationToken, Task> change)
    {
        var id = new Argument<long>("ID") { Description = "The mail's id" };
        var command = new Command(name, description) { id };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var database = await OutboxDatabases.OpenAsync(options.Database, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                await change(new OutboxAdmin(database), parse.GetValue(id), cancellationToken).ConfigureAwait(false);
                await context.Out.WriteLineAsync($"mail {parse.GetValue(id)} {done}").ConfigureAwait(false);
                return 0;
            }
        }));
        return command;
    }
}
