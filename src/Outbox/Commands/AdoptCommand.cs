using System.CommandLine;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Outbox.Worker;

namespace Outbox.Commands;

/// <summary>
/// `outbox adopt`: lets the worker send in a copy of the database (a restore, a move, a clone),
/// once the operator has said what becomes of the mails the copy holds.
/// </summary>
public static class AdoptCommand
{
    public static Command Create(CliContext context)
    {
        var keep = new Option<bool>("--keep-queue") { Description = "Send the mails waiting in this database (a restore after a disaster, a move to a new server)" };
        var cancel = new Option<bool>("--cancel-waiting") { Description = "Cancel the mails waiting in this database, recorded in each one's attempt log (a clone of production into test)" };
        var command = new Command("adopt", "Let the worker send in this database although it is a copy of the one the outbox was installed in; choose what becomes of the waiting mails. Examples: outbox adopt --cancel-waiting; outbox adopt --keep-queue")
        {
            keep, cancel, context.JsonOutput,
        };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var (keepQueue, cancelWaiting) = (parse.GetValue(keep), parse.GetValue(cancel));
            if (keepQueue == cancelWaiting)
            {
                throw new Core.Validation.MailValidationException("--keep-queue / --cancel-waiting", "give exactly one of them: the mails waiting in a copy were production's",
                    "A restore or a move: --keep-queue sends them from here. A clone into test: --cancel-waiting cancels them (production sent them), recorded in each mail's attempt log");
            }

            var database = await OutboxDatabases.OpenAsync(options.Database, ConnectionUse.Cli, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                var done = await new DatabaseAdoption(database, $"{Environment.UserName} (outbox adopt)").AdoptAsync(cancelWaiting, cancellationToken).ConfigureAwait(false);
                if (parse.GetValue(context.JsonOutput))
                {
                    context.WriteJson(new { adopted = done.WasCopy, previous = done.Previous, current = done.Current, waiting = done.Waiting, cancelled = done.Cancelled });
                }
                else
                {
                    await context.Out.WriteLineAsync(!done.WasCopy
                        ? $"nothing to adopt: this database is {done.Current}, the one the outbox was installed in; nothing was changed"
                        : cancelWaiting
                            ? $"adopted {done.Current} (was {done.Previous ?? "not recorded"}): cancelled {done.Cancelled} waiting mail(s); the worker sends what is enqueued from now on"
                            : $"adopted {done.Current} (was {done.Previous ?? "not recorded"}): kept the queue; the worker sends the {done.Waiting} waiting mail(s)").ConfigureAwait(false);
                }

                return ExitCodes.Ok;
            }
        }));
        return command;
    }
}
