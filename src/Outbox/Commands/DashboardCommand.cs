using System.CommandLine;
using Outbox.Dashboard;
using Outbox.Storage;
using Outbox.Worker;

namespace Outbox.Commands;

/// <summary>`outbox dashboard`: the web dashboard on its own, for a host that runs no worker.</summary>
public static class DashboardCommand
{
    public static Command Create(CliContext context)
    {
        var url = new Option<string?>("--url") { Description = $"Listen here instead of Outbox:Dashboard:Url (default {DashboardBinding.DefaultUrl})" };
        var command = new Command("dashboard", $"Serve the web dashboard until stopped (Ctrl+C), as the worker does when Outbox:Dashboard:Url is set. Example: outbox dashboard --url {DashboardBinding.DefaultUrl}") { url };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var binding = DashboardBinding.From(options.Dashboard, parse.GetValue(url));
            var database = await OutboxDatabases.OpenAsync(options.Database, ConnectionUse.Dashboard(options.Dashboard.DatabaseConnections), cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                var app = DashboardApp.Create(options, database, binding);
                await using (app.ConfigureAwait(false))
                {
                    await app.StartAsync(cancellationToken).ConfigureAwait(false);
                    await context.Error.WriteLineAsync($"outbox: dashboard on {binding.Url} ({(options.Dashboard.AllowActions ? "actions on" : "read-only")}); Ctrl+C stops it").ConfigureAwait(false);
                    try
                    {
                        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        // Ctrl+C or SIGTERM: stop serving.
                    }

                    await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
                    return ExitCodes.Ok;
                }
            }
        }));
        return command;
    }
}
