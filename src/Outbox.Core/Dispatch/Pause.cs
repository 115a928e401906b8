namespace Outbox.Core.Dispatch;

/// <summary>
/// A pause an operator set (outbox_pause): of all sending (scope "*") or of one profile's mail.
/// Workers send no mail it covers and hand back, uncharged, what they hold of it.
/// </summary>
public sealed record Pause
{
    public const string All = "*";

    /// <summary>"*", or a profile name.</summary>
    public required string Scope { get; init; }

    /// <summary>Who paused: the database user, the dashboard's user or the command line's OS user.</summary>
    public required string PausedBy { get; init; }

    /// <summary>When, as ISO 8601 UTC text.</summary>
    public required string PausedAt { get; init; }

    /// <summary>What the operator said, if anything.</summary>
    public string? Reason { get; init; }

    /// <summary>The profile a worker without Outbox:Profiles sends every mail through, unless it names another.</summary>
    public const string DefaultProfile = "default";

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsAll => Scope == All;

    /// <summary>The pause that holds a mail of this profile, if any: a pause of all sending first.</summary>
    public static Pause? Of(IReadOnlyList<Pause> pauses, string profile)
    {
        ArgumentNullException.ThrowIfNull(pauses);
        return pauses.FirstOrDefault(p => p.IsAll) ?? pauses.FirstOrDefault(p => string.Equals(p.Scope, profile, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The scopes as one short text: "*", "marketing, bulk"; null when nothing is paused.</summary>
    public static string? Scopes(IReadOnlyList<Pause> pauses) =>
        pauses is { Count: > 0 } ? string.Join(", ", pauses.Select(p => p.Scope).Order(StringComparer.Ordinal)) : null;

    /// <summary>One line, for the log, a handed-back mail's last error and status.</summary>
    public override string ToString() =>
        $"{(IsAll ? "all sending" : $"profile \"{Scope}\"")} paused by {PausedBy} at {PausedAt}{(Reason is null ? string.Empty : $" ({Reason})")}";
}
