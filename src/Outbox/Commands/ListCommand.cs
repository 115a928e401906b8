using System.CommandLine;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Outbox.Worker;

namespace Outbox.Commands;

/// <summary>`outbox list`: the newest mails, optionally of one status.</summary>
public static class ListCommand
{
    public static Command Create(CliContext context)
    {
        var status = new Option<string?>("--status") { Description = "Only mails in this status (draft, queued, sending, sent, unconfirmed, failed, cancelled, expired)" };
        status.AcceptOnlyFromAmong("draft", "queued", "sending", "sent", "unconfirmed", "failed", "cancelled", "expired");
        var limit = new Option<int>("--limit") { Description = "How many, newest first", DefaultValueFactory = _ => 50 }.Between(1, 100_000);
        var to = Text(new Option<string?>("--to") { Description = "Only mails with a recipient (To, Cc, Bcc) containing this text, e.g. an address or @example.com" });
        var subject = Text(new Option<string?>("--subject") { Description = "Only mails whose subject contains this text (case ignored)" });
        var since = CliArguments.PointInTime("--since", TimeProvider.System);
        since.Description = "Only mails created at or after this time: 2026-12-01, 2026-12-01T10:00:00Z, or an age such as 2h or 7d";
        var until = CliArguments.PointInTime("--until", TimeProvider.System);
        until.Description = "Only mails created before this time (same forms as --since)";
        var command = new Command("list", "List mails, newest first. Example: outbox list --status failed --since 1d --to @example.com")
        {
            status, to, subject, since, until, limit, context.JsonOutput,
        };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var database = await OutboxDatabases.OpenAsync(options.Database, ConnectionUse.Cli, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                var rows = await new OutboxAdmin(database).ListAsync(
                    new MailFilter
                    {
                        Status = parse.GetValue(status), To = parse.GetValue(to), Subject = parse.GetValue(subject),
                        Since = parse.GetValue(since), Until = parse.GetValue(until),
                    },
                    parse.GetValue(limit),
                    cancellationToken).ConfigureAwait(false);
                if (parse.GetValue(context.JsonOutput))
                {
                    context.WriteJson(rows);
                    return 0;
                }

                context.Out.WriteLine($"{"ID",8}  {"STATUS",-11}  {"TRIES",5}  {"CREATED (UTC)",-24}  {"FROM",-28}  SUBJECT / LAST ERROR");
                foreach (var row in rows)
                {
                    // One line a mail, whatever an error's text holds.
                    var note = Core.Text.PrintableText.Escape(row.LastError is null ? row.Subject : $"{row.Subject} [{row.LastError}]");
                    context.Out.WriteLine($"{row.Id,8}  {row.Status,-11}  {row.AttemptCount,5}  {row.CreatedAt,-24}  {Cut(row.Sender, 28),-28}  {note}");
                }

                return 0;
            }
        }));
        return command;
    }

    // An address or a subject is one line of at most 998 characters (RFC 5322); so is a filter on one.
    private static Option<string?> Text(Option<string?> option)
    {
        option.Validators.Add(result =>
        {
            var value = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
            if (value.Length is 0 or > MailFilter.MaxTextLength || value.Any(char.IsControl))
            {
                result.AddError($"{option.Name}: give 1 to {MailFilter.MaxTextLength} characters on one line");
            }
        });
        return option;
    }

    private static string Cut(string value, int width) => value.Length <= width ? value : value[..(width - 1)] + "…";
}
