using MailKit.Net.Smtp;
using MimeKit;

namespace Outbox.Core.Sending;

/// <summary>
/// MailKit's client, changed in four ways (and able to probe a sender for `outbox check smtp`): every
/// reply is bounded by a <see cref="ServerReplyGuard"/>; a refused recipient is recorded instead of aborting
/// the whole mail (the others still receive it); the measured size of each message is kept, so
/// a lost reply can be told from a connection lost mid-data (measured without encoding the
/// attachments, see <see cref="MessageMeasure"/>); and a message larger than the server's SIZE
/// limit is refused before any of it is sent.
/// </summary>
internal sealed class OutboxSmtpClient : SmtpClient
{
    private readonly List<RecipientRejection> _rejected = [];

    /// <param name="timeout">The longest wait for one reply (Outbox:Smtp:Timeout).</param>
    public OutboxSmtpClient(TimeSpan timeout)
        : this(new ServerReplyGuard(timeout))
    {
        Timeout = (int)timeout.TotalMilliseconds;
    }

    private OutboxSmtpClient(ServerReplyGuard guard)
        : base(guard)
    {
        Guard = guard;
    }

    /// <summary>Bounds each server reply; attach the socket before connecting.</summary>
    public ServerReplyGuard Guard { get; }

    /// <summary>The size of the message being sent, once MailKit has measured it; -1 before.</summary>
    public long MessageSize { get; private set; } = -1;

    /// <summary>True when the server refused every recipient of the current send (MailKit then resets the transaction and keeps the connection).</summary>
    public bool NoneAccepted { get; private set; }

    /// <summary>Forgets the previous message's size and refusals.</summary>
    public void BeginMessage()
    {
        MessageSize = -1;
        NoneAccepted = false;
        _rejected.Clear();
    }

    /// <summary>Recipients refused during the current send.</summary>
    public IReadOnlyList<RecipientRejection> TakeRejected()
    {
        var rejected = _rejected.ToList();
        _rejected.Clear();
        return rejected;
    }

    protected override async Task<long> GetSizeAsync(FormatOptions options, MimeMessage message, CancellationToken cancellationToken)
    {
        var size = await MessageMeasure.MeasureAsync(options, message, cancellationToken).ConfigureAwait(false);
        MessageSize = size;
        if (MaxSize > 0 && size > MaxSize)
        {
            throw new MessageTooLargeException(size, MaxSize);
        }

        return size;
    }

    /// <summary>
    /// Asks the server whether it would take mail from this sender (MAIL FROM, then RSET), for
    /// `outbox check smtp`: nothing is sent. Returns the server's reply.
    /// </summary>
    public async Task<(bool Accepted, string Reply)> ProbeSenderAsync(string sender, CancellationToken cancellationToken)
    {
        var response = await SendCommandAsync($"MAIL FROM:<{sender}>", cancellationToken).ConfigureAwait(false);
        var accepted = (int)response.StatusCode is >= 200 and < 300;
        if (accepted)
        {
            await SendCommandAsync("RSET", cancellationToken).ConfigureAwait(false);
        }

        return (accepted, $"{(int)response.StatusCode} {response.Response}");
    }

    protected override void OnRecipientNotAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response)
    {
        _rejected.Add(new RecipientRejection(mailbox.Address, (int)response.StatusCode, response.Response));
    }

    // Not thrown from here: MailKit drops the connection for an exception of ours, but resets the
    // transaction (RSET) and keeps it for the SmtpCommandException it throws next.
    protected override void OnNoRecipientsAccepted(MimeMessage message) => NoneAccepted = true;
}
