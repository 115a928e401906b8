using System.CommandLine;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Outbox.Worker;

namespace Outbox.Commands;

/// <summary>The commands that change mail by id: `outbox retry` (one, or every one in a status) and `outbox cancel ID`.</summary>
public static class MailActionCommand
{
    /// <summary>`outbox retry ID`, or `outbox retry --status failed` for every mail in that status.</summary>
    public static Command Retry(CliContext context)
    {
        var id = new Argument<long?>("ID") { Description = "The mail's id", Arity = ArgumentArity.ZeroOrOne };
        var status = new Option<string?>("--status") { Description = "Instead of one ID: every mail that is failed, unconfirmed or cancelled" };
        var batchSize = new Option<int>("--batch-size") { Description = "Mails changed per statement", DefaultValueFactory = _ => 1000 }.Between(1, 100_000);
        var command = new Command("retry", "Queue a failed, unconfirmed, cancelled or waiting (queued) mail, or every failed, unconfirmed or cancelled one, to be sent now, with a fresh count of attempts. Examples: outbox retry 42; outbox retry --status failed")
        {
            id, status, batchSize, context.JsonOutput,
        };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var (one, all) = (parse.GetValue(id), parse.GetValue(status));
            if (one is null == all is null)
            {
                throw new Core.Validation.MailValidationException("ID", "give either a mail's ID or --status", "For example `outbox retry 42` or `outbox retry --status failed`");
            }

            var database = await OutboxDatabases.OpenAsync(options.Database, ConnectionUse.Cli, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                var admin = new OutboxAdmin(database);
                if (one is { } mail)
                {
                    await admin.RetryAsync(mail, cancellationToken).ConfigureAwait(false);
                    await context.Out.WriteLineAsync($"mail {mail} queued").ConfigureAwait(false);
                    return 0;
                }

                BulkRetryOutcome done;
                using (var progress = new CliProgress(context.ProgressError, "queued"))
                {
                    done = await admin.RetryAllAsync(all!.Trim().ToLowerInvariant(), parse.GetValue(batchSize), progress, cancellationToken).ConfigureAwait(false);
                }

                if (parse.GetValue(context.JsonOutput))
                {
                    context.WriteJson(new { queued = done.Queued, skipped = done.Skipped, expired = done.Expired, status = all });
                }
                else
                {
                    await context.Out.WriteLineAsync((done.Skipped == 0
                        ? $"queued {done.Queued} mail(s) that were {all}"
                        : $"queued {done.Queued} of the {done.Matched} mail(s) that were {all}; skipped {done.Skipped} that another transaction held or that left the status meanwhile")
                        + (done.Expired == 0 ? string.Empty : $"; left out {done.Expired} past their expires_at (never sent after it)")).ConfigureAwait(false);
                }

                return 0;
            }
        }));
        return command;
    }

    public static Command Cancel(CliContext context) =>
        Create(context, "cancel", "Cancel a mail that is a draft, queued or unconfirmed (never one being sent or sent). Example: outbox cancel 42", "cancelled",
            (admin, id, cancellationToken) => admin.CancelAsync(id, cancellationToken));

    private static Command Create(CliContext context, string name, string description, string done, Func<OutboxAdmin, long, CancellationToken, Task> change)
    {
        var id = new Argument<long>("ID") { Description = "The mail's id" };
        var command = new Command(name, description) { id };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var database = await OutboxDatabases.OpenAsync(options.Database, ConnectionUse.Cli, cancellationToken).ConfigureAwait(false);
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
