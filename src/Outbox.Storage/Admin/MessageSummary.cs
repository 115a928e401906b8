namespace Outbox.Storage.Admin;

/// <summary>One line of `outbox list`.</summary>
public sealed record MessageSummary
{
    public long Id { get; init; }

    public string Status { get; init; } = string.Empty;

    /// <summary>mime (built from its parts) or raw (text written by the caller, UTL_SMTP-style).</summary>
    public string Kind { get; init; } = string.Empty;

    public string Sender { get; init; } = string.Empty;

    public string? Subject { get; init; }

    /// <summary>The first of its recipients by address (to, cc, bcc or envelope); null: none yet.</summary>
    public string? FirstRecipient { get; init; }

    public long RecipientCount { get; init; }

    /// <summary>A queued mail's next try (its send time, or after a retry's backoff), UTC; null for any other status.</summary>
    public string? DueAt { get; init; }

    public string CreatedAt { get; init; } = string.Empty;

    public int AttemptCount { get; init; }

    public int? SmtpCode { get; init; }

    public string? LastError { get; init; }
}
