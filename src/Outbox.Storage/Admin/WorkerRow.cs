namespace Outbox.Storage.Admin;

/// <summary>A worker as its row in outbox_worker says, with times as ISO 8601 UTC text.</summary>
public sealed record WorkerRow
{
    public required string Name { get; init; }

    public required string Host { get; init; }

    public int Pid { get; init; }

    public required string Version { get; init; }

    public int PollSeconds { get; init; }

    public required string StartedAt { get; init; }

    public required string LastSeenAt { get; init; }

    public string? LastPassAt { get; init; }

    /// <summary>What its last pass did, or why it failed.</summary>
    public string? LastResult { get; init; }

    /// <summary>The pauses it last read ("*", profile names), null when none.</summary>
    public string? Paused { get; init; }

    public string? StoppedAt { get; init; }

    public double SecondsSinceSeen { get; init; }

    /// <summary>
    /// "running"; "stale" when not seen for two poll intervals and a minute (the health
    /// endpoint's bound: the worker died, hangs or lost its database); "stopped" after a clean stop.
    /// </summary>
    public string State => StoppedAt is not null ? "stopped" : SecondsSinceSeen > (2 * PollSeconds) + 60 ? "stale" : "running";
}
