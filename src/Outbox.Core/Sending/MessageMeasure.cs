using MimeKit;
using MimeKit.IO;

namespace Outbox.Core.Sending;

/// <summary>
/// The size of a message as MailKit will send it, without encoding its attachments to find out.
/// MailKit measures a message by writing it once before sending it; for a base64 attachment that
/// doubles the encoding work, and a large attachment would be read from the database twice.
/// The length of base64 text depends only on the length of its input, so each such part is
/// measured empty and its encoded length added by arithmetic. Exact: a lost reply is told from
/// a connection lost mid-data by comparing the bytes written with this size.
/// </summary>
internal static class MessageMeasure
{
    /// <summary>MimeKit's base64 lines: 76 characters (57 input bytes), then a line break.</summary>
    private const int Base64LineLength = 76;

    public static async Task<long> MeasureAsync(FormatOptions options, MimeMessage message, CancellationToken cancellationToken)
    {
        var swapped = new List<(MimePart Part, IMimeContent Content)>();
        long encoded = 0;
        var newLine = options.NewLineFormat == NewLineFormat.Dos ? 2 : 1;
        try
        {
            // Only parts of a multipart: a message whose whole body is one part gets an extra
            // line break after its headers when that part is empty, so it is written to measure.
            foreach (var part in message.BodyParts.OfType<MimePart>().Where(p => !ReferenceEquals(p, message.Body)))
            {
                if (part.ContentTransferEncoding == ContentEncoding.Base64 && part.Content is { Encoding: ContentEncoding.Default, Stream.CanSeek: true } content)
                {
                    encoded += Base64Length(content.Stream.Length, newLine);
                    swapped.Add((part, content));
                    part.Content = new MimeContent(new MemoryStream([], writable: false));
                }
            }

            using var measure = new MeasuringStream();
            await message.WriteToAsync(options, measure, cancellationToken).ConfigureAwait(false);
            return measure.Length + encoded;
        }
        finally
        {
            foreach (var (part, content) in swapped)
            {
                part.Content = content;
            }
        }
    }

    /// <summary>The base64 text of length bytes, line breaks included.</summary>
    public static long Base64Length(long length, int newLine)
    {
        var characters = (length + 2) / 3 * 4;
        var lines = (characters + Base64LineLength - 1) / Base64LineLength;
        return characters + (lines * newLine);
    }
}
