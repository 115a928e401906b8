using MimeKit;

namespace Outbox.Core.Messages;

/// <summary>
/// A mail ready for a transport: the MIME message, its envelope, and the database streams its
/// parts read from, which live until the mail has been sent.
/// </summary>
public sealed class OutgoingMessage : IAsyncDisposable
{
    private readonly List<Stream> _streams;

    public OutgoingMessage(MimeMessage message, MailboxAddress sender, IReadOnlyList<MailboxAddress> recipients, List<Stream> streams, string? profile = null)
    {
        Message = message;
        Sender = sender;
        Recipients = recipients;
        _streams = streams;
        Profile = profile;
    }

    /// <summary>The Outbox:Profiles entry the mail named, if any.</summary>
    public string? Profile { get; }

    public MimeMessage Message { get; }

    /// <summary>The envelope sender (MAIL FROM).</summary>
    public MailboxAddress Sender { get; }

    /// <summary>The envelope recipients (RCPT TO), Bcc included.</summary>
    public IReadOnlyList<MailboxAddress> Recipients { get; }

    public async ValueTask DisposeAsync()
    {
        foreach (var stream in _streams)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }

        Message.Dispose();
    }
}
