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

    /// <summary>Claims up to batchSize due mails (queued and due, or leased and expired).</summary>
    Task<IReadOnlyList<ClaimedMessage>> ClaimAsync(int batchSize, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Pushes the lease of mails this worker still holds out to now + lease.</summary>
    Task ExtendLeaseAsync(IReadOnlyList<ClaimedMessage> messages, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Records mails the server accepted, several at a time.</summary>
    Task MarkSentAsync(IReadOnlyList<SentMail> sent, CancellationToken cancellationToken);

    Task MarkRetryAsync(ClaimedMessage message, SendFailure failure, TimeSpan delay, CancellationToken cancellationToken);

    /// <summary>Stops a mail whose fate is unknown in status 'unconfirmed', for an operator.</summary>
    Task MarkUnconfirmedAsync(ClaimedMessage message, SendFailure failure, CancellationToken cancellationToken);

    /// <summary>
    /// Records the lost attempt of the worker whose lease this claim took over; with hold, the
    /// mail stops in 'unconfirmed' instead of being sent again.
    /// </summary>
    Task RecordTakeOverAsync(ClaimedMessage message, bool hold, CancellationToken cancellationToken);

    Task MarkFailedAsync(ClaimedMessage message, SendFailure failure, CancellationToken cancellationToken);

    /// <summary>
    /// Hands mails back untried (no attempt charged), due again after delay; the reason, and
    /// the server's reply code when a reply was the reason, are recorded.
    /// </summary>
    Task ReleaseAsync(IReadOnlyList<ClaimedMessage> messages, TimeSpan delay, string? reason, int? smtpCode, CancellationToken cancellationToken);
}
