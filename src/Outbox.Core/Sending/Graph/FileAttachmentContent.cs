using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Outbox.Core.Sending.Graph;

/// <summary>
/// The body of POST .../messages/{id}/attachments for a small attachment: Graph's
/// fileAttachment in JSON, its contentBytes base64 written straight from the part's stream,
/// with the length known in advance.
/// </summary>
internal sealed class FileAttachmentContent : HttpContent
{
    private readonly DraftAttachment _attachment;
    private readonly byte[] _head;
    private readonly byte[] _tail = "\"}"u8.ToArray();

    public FileAttachmentContent(DraftAttachment attachment)
    {
        _attachment = attachment;
        var fields = new Dictionary<string, object?>
        {
            ["@odata.type"] = "#microsoft.graph.fileAttachment",
            ["name"] = attachment.Name,
            ["contentType"] = attachment.ContentType,
            ["isInline"] = attachment.IsInline,
        };
        if (attachment.Part.ContentId is { } contentId)
        {
            fields["contentId"] = contentId;
        }

        // The fields as JSON without the closing brace, then contentBytes' opening.
        var json = JsonSerializer.Serialize(fields);
        _head = Encoding.UTF8.GetBytes($"{json[..^1]},\"contentBytes\":\"");
        Headers.ContentType = new MediaTypeHeaderValue("application/json");
    }

    /// <summary>The whole request's length: it must fit in Graph's request limit to go this way.</summary>
    public long Length => _head.Length + MimeBase64Content.Base64Length(_attachment.Size) + _tail.Length;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(_head, cancellationToken).ConfigureAwait(false);
        var base64 = new CryptoStream(stream, new ToBase64Transform(), CryptoStreamMode.Write, leaveOpen: true);
        await using (base64.ConfigureAwait(false))
        {
            if (_attachment.Part.Content is { } content)
            {
                await content.DecodeToAsync(base64, cancellationToken).ConfigureAwait(false);
            }

            await base64.FlushFinalBlockAsync(cancellationToken).ConfigureAwait(false);
        }

        await stream.WriteAsync(_tail, cancellationToken).ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = Length;
        return true;
    }
}
