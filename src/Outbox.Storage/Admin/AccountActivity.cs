namespace Outbox.Storage.Admin;

/// <summary>One account's last day: its last failed and last sent attempt, the slots of each rate limit and the connections in use now.</summary>
public sealed class AccountActivity
{
    public string Account { get; init; } = string.Empty;

    /// <summary>When the account's last failed (retry, failed or unconfirmed) attempt of the last day was; null: none.</summary>
    public string? LastErrorAt { get; init; }

    public string? LastError { get; init; }

    /// <summary>When the account last had a mail accepted in the last day; null: none.</summary>
    public string? LastSentAt { get; init; }

    /// <summary>Whether a mail went out through the account after its last failure of the day: it works again.</summary>
    public bool Recovered => LastErrorAt is not null && LastSentAt is not null && string.CompareOrdinal(LastSentAt, LastErrorAt) > 0;

    /// <summary>Per rate limit (as given): mails, or their recipients, that count against it now.</summary>
    public IReadOnlyList<long> SlotsInUse { get; init; } = [];

    /// <summary>Sessions with the account open now in every worker (connection slots whose lease runs).</summary>
    public long ConnectionsOpen { get; init; }
}
