using System.CommandLine;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Outbox.Worker;

namespace Outbox.Commands;

/// <summary>`outbox purge --older-than AGE`: the retention purge, on demand.</summary>
public static class PurgeCommand
{
    public static Command Create(CliContext context)
    {
        var olderThan = CliArguments.Duration("--older-than");
        olderThan.Description = "Delete sent, failed and cancelled mails created longer ago than this (e.g. 90d, 12h, or d.hh:mm:ss)";
        olderThan.Required = true;
        var batchSize = new Option<int?>("--batch-size") { Description = "Mails deleted per statement (default: Outbox:Retention:BatchSize)" }.Between(1, 100_000);
        var command = new Command("purge", "Delete finished (sent, failed, cancelled) mails older than an age, with their recipients, attachments and attempts. Example: outbox purge --older-than 90d") { olderThan, batchSize, context.JsonOutput };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var age = parse.GetValue(olderThan);
            if (age <= TimeSpan.Zero)
            {
                throw new Core.Validation.MailValidationException("--older-than", "must be positive", "For example 30d for 30 days");
            }

            var database = await OutboxDatabases.OpenAsync(options.Database, ConnectionUse.Cli, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                PurgeOutcome done;
                using (var progress = new CliProgress(context.ProgressError, "deleted"))
                {
                    done = await new OutboxAdmin(database).PurgeAsync(age, parse.GetValue(batchSize) ?? options.Retention.BatchSize, progress, cancellationToken).ConfigureAwait(false);
                }

                if (parse.GetValue(context.JsonOutput))
                {
                    context.WriteJson(new { deleted = done.Deleted, skipped = done.Skipped, olderThan = age.ToString("c", System.Globalization.CultureInfo.InvariantCulture) });
                }
                else
                {
                    await context.Out.WriteLineAsync($"deleted {done.Deleted} finished mail(s) created more than {age} ago"
                        + (done.Skipped == 0 ? string.Empty : $"; skipped {done.Skipped} that another transaction held (run the purge again later)")).ConfigureAwait(false);
                }

                return 0;
            }
        }));
        return command;
    }
}
