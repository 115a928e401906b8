namespace Outbox.Core.Sending.Accounts;

/// <summary>A slot for one mail through an account, or when the next one frees up.</summary>
public sealed record RateReservation(long SlotId, TimeSpan? RetryAfter)
{
    public bool Granted => RetryAfter is null;
}

/// <summary>
/// Rate limits shared by every worker of one outbox (kept in its database): a mail may go
/// through an account only with a slot, and a slot is given only while the account's limits
/// allow one more mail in every window.
/// </summary>
public interface IRateLimiter
{
    /// <summary>Takes a slot that lasts until released, or at most holdFor; or says how long until one frees.</summary>
    Task<RateReservation> ReserveAsync(string account, IEnumerable<RateLimit> limits, TimeSpan holdFor, CancellationToken cancellationToken);

    /// <summary>Ends a slot: used (the mail went to the server, it counts from now) or not (it never counted).</summary>
    Task ReleaseAsync(RateReservation reservation, bool used, CancellationToken cancellationToken);
}
