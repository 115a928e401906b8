namespace Outbox.Storage.Admin;

/// <summary>Everything `outbox show` prints about one mail.</summary>
public sealed class MessageDetails
{
    public MessageRow Message { get; init; } = new();

    public IReadOnlyList<RecipientRow> Recipients { get; init; } = [];

    public IReadOnlyList<AttachmentRow> Attachments { get; init; } = [];

    public IReadOnlyList<AttemptRow> Attempts { get; init; } = [];
}
