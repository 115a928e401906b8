using System.CommandLine;
using Outbox.Core.Sending;
using Outbox.Core.Sending.Graph;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Storage.Admin;

namespace Outbox.Commands;

/// <summary>
/// `outbox check smtp`, `outbox check graph` and `outbox check db`: each connects as the worker
/// would and says, step by step, whether it would work and why not.
/// </summary>
public static class CheckCommand
{
    public static Command Create(CliContext context)
    {
        var from = new Option<string?>("--from")
        {
            Description = "A sender to try with MAIL FROM (then RSET; nothing is sent). Default: Outbox:Smtp:UserName when it is an address",
        };
        var account = new Option<string?>("--account") { Description = "Which of Outbox:Accounts to check (default: Outbox:Smtp, or the only account)" };
        var smtp = new Command("smtp", "Connect to the SMTP server as the worker would: DNS, TCP, STARTTLS, certificate chain, AUTH, MAIL FROM; exit 0 only when mail would go out. Example: outbox check smtp --from orders@example.com")
        {
            context.JsonOutput,
            from,
            account,
        };
        smtp.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            if (!options.Transport.Trim().Equals("smtp", StringComparison.OrdinalIgnoreCase))
            {
                throw new MailValidationException("Outbox:Transport", $"is {options.Transport}, so no SMTP server is used", "Set it to smtp to check a server");
            }

            var server = ServerOf(options, parse.GetValue(account));
            if (server.UsesGraph())
            {
                throw new MailValidationException("--account", "names an account with Transport graph, which has no SMTP server", "Check it with outbox check graph --account NAME");
            }

            var sender = parse.GetValue(from) ?? (server.UserName?.Contains('@', StringComparison.Ordinal) == true ? server.UserName : null);
            if (sender is not null)
            {
                MailAddressRules.CheckAddress("--from", sender);
            }

            (IReadOnlyList<SmtpCheckStep> Steps, bool WouldSend) result;
            using (var waiting = new WaitingNotice(context.Error, TimeSpan.FromSeconds(Math.Min(3, server.Timeout.TotalSeconds / 2)),
                $"{(options.Accounts.Count == 0 ? "Outbox:Smtp" : $"Outbox:Accounts:{parse.GetValue(account) ?? options.Accounts.Keys.Single()}")}:Timeout, {server.Timeout:c}"))
            {
                result = await new SmtpCheck(server, sender, waiting).RunAsync(cancellationToken).ConfigureAwait(false);
            }

            var (steps, wouldSend) = result;
            var verdict = SmtpCheck.Verdict(server, steps, wouldSend);
            await WriteAsync(context, parse, steps.Select(s => (s.Step, s.Ok, s.Detail)), wouldSend, verdict).ConfigureAwait(false);
            return wouldSend ? 0 : 1;
        }));
        var graphAccount = new Option<string?>("--account") { Description = "Which of Outbox:Accounts (with Transport graph) to check (default: Outbox:Graph, or the only such account)" };
        var graph = new Command("graph", "Get the app's OAuth2 token and ask Microsoft Graph for the mailbox, as the worker would; nothing is sent; exit 0 only when both work. Example: outbox check graph --account m365")
        {
            context.JsonOutput,
            graphAccount,
        };
        graph.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var (settings, key, name) = GraphOf(options, parse.GetValue(graphAccount));
            using var transport = new GraphTransport(settings, key, name);
            (IReadOnlyList<SmtpCheckStep> Steps, bool Ok) result;
            using (new WaitingNotice(context.Error, TimeSpan.FromSeconds(Math.Min(3, settings.Timeout.TotalSeconds / 2)), $"{key}:Timeout, {settings.Timeout:c}"))
            {
                result = await new GraphCheck(transport).RunAsync(cancellationToken).ConfigureAwait(false);
            }

            await WriteAsync(context, parse, result.Steps.Select(s => (s.Step, s.Ok, s.Detail)), result.Ok, GraphCheck.Verdict(settings, result.Steps, result.Ok)).ConfigureAwait(false);
            return result.Ok ? 0 : 1;
        }));
        var db = new Command("db", "Check the database as the worker uses it: connection, schema and its version, the user's privileges, the queue; exit 0 only when the worker could run. Example: outbox check db --json")
        {
            context.JsonOutput,
        };
        db.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var database = OutboxDatabase.Create(options.Database, ConnectionUse.Cli);
            await using (database.ConfigureAwait(false))
            {
                if (database.IsSqlite)
                {
                    // As every other command does: SQLite needs no DBA.
                    await new SchemaInstaller(database).InstallAsync(cancellationToken).ConfigureAwait(false);
                }

                var (steps, usable, installed) = await new DatabaseCheck(database).RunAsync(cancellationToken).ConfigureAwait(false);
                var verdict = DatabaseCheck.Verdict(steps, usable);
                await WriteAsync(context, parse, steps.Select(s => (s.Step, s.Ok, s.Detail)), usable, verdict).ConfigureAwait(false);
                // A schema that is not installed as this release needs it is a configuration error, as for every other command.
                return usable ? ExitCodes.Ok : installed ? ExitCodes.Failed : ExitCodes.Configuration;
            }
        }));
        return new Command("check", "Diagnostics that say, step by step, why mail would not go out. Examples: outbox check smtp; outbox check graph; outbox check db") { smtp, graph, db };
    }

    // The Graph settings to check: Outbox:Graph when it is the transport, else an account with Transport graph.
    private static (GraphOptions Settings, string Key, string Account) GraphOf(Configuration.OutboxOptions options, string? account)
    {
        var graphAccounts = options.Accounts.Where(a => a.Value.UsesGraph()).Select(a => a.Key).ToList();
        if (account is not null)
        {
            return options.Accounts.TryGetValue(account, out var named) && named.UsesGraph()
                ? (named.ToGraph(), $"Outbox:Accounts:{account}", account)
                : throw new MailValidationException("--account", $"\"{account}\" is not an account of Outbox:Accounts with Transport graph", graphAccounts.Count == 0 ? "There are none; leave --account out to check Outbox:Graph" : $"Name one of {string.Join(", ", graphAccounts)}");
        }

        if (options.Transport.Trim().Equals("graph", StringComparison.OrdinalIgnoreCase))
        {
            return (options.Graph, "Outbox:Graph", SmtpTransport.DefaultAccount);
        }

        return graphAccounts.Count switch
        {
            1 => (options.Accounts[graphAccounts[0]].ToGraph(), $"Outbox:Accounts:{graphAccounts[0]}", graphAccounts[0]),
            0 => throw new MailValidationException("Outbox:Transport", $"is {options.Transport} and no account of Outbox:Accounts has Transport graph, so Microsoft Graph is not used", "Set Outbox:Transport to graph (with Outbox:Graph), or add an account with Transport graph"),
            _ => throw new MailValidationException("--account", "is required: several accounts of Outbox:Accounts use Graph", $"Name one of {string.Join(", ", graphAccounts)}"),
        };
    }

    private static SmtpOptions ServerOf(Configuration.OutboxOptions options, string? account)
    {
        if (account is null)
        {
            return options.Accounts.Count switch
            {
                0 => options.Smtp,
                1 => options.Accounts.Values.Single(),
                _ => throw new MailValidationException("--account", "is required: Outbox:Accounts has several accounts", $"Name one of {string.Join(", ", options.Accounts.Keys)}"),
            };
        }

        return options.Accounts.TryGetValue(account, out var found)
            ? found
            : throw new MailValidationException("--account", $"\"{account}\" is not in Outbox:Accounts", options.Accounts.Count == 0 ? "There are no accounts; leave --account out to check Outbox:Smtp" : $"Name one of {string.Join(", ", options.Accounts.Keys)}");
    }

    private static async Task WriteAsync(CliContext context, ParseResult parse, IEnumerable<(string Step, bool Ok, string Detail)> steps, bool ok, string verdict)
    {
        if (parse.GetValue(context.JsonOutput))
        {
            context.WriteJson(new { steps = steps.Select(s => new { step = s.Step, ok = s.Ok, detail = s.Detail }), ok, verdict });
            return;
        }

        foreach (var (step, stepOk, detail) in steps)
        {
            await context.Out.WriteLineAsync($"{(stepOk ? "ok  " : "FAIL")} {step,-16} {detail}").ConfigureAwait(false);
        }

        await context.Out.WriteLineAsync($"verdict: {verdict}").ConfigureAwait(false);
    }
}
