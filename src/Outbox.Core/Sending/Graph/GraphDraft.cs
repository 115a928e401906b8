using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using MimeKit;
using Outbox.Core.Messages;

namespace Outbox.Core.Sending.Graph;

/// <summary>
/// A mail past sendMail's 4 MB, sent as Microsoft documents for large attachments: a draft made
/// from the message's MIME without its attachments (POST /users/{mailbox}/messages, base64
/// text/plain), each attachment added to it (a fileAttachment when its request fits in 4 MB, an
/// upload session with byte ranges when not), then POST .../messages/{id}/send. Nothing is sent
/// before /send: any failure until then deletes the draft (best effort, bounded) and leaves the
/// mail unsent; a connection lost on /send is a lost reply.
/// </summary>
internal sealed class GraphDraft(GraphTransport transport, GraphCalls calls, FormatOptions format)
{
    /// <summary>The largest attachment an upload session takes.</summary>
    public const long MaxAttachmentBytes = 150L * 1024 * 1024;

    /// <summary>
    /// Bytes per PUT: a multiple of 320 KiB (upload sessions' unit) below the 4 MB Microsoft
    /// asks a range to stay under. One buffer of this size is all of an attachment held at once.
    /// </summary>
    public const int ChunkBytes = 12 * 320 * 1024;

    // Deleting a draft is tidying: it never holds the mail's outcome up for longer than this.
    private static readonly TimeSpan MaxDeleteTime = TimeSpan.FromSeconds(5);

    // Graph's ids are about 150 characters; an upload URL a few hundred.
    private const int MaxIdLength = 1024;
    private const int MaxUploadUrlLength = 8192;

    private byte[]? _chunk;

