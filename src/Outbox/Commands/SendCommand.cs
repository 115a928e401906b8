using System.CommandLine;
using MimeKit;
using Outbox.Core.Messages;
using Outbox.Core.Templates;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Worker;

namespace Outbox.Commands;

/// <summary>`outbox send`: enqueues one mail from a shell and prints its id.</summary>
public static class SendCommand
{
    public static Command Create(CliContext context)
    {
        var from = new Option<string>("--from") { Description = "Sender address", Required = true };
        var to = new Option<string[]>("--to") { Description = "Recipient (repeat, or separate with commas)", AllowMultipleArgumentsPerToken = true };
        var cc = new Option<string[]>("--cc") { Description = "Cc recipient (repeatable)" };
        var bcc = new Option<string[]>("--bcc") { Description = "Bcc recipient (repeatable)" };
        var replyTo = new Option<string?>("--reply-to") { Description = "Reply-To address" };
        var subject = new Option<string?>("--subject") { Description = "Subject line" };
        var text = new Option<string?>("--text") { Description = "Plain-text body" };
        var textFile = new Option<FileInfo?>("--text-file") { Description = "Plain-text body from a UTF-8 file" };
        var htmlFile = new Option<FileInfo?>("--html-file") { Description = "HTML body from a UTF-8 file" };
        var attach = new Option<FileInfo[]>("--attach") { Description = "Attach a file (repeatable); streamed, any size" };
        var priority = new Option<int>("--priority") { Description = "X-Priority, 1 (highest) to 5", DefaultValueFactory = _ => 3 }.Between(1, 5);
        var sendAfter = CliArguments.PointInTime("--send-after", TimeProvider.System, ahead: true);
        sendAfter.Description = "Do not send before this time: a date (2026-12-01, midnight UTC), a time (2026-12-01T10:00:00Z) or a delay from now (90m, 2h, 7d)";
        var expiresAt = CliArguments.PointInTime("--expires-at", TimeProvider.System, ahead: true);
        expiresAt.Description = "Do not send after this time (the mail ends 'expired'): a date, a time (2026-12-01T10:00:00Z) or a delay from now (2h, 7d)";
        var expiresAfter = CliArguments.Duration("--expires-after");
        expiresAfter.Description = "Do not send later than this long after the enqueue, on the database's clock (90m, 2h, 7d; at most 366d)";
        var header = new Option<string[]>("--header") { Description = "An extra header \"Name: value\" (repeatable), e.g. --header \"List-Unsubscribe: <https://example.com/u/42>\"; not one the worker writes (From, To, Date, Content-*, ...)" };
        var key = new Option<string?>("--idempotency-key") { Description = "A key for this mail: a second send with the same key queues nothing and prints the first mail's id" };
        var profile = new Option<string?>("--profile") { Description = "The Outbox:Profiles entry to send through (default: by the sender's domain, else \"default\")" };
        var template = new Option<string?>("--template") { Description = "Make the mail from this outbox_template (it gives subject and bodies; see outbox template list)" };
        var data = new Option<FileInfo?>("--data") { Description = "With --template: the template's data, a UTF-8 file holding a JSON object" };
        var locale = new Option<string?>("--locale") { Description = "With --template: use the template's row for this locale (else its language's, else the default row)" };
        var command = new Command("send", "Enqueue a mail and print its id. Examples: outbox send --from app@example.com --to dba@example.com --subject Hello --text \"It works\"; outbox send --from shop@example.com --to customer@example.com --template order_confirmation --data order.json")
        {
            from, to, cc, bcc, replyTo, subject, text, textFile, htmlFile, attach, priority, sendAfter, expiresAt, expiresAfter, header, key, profile, template, data, locale, context.JsonOutput,
        };

        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            if (parse.GetValue(text) is not null && parse.GetValue(textFile) is not null)
            {
                throw new MailValidationException("--text", "cannot be combined with --text-file", "Give the body one way");
            }

            CheckTemplateOptions(parse, template, data, locale, [subject, text, textFile, htmlFile]);

            var files = parse.GetValue(attach) ?? [];
            var streams = new List<Stream>();
            try
            {
                var attachments = new List<MailAttachment>();
                foreach (var file in files)
                {
                    var stream = CliFiles.Open(file, "--attach");
                    streams.Add(stream);
                    attachments.Add(new MailAttachment { FileName = file.Name, Content = stream, MimeType = MimeTypes.GetMimeType(file.Name) });
                }

                var request = new MailRequest
                {
                    Sender = parse.GetValue(from)!,
                    To = Split(parse.GetValue(to)),
                    Cc = Split(parse.GetValue(cc)),
                    Bcc = Split(parse.GetValue(bcc)),
                    ReplyTo = parse.GetValue(replyTo),
                    Subject = parse.GetValue(subject),
                    TextBody = parse.GetValue(text) ?? await CliFiles.ReadTextAsync(parse.GetValue(textFile), "--text-file", long.MaxValue, cancellationToken).ConfigureAwait(false),
                    HtmlBody = await CliFiles.ReadTextAsync(parse.GetValue(htmlFile), "--html-file", long.MaxValue, cancellationToken).ConfigureAwait(false),
                    Priority = parse.GetValue(priority),
                    SendAfter = parse.GetValue(sendAfter),
                    ExpiresAt = parse.GetValue(expiresAt),
                    ExpiresAfter = parse.GetResult(expiresAfter) is { Implicit: false } ? parse.GetValue(expiresAfter) : null,
                    Headers = [.. (parse.GetValue(header) ?? []).Select(line => MailHeaderRules.ParseLine("--header", line))],
                    IdempotencyKey = parse.GetValue(key),
                    Profile = parse.GetValue(profile),
                    Attachments = attachments,
                    Template = parse.GetValue(template),
                    TemplateData = await CliFiles.ReadTextAsync(parse.GetValue(data), "--data", TemplateLimits.MaxDataBytes, cancellationToken).ConfigureAwait(false),
                    Locale = parse.GetValue(locale),
                };

                // The configuration at hand names the profiles a worker has: a typo is refused
                // here instead of waiting in the queue for a profile that never comes.
                // One account without Outbox:Profiles is the profile "default", as the worker has it.
                var profiles = new SortedSet<string>(options.Profiles.Keys, StringComparer.OrdinalIgnoreCase);
                if (options.Accounts.Count <= 1)
                {
                    profiles.Add(Core.Sending.Accounts.RoutedTransport.DefaultProfile);
                }

                if (request.Profile is { } named && !profiles.Contains(named))
                {
                    throw new MailValidationException("--profile", $"\"{named}\" is not one of the profiles of Outbox:Profiles ({(options.Profiles.Count == 0 ? "it names none; the one account is profile \"default\"" : string.Join(", ", profiles))})",
                        "Name one of them, or add the profile to the configuration");
                }

                var database = await OutboxDatabases.OpenAsync(options.Database, ConnectionUse.Cli, cancellationToken).ConfigureAwait(false);
                await using (database.ConfigureAwait(false))
                {
                    var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                    await using (connection.ConfigureAwait(false))
                    {
                        long id;
                        try
                        {
                            id = await new OutboxClient(database.Dialect).EnqueueAsync(connection, null, request, cancellationToken).ConfigureAwait(false);
                        }
                        catch (MailValidationException invalid) when (OptionOf(invalid.Field, request.Template is not null) is { } option)
                        {
                            // The rules name outbox_mail's parameters; a shell user typed options.
                            throw new MailValidationException(option + invalid.Message[invalid.Field.Length..]);
                        }

                        if (parse.GetValue(context.JsonOutput))
                        {
                            context.WriteJson(new { id });
                        }
                        else
                        {
                            await context.Out.WriteLineAsync(id.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
                        }

                        return 0;
                    }
                }
            }
            finally
            {
                foreach (var stream in streams)
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                }
            }
        }));
        return command;
    }

    private static string? OptionOf(string field, bool fromTemplate) => field switch
    {
        "sender" => "--from",
        "replyto" => "--reply-to",
        "to" or "recipients" => "--to",
        "cc" => "--cc",
        "bcc" => "--bcc",
        "filename" or "mime_type" or "content_id" => "--attach",
        "priority" => "--priority",
        "send_after" => "--send-after",
        "expires_at" => "--expires-at",
        "expires_after" => "--expires-after",
        "headers" or "name" or "value" => "--header",
        "profile" => "--profile",
        "subject" when !fromTemplate => "--subject",
        "text_body" when !fromTemplate => "--text",
        "html_body" when !fromTemplate => "--html-file",
        _ => null,
    };

    // UTL_MAIL habits carry over: "--to 'a@x.com, b@y.com'" means two recipients.
    private static List<string> Split(string[]? values) =>
        (values ?? []).SelectMany(value => MailAddressRules.SplitAddresses("--to/--cc/--bcc", value)).ToList();

    // A template gives the subject and the bodies; its data and locale mean nothing without one.
    private static void CheckTemplateOptions(ParseResult parse, Option<string?> template, Option<FileInfo?> data, Option<string?> locale, Option[] bodies)
    {
        if (parse.GetValue(template) is not null)
        {
            foreach (var option in bodies.Where(o => parse.GetResult(o) is { Implicit: false }))
            {
                throw new MailValidationException(option.Name, "cannot be combined with --template", "The template gives the subject and bodies; leave it out");
            }
        }
        else if (new Option[] { data, locale }.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } alone)
        {
            throw new MailValidationException(alone.Name, "needs --template", "Name the template, e.g. --template order_confirmation");
        }
    }
}
