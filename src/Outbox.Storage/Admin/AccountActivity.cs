namespace Outbox.Storage.Admin;

/// <summary>One account's last day: its last failed attempt and the slots of each rate limit in use now.</summary>
public sealed class AccountActivity
{
    public string Account { get; init; } = string.Empty;

    /// <summary>When the account's last failed (retry, failed or unconfirmed) attempt of the last day was; null: none.</summary>
    public string? LastErrorAt { get; init; }

    public string? LastError { get; init; }

    /// <summary>Per rate limit (as given): mails that count against it now.</summary>
    public IReadOnlyList<long> SlotsInUse { get; init; } = [];
}
