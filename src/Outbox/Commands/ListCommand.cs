using System.CommandLine;
using Outbox.Storage.Admin;
using Outbox.Worker;

namespace Outbox.Commands;

/// <summary>`outbox list`: the newest mails, optionally of one status.</summary>
public static class ListCommand
{
    public static Command Create(CliContext context)
    {
        var status = new Option<string?>("--status") { Description = "Only mails in this status (draft, queued, sending, sent, unconfirmed, failed, cancelled)" };
        status.AcceptOnlyFromAmong("draft", "queued", "sending", "sent", "unconfirmed", "failed", "cancelled");
        var limit = new Option<int>("--limit") { Description = "How many, newest first", DefaultValueFactory = _ => 50 }.Between(1, 100_000);
        var command = new Command("list", "List mails, newest first. Example: outbox list --status failed --limit 20") { status, limit, context.JsonOutput };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var database = await OutboxDatabases.OpenAsync(options.Database, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                var rows = await new OutboxAdmin(database).ListAsync(parse.GetValue(status), parse.GetValue(limit), cancellationToken).ConfigureAwait(false);
                if (parse.GetValue(context.JsonOutput))
                {
                    context.WriteJson(rows);
                    return 0;
                }

                context.Out.WriteLine($"{"ID",8}  {"STATUS",-11}  {"TRIES",5}  {"CREATED (UTC)",-24}  {"FROM",-28}  SUBJECT / LAST ERROR");
                foreach (var row in rows)
                {
                    var note = row.LastError is null ? row.Subject : $"{row.Subject} [{row.LastError}]";
                    context.Out.WriteLine($"{row.Id,8}  {row.Status,-11}  {row.AttemptCount,5}  {row.CreatedAt,-24}  {Cut(row.Sender, 28),-28}  {note}");
                }

                return 0;
            }
        }));
        return command;
    }

    private static string Cut(string value, int width) => value.Length <= width ? value : value[..(width - 1)] + "…";
}
