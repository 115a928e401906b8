using System.CommandLine;
using MimeKit;
using Outbox.Core.Messages;
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
        var sendAfter = new Option<DateTimeOffset?>("--send-after") { Description = "Do not send before this time (ISO 8601)" };
        var key = new Option<string?>("--idempotency-key") { Description = "A key for this mail: a second send with the same key queues nothing and prints the first mail's id" };
        var profile = new Option<string?>("--profile") { Description = "The Outbox:Profiles entry to send through (default: by the sender's domain, else \"default\")" };
        var command = new Command("send", "Enqueue a mail and print its id. Example: outbox send --from app@example.com --to dba@example.com --subject Hello --text \"It works\"")
        {
            from, to, cc, bcc, replyTo, subject, text, textFile, htmlFile, attach, priority, sendAfter, key, profile, context.JsonOutput,
        };

        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            if (parse.GetValue(text) is not null && parse.GetValue(textFile) is not null)
            {
                throw new MailValidationException("--text", "cannot be combined with --text-file", "Give the body one way");
            }

            var files = parse.GetValue(attach) ?? [];
            var streams = new List<Stream>();
            try
            {
                var attachments = new List<MailAttachment>();
                foreach (var file in files)
                {
                    var stream = Open(file, "--attach");
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
                    TextBody = parse.GetValue(text) ?? await ReadTextAsync(parse.GetValue(textFile), "--text-file", cancellationToken).ConfigureAwait(false),
                    HtmlBody = await ReadTextAsync(parse.GetValue(htmlFile), "--html-file", cancellationToken).ConfigureAwait(false),
                    Priority = parse.GetValue(priority),
                    SendAfter = parse.GetValue(sendAfter),
                    IdempotencyKey = parse.GetValue(key),
                    Profile = parse.GetValue(profile),
                    Attachments = attachments,
                };

                // The configuration at hand names the profiles a worker has: a typo is refused
                // here instead of waiting in the queue for a profile that never comes.
                if (request.Profile is { } named && options.Profiles.Count > 0 && !options.Profiles.ContainsKey(named))
                {
                    throw new MailValidationException("--profile", $"\"{named}\" is not one of the profiles of Outbox:Profiles ({string.Join(", ", options.Profiles.Keys.Order(StringComparer.Ordinal))})",
                        "Name one of them, or add the profile to the configuration");
                }

                var database = await OutboxDatabases.OpenAsync(options.Database, cancellationToken).ConfigureAwait(false);
                await using (database.ConfigureAwait(false))
                {
                    var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                    await using (connection.ConfigureAwait(false))
                    {
                        var id = await new OutboxClient(database.Dialect).EnqueueAsync(connection, null, request, cancellationToken).ConfigureAwait(false);
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

    // UTL_MAIL habits carry over: "--to 'a@x.com, b@y.com'" means two recipients.
    private static List<string> Split(string[]? values) =>
        (values ?? []).SelectMany(value => MailAddressRules.SplitAddresses("--to/--cc/--bcc", value)).ToList();

    // Refuses invalid bytes instead of replacing them with U+FFFD: the body would change silently.
    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static FileStream Open(FileInfo file, string option)
    {
        if (Directory.Exists(file.FullName))
        {
            throw new MailValidationException(option, $"{file.FullName} is a folder, not a file", "Name a file; attach a folder's files one by one, or an archive of them");
        }

        if (!file.Exists)
        {
            throw new MailValidationException(option, $"the file {file.FullName} does not exist", "Check the path");
        }

        if (!FileKind.IsReadableToEnd(file.FullName))
        {
            throw new MailValidationException(option, $"{file.FullName} is a pipe or socket, not a file", "Save what it gives into a file and name that file");
        }

        return new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true);
    }

    private static async Task<string?> ReadTextAsync(FileInfo? file, string option, CancellationToken cancellationToken)
    {
        if (file is null)
        {
            return null;
        }

        await using var stream = Open(file, option);
        using var reader = new StreamReader(stream, StrictUtf8, detectEncodingFromByteOrderMarks: true);
        try
        {
            return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw new MailValidationException(option, $"{file.FullName} is not valid UTF-8", "Convert it first, e.g. iconv -f latin1 -t utf-8");
        }
    }
}
