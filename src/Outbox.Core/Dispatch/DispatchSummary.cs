namespace Outbox.Core.Dispatch;

/// <summary>What one dispatch pass did.</summary>
/// <param name="PausedBecause">Set when a configuration error stopped the pass: the reason.</param>
public sealed record DispatchSummary(int Sent, int Retried, int Failed, int Released, string? PausedBecause)
{
    public static DispatchSummary Empty { get; } = new(0, 0, 0, 0, null);

    public DispatchSummary Add(DispatchSummary other) =>
        new(Sent + other.Sent, Retried + other.Retried, Failed + other.Failed, Released + other.Released, other.PausedBecause ?? PausedBecause);
}
