namespace Outbox.Core.Messages;

/// <summary>An attachment's description; its bytes are streamed through <see cref="IMessageContentSource"/>.</summary>
public sealed record ClaimedAttachment(long Id, string? FileName, string MimeType, string? ContentId, bool IsInline, long Size);