    public async Task<DeliveryResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        var attachments = await DraftAttachment.TakeOutAsync(message.Message, cancellationToken).ConfigureAwait(false);
        try
        {
            if (attachments.FirstOrDefault(a => a.Size > MaxAttachmentBytes) is { } huge)
            {
                throw new MessageTooLargeException(
                    $"attachment \"{Text.PrintableText.Escape(huge.Name)}\" is {huge.Size:N0} bytes; Microsoft Graph takes attachments of at most {MaxAttachmentBytes:N0} bytes (150 MB); nothing was sent. Send it as a link, or this mail through an SMTP account");
            }

            var size = await MessageMeasure.MeasureAsync(format, message.Message, cancellationToken).ConfigureAwait(false);
            if (MimeBase64Content.Base64Length(size) > GraphTransport.MaxRequestBytes)
            {
                throw new MessageTooLargeException(
                    $"without its attachments the message is still {size:N0} bytes, {MimeBase64Content.Base64Length(size):N0} in base64, more than the {GraphTransport.MaxRequestBytes:N0} bytes (4 MB) Microsoft Graph takes for its draft; nothing was sent. Shorten its text or HTML body, or send it through an SMTP account");
            }

            using var draftContent = new MimeBase64Content(message.Message, format, size);
            await message.StartingAsync(cancellationToken).ConfigureAwait(false);
            var draft = await CreateAsync(draftContent, cancellationToken).ConfigureAwait(false);
            try
            {
                foreach (var attachment in attachments)
                {
                    await AttachAsync(draft, attachment, cancellationToken).ConfigureAwait(false);
                }

                return await SendDraftAsync(draft, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not ReplyLostException)
            {
                // Graph did not send it: the draft must not linger in Drafts, nor be sent by someone later.
                await DeleteAsync(draft).ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            DraftAttachment.PutBack(attachments);
        }
    }

    private async Task<Uri> CreateAsync(MimeBase64Content content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"{transport.MailboxUrl}/messages")) { Content = content };
        var body = await CallAsync(request, bearer: true, GraphCalls.MailReadWrite, cancellationToken).ConfigureAwait(false);
        var id = Field(body, "id") is { Length: > 0 and <= MaxIdLength } found
            ? found
            : throw new GraphRefusedException(502, "Microsoft Graph created the draft but its answer holds no usable id; nothing was sent");
        return new Uri($"{transport.MailboxUrl}/messages/{Uri.EscapeDataString(id)}");
    }

    private async Task AttachAsync(Uri draft, DraftAttachment attachment, CancellationToken cancellationToken)
    {
        using var small = new FileAttachmentContent(attachment);
        if (small.Length <= GraphTransport.MaxRequestBytes)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"{draft}/attachments")) { Content = small };
            await CallAsync(request, bearer: true, GraphCalls.MailReadWrite, cancellationToken).ConfigureAwait(false);
            return;
        }

        var upload = await CreateUploadSessionAsync(draft, attachment, cancellationToken).ConfigureAwait(false);
        _chunk ??= new byte[ChunkBytes];
        var chunks = new ChunkingStream(_chunk, attachment.Size, (chunk, offset, ct) => PutAsync(upload, chunk, offset, attachment.Size, ct));
        await using (chunks.ConfigureAwait(false))
        {
            await attachment.Part.Content!.DecodeToAsync(chunks, cancellationToken).ConfigureAwait(false);
            await chunks.FinishAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<UploadSession> CreateUploadSessionAsync(Uri draft, DraftAttachment attachment, CancellationToken cancellationToken)
    {
        var item = new Dictionary<string, object?>
        {
            ["attachmentType"] = "file",
            ["name"] = attachment.Name,
            ["size"] = attachment.Size,
            ["contentType"] = attachment.ContentType,
            ["isInline"] = attachment.IsInline,
        };
        if (attachment.Part.ContentId is { } contentId)
        {
            item["contentId"] = contentId;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"{draft}/attachments/createUploadSession"))
        {
            Content = new StringContent(JsonSerializer.Serialize(new Dictionary<string, object> { ["AttachmentItem"] = item }), System.Text.Encoding.UTF8, "application/json"),
        };
        var body = await CallAsync(request, bearer: true, GraphCalls.MailReadWrite, cancellationToken).ConfigureAwait(false);
        if (Field(body, "uploadUrl") is not { Length: <= MaxUploadUrlLength } url
            || !Uri.TryCreate(url, UriKind.Absolute, out var uploadUrl)
            || uploadUrl.Scheme != Uri.UriSchemeHttps)
        {
            throw new GraphRefusedException(502, "Microsoft Graph created an upload session but its answer holds no https upload URL; nothing was sent");
        }

        return new UploadSession(uploadUrl);
    }

    // The upload URL carries its own token: no Authorization header (Graph refuses one there),
    // and the URL's query is scrubbed from anything its host answers.
    private async Task PutAsync(UploadSession upload, ReadOnlyMemory<byte> chunk, long offset, long total, CancellationToken cancellationToken)
    {
        using var content = new ReadOnlyMemoryContent(chunk);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.ContentRange = new ContentRangeHeaderValue(offset, offset + chunk.Length - 1, total);
        using var request = new HttpRequestMessage(HttpMethod.Put, upload.Url) { Content = content };
        await CallAsync(request, bearer: false, GraphCalls.UploadUrl, cancellationToken, upload.Secrets).ConfigureAwait(false);
    }

    private async Task<DeliveryResult> SendDraftAsync(Uri draft, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"{draft}/send")) { Content = new ByteArrayContent([]) };
        using var response = await calls.SendAsync(request, bearer: true, MayHaveReachedGraph, cancellationToken).ConfigureAwait(false);
        var reply = await calls.ReadReplyAsync(response, cancellationToken).ConfigureAwait(false);
        return reply.Status is >= 200 and < 300 ? GraphSession.Accepted(reply) : throw calls.Refusal(reply, GraphCalls.MailSend);
    }

    // /send carries no body: a failure after the connection was made may come after Graph took it.
    private static bool MayHaveReachedGraph(Exception ex) =>
        ex is not HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError };

    // One step before /send: it succeeds with a 2xx whose body (bounded) is returned, or throws what its failure means.
    private async Task<byte[]> CallAsync(HttpRequestMessage request, bool bearer, string permission, CancellationToken cancellationToken, Secrets.SecretScrubber? secrets = null)
    {
        using var response = await calls.SendAsync(request, bearer, _ => false, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return await GraphReply.ReadBoundedAsync(response.Content, cancellationToken).ConfigureAwait(false);
        }

        var reply = await calls.ReadReplyAsync(response, cancellationToken, secrets).ConfigureAwait(false);
        throw calls.Refusal(reply, permission);
    }

    private async Task DeleteAsync(Uri draft)
    {
        using var limit = new CancellationTokenSource(transport.Options.Timeout < MaxDeleteTime ? transport.Options.Timeout : MaxDeleteTime);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Delete, draft);
            using var response = await calls.SendAsync(request, bearer: true, _ => false, limit.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is GraphUnavailableException or TransportConfigurationException or OperationCanceledException or HttpRequestException)
        {
            // Best effort: a draft left in Drafts is never sent by Outbox (a new attempt makes a new one).
        }
    }

    // A top-level string of Graph's JSON answer. The answer to a new draft is the whole message,
    // its body included, so it may be cut at the read bound: the field is looked for in what
    // came, before the cut (Graph writes "id" near the start).
    private static string? Field(byte[] body, string name)
    {
        var reader = new Utf8JsonReader(body, isFinalBlock: false, state: default);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals(name))
                {
                    return reader.Read() && reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: no field.
        }

        return null;
    }

    /// <summary>An upload session's URL, and a scrubber for the token its query holds.</summary>
    private sealed record UploadSession(Uri Url)
    {
        public Secrets.SecretScrubber Secrets { get; } = new(Url.Query.TrimStart('?').Split('&').Select(pair => pair[(pair.IndexOf('=', StringComparison.Ordinal) + 1)..]));
    }
}
