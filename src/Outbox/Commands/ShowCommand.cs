using System.CommandLine;
using Outbox.Core.Messages;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Outbox.Worker;

namespace Outbox.Commands;

/// <summary>`outbox show ID`: one mail with its recipients, attachments and every attempt.</summary>
public static class ShowCommand
{
    public static Command Create(CliContext context)
    {
        var id = new Argument<long>("ID") { Description = "The mail's id" };
        var eml = new Option<bool>("--eml") { Description = "Write the mail itself to stdout as the server receives it after DATA (no Bcc header), e.g. outbox show 42 --eml > 42.eml" };
        var command = new Command("show", "Show one mail: headers, recipients with each server answer, attachments with sizes, every attempt. Example: outbox show 42") { id, eml, context.JsonOutput };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var database = await OutboxDatabases.OpenAsync(options.Database, ConnectionUse.Cli, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                if (parse.GetValue(eml))
                {
                    await WriteEmlAsync(context, database, parse.GetValue(id), cancellationToken).ConfigureAwait(false);
                    return 0;
                }

                var mail = await new OutboxAdmin(database).ShowAsync(parse.GetValue(id), cancellationToken).ConfigureAwait(false)
                    ?? throw new MailValidationException("ID", $"there is no mail {parse.GetValue(id)}", "See `outbox list` for the ids");
                if (parse.GetValue(context.JsonOutput))
                {
                    context.WriteJson(mail);
                    return 0;
                }

                Print(context.Out, mail);
                return 0;
            }
        }));
        return command;
    }

    // Built by the worker's own code from the stored rows, so it is what a send would put on the wire
    // (but for the Date header, which is the time of the call).
    private static async Task WriteEmlAsync(CliContext context, OutboxDatabase database, long id, CancellationToken cancellationToken)
    {
        var store = new OutboxStore(database, "outbox show");
        var mail = await store.ReadAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new MailValidationException("ID", $"there is no mail {id}", "See `outbox list` for the ids");
        await using var output = context.OpenStandardOutput();
        await new MimeMessageFactory(store.Content, TimeProvider.System).WriteAsync(mail, output, cancellationToken).ConfigureAwait(false);
    }

    private static void Print(TextWriter output, MessageDetails mail)
    {
        var m = mail.Message;
        output.WriteLine($"Mail {m.Id}: {m.Status} ({m.Kind}), {m.AttemptCount} attempt(s)");
        if (Delivery(mail.Recipients) is { } delivery)
        {
            output.WriteLine($"  Delivered:   {delivery}");
        }

        output.WriteLine($"  From:        {m.Sender}");
        foreach (var recipient in mail.Recipients)
        {
            var outcome = recipient.Status is null && recipient.SmtpReply is null ? string.Empty : $"  [{recipient.Status ?? "owed"}{(recipient.SmtpReply is null ? string.Empty : ": " + recipient.SmtpReply)}]";
            output.WriteLine($"  {Capitalized(recipient.Kind) + ":",-12} {recipient.Address}{outcome}");
        }

        if (m.ReplyTo is not null)
        {
            output.WriteLine($"  Reply-To:    {m.ReplyTo}");
        }

        output.WriteLine($"  Subject:     {m.Subject}");
        if (m.Template is not null)
        {
            // What the worker renders: the template copied at enqueue, with this data.
            output.WriteLine($"  Template:    {m.Template}{(m.TemplateLocale is null ? string.Empty : $" ({m.TemplateLocale})")}");
            output.WriteLine($"  Data:        {m.TemplateData}");
        }

        output.WriteLine($"  Message-ID:  {m.MimeMessageId}");
        // A raw (UTL_SMTP-shaped) mail is the caller's own text: it has the headers it wrote, and
        // no X-Priority or body parts of ours.
        if (m.Kind == "raw")
        {
            output.WriteLine("  Body:        the text as written, headers included (outbox show ID --eml prints it)");
        }
        else
        {
            output.WriteLine($"  X-Priority:  {m.Priority}");
            output.WriteLine($"  Body:        {(m.HasTextBody ? "text" : string.Empty)}{(m.HasTextBody && m.HasHtmlBody ? " + " : string.Empty)}{(m.HasHtmlBody ? "html" : string.Empty)}");
        }

        output.WriteLine($"  Created:     {m.CreatedAt}");
        if (m.SendAfter is not null)
        {
            output.WriteLine($"  Send after:  {m.SendAfter}");
        }

        if (m.ExpiresAt is not null)
        {
            output.WriteLine($"  Expires at:  {m.ExpiresAt}");
        }

        // Checked at enqueue: printable, one line each.
        foreach (var header in Core.Validation.MailHeaderRules.Parse(m.Headers))
        {
            output.WriteLine($"  {header.Name}: {header.Value}");
        }

        if (m.DueAt is not null)
        {
            output.WriteLine($"  Due:         {m.DueAt}{(m.LeaseOwner is null ? string.Empty : " (leased by " + m.LeaseOwner + ")")}");
        }

        if (m.SentAt is not null)
        {
            output.WriteLine($"  Sent:        {m.SentAt}");
        }

        if (m.SmtpCode is not null || m.SmtpReply is not null)
        {
            output.WriteLine($"  Last reply:  {m.SmtpCode} {m.SmtpReply}");
        }

        if (m.LastError is not null)
        {
            output.WriteLine($"  Last error:  {m.LastError}");
        }

        output.WriteLine($"Attachments ({mail.Attachments.Count}):");
        foreach (var a in mail.Attachments)
        {
            var cid = a.ContentId is null ? string.Empty : $" cid:{a.ContentId}";
            output.WriteLine($"  {a.FileName ?? "(no name)"}  {a.MimeType}  {a.Size:N0} bytes{(a.IsInline ? " inline" : string.Empty)}{cid}");
        }

        output.WriteLine($"Attempts ({mail.Attempts.Count}):");
        foreach (var a in mail.Attempts)
        {
            var reply = a.SmtpCode is null ? string.Empty : $" {a.SmtpCode} {a.SmtpReply}";
            var error = a.Error is null || a.Error == a.SmtpReply || a.Error == $"{a.SmtpCode} {a.SmtpReply}" ? string.Empty : $" - {a.Error}";
            output.WriteLine($"  #{a.AttemptNo} {a.AttemptedAt} {a.Worker}{(a.Account is null ? string.Empty : $" via {a.Account}")} {a.Outcome}{reply}{error}");
        }
    }

    // A partial delivery at a glance: "to 3 of 5 recipients; 2 deferred (tried again), 0 rejected".
    private static string? Delivery(IReadOnlyList<RecipientRow> recipients)
    {
        if (recipients.All(r => r.Status is null && r.SmtpReply is null) || recipients.All(r => r.Status == "accepted"))
        {
            return null;
        }

        int Count(string? status) => recipients.Count(r => r.Status == status && (status is not null || r.SmtpReply is null));
        var unconfirmed = recipients.Count(r => r.Status is null && r.SmtpReply is not null);
        return $"to {Count("accepted")} of {recipients.Count} recipients; {Count("deferred")} deferred (tried again), {Count("rejected")} rejected, "
            + (unconfirmed > 0 ? $"{unconfirmed} unconfirmed, " : string.Empty) + $"{Count(null)} not tried yet";
    }

    private static string Capitalized(string kind) => kind.Length == 0 ? kind : char.ToUpperInvariant(kind[0]) + kind[1..];
}
