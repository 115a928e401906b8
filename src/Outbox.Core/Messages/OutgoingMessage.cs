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
    public IReadOnlyList<MailboxAddress> Recipients { get; private set; }

    /// <summary>Outbox:Safety's envelope instead of the mail's own (<see cref="Sending.SafetyTransport"/>).</summary>
    internal void Readdress(IReadOnlyList<MailboxAddress> recipients) => Recipients = recipients;

    /// <summary>
    /// Set by the dispatcher: what must happen before any of the mail can reach the server (it
    /// records that the data may reach it from now on). Throws when the mail must not be sent.
    /// </summary>
    public Func<CancellationToken, Task>? BeforeTransaction { get; set; }

    /// <summary>
    /// Called by a transport right before it begins the mail's first SMTP transaction (or
    /// writes its file), after everything that could still refuse it without sending (routing,
    /// rate limits, the connection). Runs <see cref="BeforeTransaction"/> once.
    /// </summary>
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        if (BeforeTransaction is { } before)
        {
            BeforeTransaction = null;
            await before(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var stream in _streams)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }

        Message.Dispose();
    }
}
