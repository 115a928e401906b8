namespace Outbox.Core.Dispatch;

public enum FailureKind
{
    /// <summary>May succeed later (4xx, connection lost, timeout): retried with backoff.</summary>
    Transient,

    /// <summary>Will never succeed (5xx, unbuildable mail): the mail fails at once.</summary>
    Permanent,

    /// <summary>
    /// The server refuses service for now (421): not this mail's fault, so it and the rest of
    /// the batch wait without being charged an attempt.
    /// </summary>
    ServerUnavailable,

    /// <summary>
    /// The message data was sent but the server's reply never came (connection lost or timed
    /// out after the final dot): the server may have accepted it. Handled by LostReplyPolicy.
    /// </summary>
    ReplyLost,

    /// <summary>The worker is misconfigured (TLS, login): no mail is charged an attempt; dispatch pauses.</summary>
    Configuration,

    /// <summary>
    /// The mail names a profile the configuration lacks: it alone waits ConfigurationErrorPause,
    /// uncharged, and the rest of the batch goes on.
    /// </summary>
    Unroutable,

    /// <summary>
    /// Every account the mail may use is at its rate limit: the mail and the rest of the batch
    /// wait, uncharged, until a slot frees up (SendFailure.RetryAfter).
    /// </summary>
    RateLimited,
}
