using System.CommandLine;
using System.Globalization;
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
        olderThan.Description = "Delete sent, failed, cancelled and expired mails created longer ago than this (e.g. 90d, 2w, 12h, 30min; m is minutes, months are not taken: write days)";
        olderThan.Required = true;
        var batchSize = new Option<int?>("--batch-size") { Description = "Mails deleted per statement (default: Outbox:Retention:BatchSize)" }.Between(1, 100_000);
        var dryRun = new Option<bool>("--dry-run") { Description = "Print how many mails would be deleted, and before which time, and delete nothing" };
        var command = new Command("purge", "Delete finished (sent, failed, cancelled, expired) mails older than an age, with their recipients, attachments and attempts; says how many, and before which time, first. Example: outbox purge --older-than 90d --dry-run") { olderThan, batchSize, dryRun, context.JsonOutput };
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
                var admin = new OutboxAdmin(database);
                // The age in words and the time it reaches back to, so "1m" cannot be read as a month unseen.
                var before = $"created before {DateTimeOffset.UtcNow - age:yyyy-MM-dd HH:mm:ss} UTC (older than {InWords(age)})";
                var count = await admin.CountPurgeableAsync(age, cancellationToken).ConfigureAwait(false);
                var json = parse.GetValue(context.JsonOutput);
                if (parse.GetValue(dryRun))
                {
                    if (json)
                    {
                        context.WriteJson(new { wouldDelete = count, deleted = 0, olderThan = age.ToString("c", CultureInfo.InvariantCulture) });
                    }
                    else
                    {
                        await context.Out.WriteLineAsync($"would delete {count} finished mail(s) {before}; nothing was deleted (--dry-run)").ConfigureAwait(false);
                    }

                    return 0;
                }

                await context.Error.WriteLineAsync($"outbox: deleting {count} finished mail(s) {before}").ConfigureAwait(false);
                PurgeOutcome done;
                using (var progress = new CliProgress(context.ProgressError, "deleted"))
                {
                    done = await admin.PurgeAsync(age, parse.GetValue(batchSize) ?? options.Retention.BatchSize, progress, cancellationToken).ConfigureAwait(false);
                }

                if (json)
                {
                    context.WriteJson(new { deleted = done.Deleted, skipped = done.Skipped, olderThan = age.ToString("c", CultureInfo.InvariantCulture) });
                }
                else
                {
                    await context.Out.WriteLineAsync($"deleted {done.Deleted} finished mail(s) {before}"
                        + (done.Skipped == 0 ? string.Empty : $"; skipped {done.Skipped} that another transaction held (run the purge again later)")).ConfigureAwait(false);
                }

                return 0;
            }
        }));
        return command;
    }

    /// <summary>An age as a person says it: "1 minute", "90 days", "2 hours 30 minutes".</summary>
    internal static string InWords(TimeSpan age)
    {
        var parts = new List<string>();
        void Add(int amount, string unit)
        {
            if (amount != 0)
            {
                parts.Add(amount == 1 ? $"1 {unit}" : $"{amount} {unit}s");
            }
        }

        Add(age.Days, "day");
        Add(age.Hours, "hour");
        Add(age.Minutes, "minute");
        Add(age.Seconds, "second");
        return parts.Count == 0 ? $"{age.TotalMilliseconds:0} ms" : string.Join(' ', parts);
    }
}
