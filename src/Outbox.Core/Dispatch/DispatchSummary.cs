namespace Outbox.Core.Dispatch;

/// <summary>What one dispatch pass did.</summary>
/// <param name="PausedBecause">Set when a configuration error stopped the pass: the reason.</param>
public sealed record DispatchSummary(int Sent, int Retried, int Failed, int Released, string? PausedBecause)
{
    public static DispatchSummary Empty { get; } = new(0, 0, 0, 0, null);

    /// <summary>Mails stopped in 'unconfirmed' for an operator (LostReplyPolicy Hold).</summary>
    public int Unconfirmed { get; init; }

    /// <summary>
    /// Mails not sent because their expires_at had passed: when claimed, when their turn in the
    /// batch came, or before their retry.
    /// </summary>
    public int Expired { get; init; }

    /// <summary>With <see cref="PausedBecause"/>: how long the mails handed back wait.</summary>
    public TimeSpan Pause { get; init; }

    /// <summary>With <see cref="PausedBecause"/>: what kind of failure held the mails back (configuration, an unreachable server, a rate limit).</summary>
    public FailureKind? PausedFor { get; init; }

    /// <summary>
    /// With <see cref="PausedBecause"/>: only some mails were held back (one profile's, its
    /// accounts unusable or at their rate limits); the others went on.
    /// </summary>
    public bool Partial { get; init; }

    public DispatchSummary Add(DispatchSummary other) =>
        new(Sent + other.Sent, Retried + other.Retried, Failed + other.Failed, Released + other.Released, other.PausedBecause ?? PausedBecause)
        {
            Unconfirmed = Unconfirmed + other.Unconfirmed,
            Expired = Expired + other.Expired,
            Pause = other.PausedBecause is null ? Pause : other.Pause,
            PausedFor = other.PausedBecause is null ? PausedFor : other.PausedFor,
            Partial = other.PausedBecause is null ? Partial : other.Partial,
        };
}
