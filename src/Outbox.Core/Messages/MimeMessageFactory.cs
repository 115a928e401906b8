using MimeKit;
using MimeKit.Text;
using Outbox.Core.Sending;
using Outbox.Core.Templates;

namespace Outbox.Core.Messages;

/// <summary>
/// Builds the MIME message for a claimed mail. Attachment parts read their content from
/// database streams when MailKit writes them; nothing is copied into memory here.
/// </summary>
public sealed class MimeMessageFactory
{
    private readonly IMessageContentSource _content;
    private readonly TimeProvider _time;

    public MimeMessageFactory(IMessageContentSource content, TimeProvider time)
    {
        _content = content;
        _time = time;
    }

    public async Task<OutgoingMessage> BuildAsync(ClaimedMessage mail, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mail);
        var streams = new List<Stream>();
        try
        {
            var message = await MessageAsync(mail, streams, cancellationToken).ConfigureAwait(false);
            RejectControlCharacters(message);
            return new OutgoingMessage(message, MailboxAddress.Parse(mail.Sender), Envelope(mail), streams, mail.Profile);
        }
        catch
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>
    /// Writes the mail as a server would receive it after DATA (CR LF line ends, no Bcc header),
    /// whatever its status: `outbox show --eml`.
    /// </summary>
    public async Task WriteAsync(ClaimedMessage mail, Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mail);
        var streams = new List<Stream>();
        try
        {
            var message = await MessageAsync(mail, streams, cancellationToken).ConfigureAwait(false);
            var format = FormatOptions.Default.Clone();
            format.NewLineFormat = NewLineFormat.Dos;
            await message.WriteToAsync(format, output, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<MimeMessage> MessageAsync(ClaimedMessage mail, List<Stream> streams, CancellationToken cancellationToken) => mail.IsRaw
        ? await LoadRawAsync(mail, streams, cancellationToken).ConfigureAwait(false)
        : await ComposeAsync(mail, streams, cancellationToken).ConfigureAwait(false);

    // Only the recipients still owed the mail, each once: a recipient accepted or refused for
    // good on an earlier attempt is not asked again (the headers still name everybody).
    private static List<MailboxAddress> Envelope(ClaimedMessage mail)
    {
        var envelope = mail.Recipients.Where(r => r.IsOwed).Select(r => MailboxAddress.Parse(r.Address))
            .DistinctBy(m => m.Address, StringComparer.OrdinalIgnoreCase).ToList();
        return envelope.Count > 0
            ? envelope
            : throw new UnsendableMailException("every recipient was accepted or refused for good on an earlier attempt: nobody is left to send the mail to");
    }

    // A control character in a header (NUL, ESC, ...) is no part of any header syntax, and some
    // servers and clients cut the header there. Only the tab of folded lines and their CR LF are
    // allowed; values MimeKit encodes itself never hold others.
    private static void RejectControlCharacters(MimeMessage message)
    {
        foreach (var header in message.Headers)
        {
            var bad = header.RawValue.AsSpan().IndexOfAnyExcept(HeaderBytes);
            if (bad >= 0 || header.Field.AsSpan().IndexOfAnyInRange('\0', '\x1F') >= 0)
            {
                int found = bad >= 0 ? header.RawValue[bad] : header.Field.First(char.IsControl);
                throw new UnsendableMailException(
                    $"the header \"{Printable(header.Field)}\" holds the control character U+{found:X4}, which no header may hold: fix the text the mail was written with");
            }
        }
    }

    private static readonly System.Buffers.SearchValues<byte> HeaderBytes = System.Buffers.SearchValues.Create(
        [(byte)'\t', (byte)'\r', (byte)'\n', .. Enumerable.Range(0x20, 0x7F - 0x20).Select(b => (byte)b), .. Enumerable.Range(0x80, 0x80).Select(b => (byte)b)]);

    private static string Printable(string field) => new(field.Select(c => char.IsControl(c) ? '?' : c).ToArray());

    // The caller wrote the headers and body (UTL_SMTP style): send them as written, adding only
    // the Date and Message-ID a receiving server expects when the text has none.
    private async Task<MimeMessage> LoadRawAsync(ClaimedMessage mail, List<Stream> streams, CancellationToken cancellationToken)
    {
        var raw = await _content.OpenRawContentAsync(mail.Id, cancellationToken).ConfigureAwait(false);
        streams.Add(raw);
        var text = await TerminatedAsync(raw, streams, cancellationToken).ConfigureAwait(false);
        var message = await MimeMessage.LoadAsync(text, persistent: true, cancellationToken).ConfigureAwait(false);
        if (!message.Headers.Contains(HeaderId.Date))
        {
            message.Date = _time.GetUtcNow();
        }

        if (!message.Headers.Contains(HeaderId.MessageId))
        {
            message.MessageId = mail.MimeMessageId.Trim('<', '>');
        }

        return message;
    }

    // Text that ends inside its header block ("...\r\nSubject: x") would get the headers added
    // here glued to its last line: it is read with a line break after it.
    private static async Task<Stream> TerminatedAsync(Stream raw, List<Stream> streams, CancellationToken cancellationToken)
    {
        if (raw.Length == 0)
        {
            return raw;
        }

        raw.Seek(-1, SeekOrigin.End);
        var last = new byte[1];
        await raw.ReadExactlyAsync(last, cancellationToken).ConfigureAwait(false);
        raw.Position = 0;
        if (last[0] == (byte)'\n')
        {
            return raw;
        }

        var terminated = new MimeKit.IO.ChainedStream();
        terminated.Add(raw, leaveOpen: true);
        terminated.Add(new MemoryStream("\r\n"u8.ToArray(), writable: false));
        streams.Add(terminated);
        return terminated;
    }

    private async Task<MimeMessage> ComposeAsync(ClaimedMessage mail, List<Stream> streams, CancellationToken cancellationToken)
    {
        if (mail.Template is not null)
        {
            mail = await RenderedAsync(mail, cancellationToken).ConfigureAwait(false);
        }

        var message = new MimeMessage
        {
            Subject = mail.Subject ?? string.Empty,
            MessageId = mail.MimeMessageId.Trim('<', '>'),
            Date = _time.GetUtcNow(),
            XPriority = (XMessagePriority)mail.Priority,
        };
        message.From.Add(MailboxAddress.Parse(mail.Sender));
        if (mail.ReplyTo is not null)
        {
            message.ReplyTo.Add(MailboxAddress.Parse(mail.ReplyTo));
        }

        // Bcc recipients are in the envelope only, never in a header.
        message.To.AddRange(HeaderRecipients(mail, "to"));
        message.Cc.AddRange(HeaderRecipients(mail, "cc"));

        // The caller's extra headers, checked at enqueue: none of them is one set above.
        foreach (var header in Validation.MailHeaderRules.Parse(mail.Headers))
        {
            message.Headers.Add(header.Name, header.Value);
        }

        var body = TextBodies(mail);
        var inline = mail.Attachments.Where(a => a.ContentId is not null).ToList();
        if (inline.Count > 0)
        {
            var related = new MultipartRelated { body };
            foreach (var attachment in inline)
            {
                related.Add(await AttachmentPartAsync(attachment, streams, cancellationToken).ConfigureAwait(false));
            }

            body = related;
        }

        var attached = mail.Attachments.Where(a => a.ContentId is null).ToList();
        if (attached.Count > 0)
        {
            var mixed = new Multipart("mixed") { body };
            foreach (var attachment in attached)
            {
                mixed.Add(await AttachmentPartAsync(attachment, streams, cancellationToken).ConfigureAwait(false));
            }

            body = mixed;
        }

        message.Body = body;
        return message;
    }

    // A mail enqueued from a template holds the template's Liquid text and its data: rendered
    // whole before any part is built, so a mail that cannot render fails alone, never half-rendered.
    private static async Task<ClaimedMessage> RenderedAsync(ClaimedMessage mail, CancellationToken cancellationToken)
    {
        var source = new TemplateSource(mail.Template!, mail.TemplateLocale, mail.Subject ?? string.Empty, mail.TextBody, mail.HtmlBody);
        RenderedTemplate rendered;
        try
        {
            rendered = await TemplateEngine.Shared.RenderAsync(source, mail.TemplateData, cancellationToken).ConfigureAwait(false);
        }
        catch (TemplateException ex)
        {
            throw new UnsendableMailException(ex.Message, ex);
        }

        return new ClaimedMessage
        {
            Id = mail.Id,
            Kind = mail.Kind,
            Sender = mail.Sender,
            ReplyTo = mail.ReplyTo,
            Subject = rendered.Subject,
            TextBody = rendered.TextBody,
            HtmlBody = rendered.HtmlBody,
            Priority = mail.Priority,
            MimeMessageId = mail.MimeMessageId,
            AttemptCount = mail.AttemptCount,
            TakenOverFrom = mail.TakenOverFrom,
            Profile = mail.Profile,
            Headers = mail.Headers,
            Recipients = mail.Recipients,
            Attachments = mail.Attachments,
        };
    }

    private static IEnumerable<MailboxAddress> HeaderRecipients(ClaimedMessage mail, string kind) =>
        mail.Recipients.Where(r => r.Kind == kind).Select(r => MailboxAddress.Parse(r.Address));

    private static MimeEntity TextBodies(ClaimedMessage mail)
    {
        var text = mail.TextBody is null ? null : new TextPart(TextFormat.Plain) { Text = mail.TextBody };
        var html = mail.HtmlBody is null ? null : new TextPart(TextFormat.Html) { Text = mail.HtmlBody };
        if (text is not null && html is not null)
        {
            return new MultipartAlternative { text, html };
        }

        return (MimeEntity?)text ?? html ?? new TextPart(TextFormat.Plain) { Text = string.Empty };
    }

    private async Task<MimePart> AttachmentPartAsync(ClaimedAttachment attachment, List<Stream> streams, CancellationToken cancellationToken)
    {
        var content = await _content.OpenAttachmentAsync(attachment, cancellationToken).ConfigureAwait(false);
        streams.Add(content);
        var part = new MimePart(ContentType.Parse(attachment.MimeType))
        {
            Content = new MimeContent(content),
            ContentDisposition = new ContentDisposition(attachment.IsInline ? ContentDisposition.Inline : ContentDisposition.Attachment),
            ContentTransferEncoding = ContentEncoding.Base64,
        };
        if (attachment.FileName is not null)
        {
            part.FileName = attachment.FileName;
        }

        if (attachment.ContentId is not null)
        {
            part.ContentId = attachment.ContentId;
        }

        return part;
    }
}
