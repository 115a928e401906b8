namespace Outbox.Core.Sending.Accounts;

/// <summary>A slot for one mail through an account, or when the next one frees up.</summary>
public sealed record RateReservation(long SlotId, TimeSpan? RetryAfter)
{
    public bool Granted => RetryAfter is null;
}

/// <summary>
/// The limits of an account shared by every worker of one outbox (kept in its database): a mail
/// may go through an account only with a rate slot, given only while the account's rate limits
/// allow one more mail (and its recipients) in every window; a session may be opened only with a
/// connection slot, given only while fewer than the account's MaxConnections are held.
/// </summary>
public interface IRateLimiter
{
    /// <summary>Takes a slot for a mail to this many recipients that lasts until released, or at most holdFor; or says how long until one frees.</summary>
    Task<RateReservation> ReserveAsync(string account, IEnumerable<RateLimit> limits, int recipients, TimeSpan holdFor, CancellationToken cancellationToken);

    /// <summary>Ends a slot: used (the mail went to the server, it counts from now) or not (it never counted).</summary>
    Task ReleaseAsync(RateReservation reservation, bool used, CancellationToken cancellationToken);

    /// <summary>Takes one of the account's connection slots for lease (on the database clock), or null when all of them are held.</summary>
    Task<long?> TakeConnectionAsync(string account, int maxConnections, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Extends a connection slot's lease; false when it had expired and was taken by another session.</summary>
    Task<bool> RenewConnectionAsync(long slot, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Gives a connection slot back.</summary>
    Task ReleaseConnectionAsync(long slot, CancellationToken cancellationToken);
}
