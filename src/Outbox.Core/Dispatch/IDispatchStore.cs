using Outbox.Core.Messages;
using Outbox.Core.Sending;

namespace Outbox.Core.Dispatch;

/// <summary>
/// The worker's view of the outbox tables: claim with a lease on the database clock, then
/// acknowledge each mail. Every acknowledgement applies only while this worker still holds the
/// lease.
/// </summary>
public interface IDispatchStore
{
    IMessageContentSource Content { get; }

    /// <summary>
    /// Claims up to batchSize due mails (queued and due, or leased and expired). In the same
    /// transaction, a mail taken over from a worker that had begun its SMTP transaction gets that
    /// worker's attempt recorded 'unconfirmed'; with holdTakenOver it stops in 'unconfirmed' and
    /// comes back <see cref="ClaimedMessage.Held"/>, not to be sent. A mail whose expires_at has
    /// passed is recorded 'expired' in the same transaction and comes back
    /// <see cref="ClaimedMessage.Expired"/>, not to be sent.
    /// </summary>
    Task<IReadOnlyList<ClaimedMessage>> ClaimAsync(int batchSize, TimeSpan lease, bool holdTakenOver, CancellationToken cancellationToken);

    /// <summary>Pushes the lease of mails this worker still holds out to now + lease; returns how many it still held.</summary>
    Task<int> ExtendLeaseAsync(IReadOnlyList<ClaimedMessage> messages, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>
    /// Records, before the mail's SMTP transaction begins, that its data may reach the server
    /// from now on. In the same statement, on the database clock: <see cref="DataStart.NotMine"/>
    /// (nothing written) when this worker's lease on it is gone; <see cref="DataStart.Expired"/>
    /// when its expires_at has passed (it waited in the batch too long), recorded 'expired' with
    /// the claim's attempt taken back. Either way the mail must not be sent. A template mail's
    /// rendered subject is recorded with it, so the mail is listed and searched by the subject it
    /// goes out with.
    /// </summary>
    Task<DataStart> MarkDataStartingAsync(ClaimedMessage message, string? renderedSubject, CancellationToken cancellationToken);

    /// <summary>Records mails the server accepted, several at a time.</summary>
    Task MarkSentAsync(IReadOnlyList<SentMail> sent, CancellationToken cancellationToken);

    /// <summary>
    /// Records a failed attempt to be retried after delay; true when the retry would come at or
    /// after the mail's expires_at (database clock), so the mail was recorded 'expired' instead
    /// (the attempt row stands).
    /// </summary>
    Task<bool> MarkRetryAsync(ClaimedMessage message, SendFailure failure, TimeSpan delay, CancellationToken cancellationToken);

    /// <summary>Stops a mail whose fate is unknown in status 'unconfirmed', for an operator.</summary>
    Task MarkUnconfirmedAsync(ClaimedMessage message, SendFailure failure, CancellationToken cancellationToken);

    Task MarkFailedAsync(ClaimedMessage message, SendFailure failure, CancellationToken cancellationToken);

    /// <summary>The pauses in force (outbox_pause rows not resumed): a few rows, read at most once per poll interval.</summary>
    Task<IReadOnlyList<Pause>> ReadPausesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Hands mails back untried (no attempt charged), due again after delay; the reason, and
    /// the server's reply code when a reply was the reason, are recorded.
    /// </summary>
    Task ReleaseAsync(IReadOnlyList<ClaimedMessage> messages, TimeSpan delay, string? reason, int? smtpCode, CancellationToken cancellationToken);
}
