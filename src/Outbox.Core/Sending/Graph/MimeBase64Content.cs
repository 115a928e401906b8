using System.Net;
using System.Security.Cryptography;
using MimeKit;

namespace Outbox.Core.Sending.Graph;

/// <summary>
/// The body of a MIME sendMail: the message as the worker built it, base64 (one line, as
/// Graph's example sends it), written straight from the message's streams, with its length
/// known in advance. It says whether all of it was handed to the connection: a failure after
/// that may have left Graph with the mail.
/// </summary>
internal sealed class MimeBase64Content : HttpContent
{
    private readonly MimeMessage _message;
    private readonly FormatOptions _format;
    private readonly long _length;

    public MimeBase64Content(MimeMessage message, FormatOptions format, long mimeLength)
    {
        _message = message;
        _format = format;
        _length = Base64Length(mimeLength);
        // Graph's contract for a MIME body: text/plain holding the base64.
        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
    }

    /// <summary>True once the whole body was written to the connection.</summary>
    public bool Sent { get; private set; }

    public static long Base64Length(long length) => (length + 2) / 3 * 4;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var base64 = new CryptoStream(stream, new ToBase64Transform(), CryptoStreamMode.Write, leaveOpen: true);
        await using (base64.ConfigureAwait(false))
        {
            await _message.WriteToAsync(_format, base64, cancellationToken).ConfigureAwait(false);
            await base64.FlushFinalBlockAsync(cancellationToken).ConfigureAwait(false);
        }

        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        Sent = true;
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _length;
        return true;
    }
}
