namespace Outbox.Storage.Admin;

public sealed class RecentError
{
    public long Id { get; init; }

    public string Status { get; init; } = string.Empty;

    public string? LastAttemptAt { get; init; }

    public string LastError { get; init; } = string.Empty;
}
