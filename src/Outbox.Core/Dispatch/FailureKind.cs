namespace Outbox.Core.Dispatch;

public enum FailureKind
{
    /// <summary>May succeed later (4xx, connection lost, timeout): retried with backoff.</summary>
    Transient,

    /// <summary>Will never succeed (5xx, unbuildable mail): the mail fails at once.</summary>
    Permanent,

    /// <summary>The worker is misconfigured (TLS, login): no mail is charged an attempt; dispatch pauses.</summary>
    Configuration,
}
