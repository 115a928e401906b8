namespace Outbox.Storage.Admin;

public sealed class AttachmentRow
{
    public long Id { get; init; }

    public string? FileName { get; init; }

    public string MimeType { get; init; } = string.Empty;

    public string? ContentId { get; init; }

    public bool IsInline { get; init; }

    public long Size { get; init; }
}
