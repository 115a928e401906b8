using Outbox.Core.Sending;

namespace Outbox.Core.Dispatch;

/// <summary>Why a mail was not sent, as recorded in the outbox.</summary>
/// <param name="ConnectionLost">The connection cannot be used for the next mail.</param>
public sealed record SendFailure(FailureKind Kind, int? SmtpCode, string Reason, bool ConnectionLost, IReadOnlyList<RecipientRejection> Rejections)
{
    /// <summary>The account the attempt went through, recorded with it.</summary>
    public string? Account { get; init; }

    /// <summary>
    /// The server took the mail for some recipients (the others are in Rejections, deferred or
    /// rejected): those are recorded accepted, and a retry goes only to the deferred ones.
    /// </summary>
    public bool PartlyDelivered { get; init; }

    /// <summary>The server's reply to record, when it is not the reason itself (the 250 of a partial delivery).</summary>
    public string? Reply { get; init; }

    /// <summary>For <see cref="FailureKind.RateLimited"/>: when a slot frees up.</summary>
    public TimeSpan? RetryAfter { get; init; }
}
