namespace Outbox.Core.Messages;

/// <summary>
/// Opens the large parts of a claimed mail as streams read straight from the database, so the
/// worker never holds a whole attachment in memory. Streams are seekable: MailKit may write the
/// message twice (once to measure it for the SIZE extension, once to send it).
/// </summary>
public interface IMessageContentSource
{
    Task<Stream> OpenAttachmentAsync(ClaimedAttachment attachment, CancellationToken cancellationToken);

    /// <summary>The text of a raw mail, its parts concatenated in order.</summary>
    Task<Stream> OpenRawContentAsync(long messageId, CancellationToken cancellationToken);
}
