namespace Outbox.Storage.Admin;

/// <summary>Mails sent and failed in one hour (UTC), from the attempt log.</summary>
public sealed class HourlyCount
{
    /// <summary>The hour as the first 13 characters of its ISO time, e.g. "2026-12-01T22".</summary>
    public string Hour { get; init; } = string.Empty;

    public long Sent { get; init; }

    public long Failed { get; init; }
}
