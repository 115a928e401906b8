using System.CommandLine;
using Outbox.Core.Messages;
using Outbox.Core.Templates;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Storage.Templates;
using Outbox.Worker;

namespace Outbox.Commands;

/// <summary>
/// `outbox template put / list / show / render`: the templates in outbox_template. put checks a
/// template before saving it; render previews one with a data file and queues nothing.
/// </summary>
public static class TemplateCommand
{
    public static Command Create(CliContext context) =>
        new("template", "Manage the mail templates (Liquid) in outbox_template. Example: outbox template put order_confirmation --subject \"Order {{ order.id }}\" --html-file order.html")
        {
            Put(context), List(context), Show(context), Render(context),
        };

    private static Command Put(CliContext context)
    {
        var name = NameArgument();
        var subject = new Option<string>("--subject") { Description = "The subject (Liquid, one line), e.g. \"Order {{ order.id }} confirmed\"", Required = true };
        var textFile = new Option<FileInfo?>("--text-file") { Description = "The plain-text body (Liquid, not HTML-encoded) from a UTF-8 file" };
        var htmlFile = new Option<FileInfo?>("--html-file") { Description = "The HTML body (Liquid; values are HTML-encoded) from a UTF-8 file" };
        var locale = LocaleOption("The locale this row is for, e.g. de (default: the row mails fall back to)");
        var command = new Command("put", "Check a template (syntax, filters, sizes) and save it, new or in place of the row of the same name and locale. Example: outbox template put order_confirmation --subject \"Order {{ order.id }} confirmed\" --text-file order.txt --html-file order.html")
        {
            name, subject, textFile, htmlFile, locale,
        };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var template = new TemplateSource(
                parse.GetValue(name)!,
                parse.GetValue(locale),
                parse.GetValue(subject)!,
                await CliFiles.ReadTextAsync(parse.GetValue(textFile), "--text-file", TemplateLimits.MaxBodyBytes, cancellationToken).ConfigureAwait(false),
                await CliFiles.ReadTextAsync(parse.GetValue(htmlFile), "--html-file", TemplateLimits.MaxBodyBytes, cancellationToken).ConfigureAwait(false));
            var database = await OutboxDatabases.OpenAsync(options.Database, ConnectionUse.Cli, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    var made = await new TemplateStore(database.Dialect).PutAsync(connection, template, Environment.UserName, cancellationToken).ConfigureAwait(false);
                    await context.Out.WriteLineAsync($"template {template.Label} {(made ? "added" : "changed")}").ConfigureAwait(false);
                    return ExitCodes.Ok;
                }
            }
        }));
        return command;
    }

    private static Command List(CliContext context)
    {
        var command = new Command("list", "List the templates: name, locale, subject, who changed each last and when. Example: outbox template list --json") { context.JsonOutput };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var database = await OutboxDatabases.OpenAsync(options.Database, ConnectionUse.Cli, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    var rows = await new TemplateStore(database.Dialect).ListAsync(connection, cancellationToken).ConfigureAwait(false);
                    if (parse.GetValue(context.JsonOutput))
                    {
                        context.WriteJson(rows.Select(r => new { r.Name, r.Locale, r.Subject, r.ChangedAt, r.ChangedBy }));
                        return ExitCodes.Ok;
                    }

                    if (rows.Count > 0)
                    {
                        await context.Out.WriteLineAsync($"{"NAME",-30} {"LOCALE",-8} {"CHANGED (UTC)",-24} {"BY",-16} SUBJECT").ConfigureAwait(false);
                    }

                    foreach (var row in rows)
                    {
                        await context.Out.WriteLineAsync($"{row.Name,-30} {row.Locale ?? "-",-8} {row.ChangedAt,-24} {row.ChangedBy,-16} {row.Subject}").ConfigureAwait(false);
                    }

                    return ExitCodes.Ok;
                }
            }
        }));
        return command;
    }

    private static Command Show(CliContext context)
    {
        var name = NameArgument();
        var locale = LocaleOption("Only the row of this locale (default: every row of the name)");
        var command = new Command("show", "Show a template's rows (each locale) with subject and bodies. Example: outbox template show order_confirmation") { name, locale, context.JsonOutput };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var database = await OutboxDatabases.OpenAsync(options.Database, ConnectionUse.Cli, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    var wanted = parse.GetValue(locale);
                    var rows = (await new TemplateStore(database.Dialect).ShowAsync(connection, parse.GetValue(name)!, cancellationToken).ConfigureAwait(false))
                        .Where(r => wanted is null || string.Equals(r.Locale, wanted, StringComparison.OrdinalIgnoreCase)).ToList();
                    if (rows.Count == 0)
                    {
                        throw new MailValidationException("NAME", $"no template named \"{parse.GetValue(name)}\"{(wanted is null ? string.Empty : $" with locale {wanted}")}", "outbox template list shows them");
                    }

                    if (parse.GetValue(context.JsonOutput))
                    {
                        context.WriteJson(rows);
                        return ExitCodes.Ok;
                    }

                    foreach (var row in rows)
                    {
                        await context.Out.WriteLineAsync($"template: {row.Name}\nlocale:   {row.Locale ?? "(default)"}\ncreated:  {row.CreatedAt} by {row.CreatedBy}\nchanged:  {row.ChangedAt} by {row.ChangedBy}\nsubject:  {row.Subject}").ConfigureAwait(false);
                        foreach (var (part, body) in new[] { ("text body", row.TextBody), ("html body", row.HtmlBody) })
                        {
                            if (body is not null)
                            {
                                await context.Out.WriteLineAsync($"--- {part}\n{body.TrimEnd()}").ConfigureAwait(false);
                            }
                        }

                        await context.Out.WriteLineAsync().ConfigureAwait(false);
                    }

                    return ExitCodes.Ok;
                }
            }
        }));
        return command;
    }

    private static Command Render(CliContext context)
    {
        var name = NameArgument();
        var data = new Option<FileInfo>("--data") { Description = "The data: a UTF-8 file holding a JSON object", Required = true };
        var locale = LocaleOption("Render the row a mail of this locale would use");
        var eml = new Option<FileInfo?>("--eml") { Description = "Also write the whole MIME message, as the worker would send it, to this file" };
        var from = new Option<string>("--from") { Description = "The sender in the --eml file", DefaultValueFactory = _ => "sender@example.invalid" };
        var to = new Option<string>("--to") { Description = "The recipient in the --eml file", DefaultValueFactory = _ => "recipient@example.invalid" };
        var command = new Command("render", "Render a template with a data file, as the worker would, and print subject and bodies; nothing is queued. Exits 1 when the data does not fit the template. Example: outbox template render order_confirmation --data order.json --eml preview.eml")
        {
            name, data, locale, eml, from, to, context.JsonOutput,
        };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            var json = await CliFiles.ReadTextAsync(parse.GetValue(data), "--data", TemplateLimits.MaxDataBytes, cancellationToken).ConfigureAwait(false);
            MailAddressRules.CheckAddress("--from", parse.GetValue(from)!);
            MailAddressRules.CheckAddress("--to", parse.GetValue(to)!);
            TemplateSource template;
            var database = await OutboxDatabases.OpenAsync(options.Database, ConnectionUse.Cli, cancellationToken).ConfigureAwait(false);
            await using (database.ConfigureAwait(false))
            {
                var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    template = await new TemplateStore(database.Dialect).RequireAsync(connection, null, parse.GetValue(name)!, parse.GetValue(locale), cancellationToken).ConfigureAwait(false);
                }
            }

            RenderedTemplate rendered;
            try
            {
                rendered = await TemplateEngine.Shared.RenderAsync(template, json, cancellationToken).ConfigureAwait(false);
            }
            catch (TemplateException ex)
            {
                await context.Error.WriteLineAsync($"outbox: {ex.Message}").ConfigureAwait(false);
                if (context.WantsJson(parse))
                {
                    context.WriteJsonError(ExitCodes.Failed, [ex.Message]);
                }

                return ExitCodes.Failed;
            }

            if (parse.GetValue(eml) is { } file)
            {
                await WriteEmlAsync(template, json, parse.GetValue(from)!, parse.GetValue(to)!, file, cancellationToken).ConfigureAwait(false);
            }

            if (parse.GetValue(context.JsonOutput))
            {
                context.WriteJson(new { template = template.Name, locale = template.Locale, rendered.Subject, rendered.TextBody, rendered.HtmlBody });
                return ExitCodes.Ok;
            }

            await context.Out.WriteLineAsync($"subject: {rendered.Subject}").ConfigureAwait(false);
            foreach (var (part, body) in new[] { ("text body", rendered.TextBody), ("html body", rendered.HtmlBody) })
            {
                if (body is not null)
                {
                    await context.Out.WriteLineAsync($"--- {part}\n{body.TrimEnd()}").ConfigureAwait(false);
                }
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    // Built by the worker's own MimeMessageFactory, from what the mail row would hold.
    private static async Task WriteEmlAsync(TemplateSource template, string? json, string from, string to, FileInfo file, CancellationToken cancellationToken)
    {
        var mail = new ClaimedMessage
        {
            Sender = from,
            Subject = template.Subject,
            TextBody = template.TextBody,
            HtmlBody = template.HtmlBody,
            Template = template.Name,
            TemplateLocale = template.Locale,
            TemplateData = json,
            MimeMessageId = $"<preview-{Guid.NewGuid():N}@outbox.invalid>",
            Recipients = [new ClaimedRecipient(0, "to", to)],
        };
        var outgoing = await new MimeMessageFactory(NoContent.Instance, TimeProvider.System).BuildAsync(mail, cancellationToken).ConfigureAwait(false);
        await using (outgoing.ConfigureAwait(false))
        {
            await outgoing.Message.WriteToAsync(file.FullName, cancellationToken).ConfigureAwait(false);
        }
    }

    private static Argument<string> NameArgument() => new("NAME") { Description = "The template's name (letters, digits, _ . -), e.g. order_confirmation" };

    private static Option<string?> LocaleOption(string description) => new("--locale") { Description = description };

    /// <summary>A preview has no attachments and no raw text.</summary>
    private sealed class NoContent : IMessageContentSource
    {
        public static readonly NoContent Instance = new();

        public Task<Stream> OpenAttachmentAsync(ClaimedAttachment attachment, CancellationToken cancellationToken) => throw new InvalidOperationException("a preview has no attachments");

        public Task<Stream> OpenRawContentAsync(long messageId, CancellationToken cancellationToken) => throw new InvalidOperationException("a preview has no raw text");
    }
}
