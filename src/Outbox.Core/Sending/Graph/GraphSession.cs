using MimeKit;
using Outbox.Core.Messages;

namespace Outbox.Core.Sending.Graph;

/// <summary>
/// Sends each mail with one sendMail request, or, past Graph's request limit, through a draft
/// and upload sessions (<see cref="GraphDraft"/>); every request stands alone, so the session
/// never wears out.
/// </summary>
internal sealed class GraphSession(GraphTransport transport) : IMailSession
{
    private readonly GraphCalls _calls = new(transport);

    public bool IsConnected => true;

    public bool CanSendMore => true;

    public string Account => transport.Account;

    public async Task<DeliveryResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var bcc = BlindRecipients(message);
        // A token that cannot be had shows before any work on the mail.
        await transport.Tokens.GetAsync(cancellationToken).ConfigureAwait(false);

        // Graph reads the recipients from the MIME headers, so the Bcc recipients (in the envelope
        // only, for SMTP) go in a Bcc header for this request; Exchange keeps it from the receivers.
        message.Message.Bcc.AddRange(bcc);
        try
        {
            var format = Format();
            var size = await MessageMeasure.MeasureAsync(format, message.Message, cancellationToken).ConfigureAwait(false);
            if (MimeBase64Content.Base64Length(size) > GraphTransport.MaxRequestBytes)
            {
                return await new GraphDraft(transport, _calls, format).SendAsync(message, cancellationToken).ConfigureAwait(false);
            }

            using var content = new MimeBase64Content(message.Message, format, size);
            await message.StartingAsync(cancellationToken).ConfigureAwait(false);
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"{transport.MailboxUrl}/sendMail")) { Content = content };
            using var response = await _calls.SendAsync(request, bearer: true, _ => content.Sent, cancellationToken).ConfigureAwait(false);
            var reply = await _calls.ReadReplyAsync(response, cancellationToken).ConfigureAwait(false);
            return reply.Status is >= 200 and < 300 ? Accepted(reply) : throw _calls.Refusal(reply, GraphCalls.MailSend);
        }
        finally
        {
            foreach (var added in bcc)
            {
                message.Message.Bcc.Remove(added);
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Graph took the mail: its status and request-id are the server's reply.</summary>
    internal static DeliveryResult Accepted(GraphReply reply) =>
        new(reply.Status, $"{reply.Status} Accepted{(reply.RequestId is null ? string.Empty : $" (request-id {reply.RequestId})")}", []);

    // The message as SMTP would carry it (CR LF), with the Bcc header kept for Graph.
    private static FormatOptions Format()
    {
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        format.HiddenHeaders.Add(HeaderId.ContentLength);
        format.HiddenHeaders.Add(HeaderId.ResentBcc);
        return format;
    }

    // A MIME sendMail goes to every address in To, Cc and Bcc: when some of them already have
    // the mail (an SMTP attempt delivered to them), Graph would send it to them again.
    private static List<MailboxAddress> BlindRecipients(OutgoingMessage message)
    {
        var owed = message.Recipients.Select(r => r.Address).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var headers = message.Message.To.Mailboxes.Concat(message.Message.Cc.Mailboxes).ToList();
        if (headers.FirstOrDefault(h => !owed.Contains(h.Address)) is { } delivered)
        {
            throw new UnsendableMailException(
                $"{delivered.Address} already has this mail and Microsoft Graph sends a MIME message to every address in its To and Cc headers, so it cannot go to the others alone. Route this mail's profile through an SMTP account, or send it anew to the recipients left");
        }

        // A raw mail may carry its own Bcc header: those addresses are there already.
        var inHeaders = headers.Concat(message.Message.Bcc.Mailboxes).Select(h => h.Address).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return message.Recipients.Where(r => !inHeaders.Contains(r.Address)).ToList();
    }
}
