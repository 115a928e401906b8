using System.CommandLine;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Outbox.Worker;

namespace Outbox.Commands;

/// <summary>`outbox status`: counts per status, the age of the oldest waiting mail, recent errors, pauses and the workers.</summary>
public static class StatusCommand
{
    private static readonly string[] Statuses = ["draft", "queued", "sending", "sent", "unconfirmed", "failed", "cancelled", "expired"];

    public static Command Create(CliContext context)
    {
        var command = new Command("status", "Show how many mails are in each status, the oldest waiting one's age, recent errors, what is paused and the workers with their last pass. Example: outbox status --json") { context.JsonOutput };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var database = await OutboxDatabases.OpenAsync(options.Database, ConnectionUse.Cli, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                var admin = new OutboxAdmin(database);
                var status = await admin.StatusAsync(cancellationToken).ConfigureAwait(false);
                var pauses = await new PauseControl(database, "outbox status").PausesAsync(cancellationToken).ConfigureAwait(false);
                var workers = await admin.WorkersAsync(cancellationToken).ConfigureAwait(false);
                var identity = await DatabaseIdentity.ReadAsync(database, cancellationToken).ConfigureAwait(false);
                if (parse.GetValue(context.JsonOutput))
                {
                    // Every status, 0 included, as the text lists them: a script need not know which are missing.
                    context.WriteJson(new
                    {
                        counts = Statuses.ToDictionary(name => name, name => status.Counts.GetValueOrDefault(name)), status.OldestQueuedSeconds, status.NextDueAt, status.RecentErrors,
                        pauses,
                        workers,
                        database = new { identity = identity.Current, recorded = identity.Recorded, copy = identity.IsCopy, adopted = identity.Adopted },
                        safety = options.Safety.Describe(),
                    });
                    return 0;
                }

                // First, loudly: a copy of the database sends nothing, whatever the counts say.
                if (identity.Problem is { } problem)
                {
                    context.Out.WriteLine($"NOT SENDING: {problem}. {identity.Remedy}");
                }

                // As loudly: this configuration's worker does not send mail as addressed.
                if (options.Safety.Describe() is { } safety)
                {
                    context.Out.WriteLine($"NOT AS ADDRESSED: {safety}");
                }

                foreach (var name in Statuses)
                {
                    context.Out.WriteLine($"{name,-12} {status.Counts.GetValueOrDefault(name),8}");
                }

                // Queued mail that is not due yet (scheduled, or backing off) is not stuck: say when.
                context.Out.WriteLine((status.OldestQueuedSeconds, status.NextDueAt) switch
                {
                    ({ } age, _) => $"oldest waiting mail: {TimeSpan.FromSeconds(Math.Round(age)):c} old",
                    (null, { } next) => $"no mail due now; the next queued mail is due at {next} UTC",
                    _ => "no mail waiting",
                });
                if (status.RecentErrors.Count > 0)
                {
                    context.Out.WriteLine("recent errors:");
                    foreach (var error in status.RecentErrors)
                    {
                        context.Out.WriteLine($"  #{error.Id} {error.Status} {error.LastAttemptAt}: {error.LastError}");
                    }
                }

                foreach (var pause in pauses)
                {
                    context.Out.WriteLine($"paused: {pause}");
                }

                context.Out.WriteLine(workers.Count == 0 ? "workers: none has run a pass in the last day" : "workers:");
                foreach (var worker in workers)
                {
                    var pass = worker.LastPassAt is null ? "no pass yet" : $"last pass {worker.LastPassAt}: {worker.LastResult}";
                    var state = worker.State switch
                    {
                        "stopped" => $"stopped at {worker.StoppedAt}",
                        "stale" => $"STALE: not seen since {worker.LastSeenAt} (polls every {worker.PollSeconds} s)",
                        _ => $"running since {worker.StartedAt}",
                    };
                    var paused = worker.Paused is null ? string.Empty : $"; honours pause {worker.Paused}";
                    context.Out.WriteLine($"  {worker.Name} (host {worker.Host}, pid {worker.Pid}, {worker.Version}) {state}; {pass}{paused}");
                }

                return 0;
            }
        }));
        return command;
    }
}
