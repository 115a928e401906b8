using MimeKit;
using MimeKit.IO;

namespace Outbox.Core.Sending.Graph;

/// <summary>
/// An attachment (or inline part with a Content-ID) taken out of a message for Graph's draft
/// path: the draft's MIME holds the rest, and the part goes to the draft's attachments
/// afterwards. Remembers where it was, so the message can be put back as it was (a profile's
/// next account, or the next attempt, sends the same message).
/// </summary>
internal sealed class DraftAttachment
{
    private DraftAttachment(MimePart part, Multipart parent, int index, long size)
    {
        Part = part;
        Parent = parent;
        Index = index;
        Size = size;
    }

    public MimePart Part { get; }

    /// <summary>Its decoded length: the bytes Graph is given.</summary>
    public long Size { get; }

    public string Name => Part.FileName ?? Part.ContentId ?? "attachment";

    public string ContentType => Part.ContentType.MimeType;

    /// <summary>Shown in the body rather than listed: an inline part referred to by its Content-ID.</summary>
    public bool IsInline => !Part.IsAttachment;

    private Multipart Parent { get; }

    private int Index { get; }

    /// <summary>
    /// Takes every attachment and Content-ID part out of the message (the text bodies stay),
    /// measuring each. A part that is the whole body, with no multipart around it, stays.
    /// </summary>
    public static async Task<List<DraftAttachment>> TakeOutAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        var found = new List<(MimePart Part, Multipart Parent, int Index)>();
        Collect(message.Body, found);
        var taken = new List<DraftAttachment>(found.Count);
        foreach (var (part, parent, index) in found)
        {
            taken.Add(new DraftAttachment(part, parent, index, await DecodedLengthAsync(part, cancellationToken).ConfigureAwait(false)));
        }

        // From the last, so that the indexes of the others still hold.
        for (var i = taken.Count - 1; i >= 0; i--)
        {
            taken[i].Parent.RemoveAt(taken[i].Index);
        }

        return taken;
    }

    /// <summary>Puts the parts back where they were, in the order they were found.</summary>
    public static void PutBack(List<DraftAttachment> taken)
    {
        foreach (var attachment in taken)
        {
            attachment.Parent.Insert(attachment.Index, attachment.Part);
        }
    }

    private static void Collect(MimeEntity? entity, List<(MimePart, Multipart, int)> found)
    {
        if (entity is not Multipart multipart)
        {
            return;
        }

        for (var i = 0; i < multipart.Count; i++)
        {
            switch (multipart[i])
            {
                case Multipart inner:
                    Collect(inner, found);
                    break;
                case MimePart part when part.IsAttachment || part.ContentId is not null && part is not TextPart:
                    found.Add((part, multipart, i));
                    break;
            }
        }
    }

    // A part the worker built holds the raw bytes (seekable, their length known); one of a raw
    // mail is encoded in the caller's text and is decoded once to count.
    private static async Task<long> DecodedLengthAsync(MimePart part, CancellationToken cancellationToken)
    {
        if (part.Content is not { } content)
        {
            return 0;
        }

        if (content is { Encoding: ContentEncoding.Default, Stream.CanSeek: true })
        {
            return content.Stream.Length;
        }

        using var measure = new MeasuringStream();
        await content.DecodeToAsync(measure, cancellationToken).ConfigureAwait(false);
        return measure.Length;
    }
}
