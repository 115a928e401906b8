namespace Outbox.Core.Messages;

/// <summary>
/// An attachment to enqueue. <see cref="Content"/> is read once, forward, while the row is
/// written; the caller keeps ownership of the stream.
/// </summary>
public sealed class MailAttachment
{
    public required string? FileName { get; init; }

    public required Stream Content { get; init; }

    public string MimeType { get; init; } = "application/octet-stream";

    /// <summary>Makes the part inline in a multipart/related body, referenced as cid:ContentId.</summary>
    public string? ContentId { get; init; }

    public bool Inline { get; init; }
}
