using System.CommandLine;
using Microsoft.Extensions.Logging;
using Outbox.Storage;
using Outbox.Worker;

namespace Outbox.Commands;

/// <summary>`outbox run`: the worker, as a service; `--once` sends what is due and exits.</summary>
public static class RunCommand
{
    public static Command Create(CliContext context)
    {
        var once = new Option<bool>("--once") { Description = "Send every mail that is due now, then exit" };
        var command = new Command("run", "Run the worker: claim due mail, send it, record the outcome. Examples: outbox run (the service); outbox run --once --json") { once, context.JsonOutput };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var verbose = parse.GetValue(context.Verbose);
            if (!parse.GetValue(once))
            {
                await WorkerHost.RunAsync(options, verbose, cancellationToken).ConfigureAwait(false);
                return ExitCodes.Ok;
            }

            using var loggers = LoggerFactory.Create(logging => logging
                .AddPrintableConsole()
                .SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Warning));
            await context.Error.WriteLineAsync($"outbox: mail goes by {OutboxRuntime.DescribeTransport(options)}").ConfigureAwait(false);
            var database = await OutboxDatabases.OpenAsync(options.Database, ConnectionUse.Worker, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                var dispatcher = OutboxRuntime.CreateDispatcher(options, database, loggers);
                var summary = await dispatcher.DispatchDueAsync(cancellationToken).ConfigureAwait(false);
                if (parse.GetValue(context.JsonOutput))
                {
                    context.WriteJson(new
                    {
                        sent = summary.Sent, retryLater = summary.Retried, failed = summary.Failed, notTried = summary.Released,
                        unconfirmed = summary.Unconfirmed, expired = summary.Expired, pausedBecause = summary.PausedBecause,
                    });
                }
                else
                {
                    var unconfirmed = summary.Unconfirmed > 0 ? $", held unconfirmed {summary.Unconfirmed}" : string.Empty;
                    var expired = summary.Expired > 0 ? $", expired {summary.Expired}" : string.Empty;
                    await context.Out.WriteLineAsync($"sent {summary.Sent}, retry later {summary.Retried}, failed {summary.Failed}, not tried {summary.Released}{unconfirmed}{expired}").ConfigureAwait(false);
                }

                if (summary.PausedBecause is not null)
                {
                    await context.Error.WriteLineAsync($"outbox: {summary.PausedBecause}").ConfigureAwait(false);
                }

                return ExitCodeOf(summary);
            }
        }));
        return command;
    }

    // A configuration error says so before mails failing does: it is what an operator must fix.
    private static int ExitCodeOf(Core.Dispatch.DispatchSummary summary) => summary.PausedFor switch
    {
        Core.Dispatch.FailureKind.Configuration => ExitCodes.Configuration,
        Core.Dispatch.FailureKind.Transient or Core.Dispatch.FailureKind.ServerUnavailable => ExitCodes.Unreachable,
        _ when summary.Failed > 0 => ExitCodes.Failed,
        _ => ExitCodes.Ok,
    };
}
