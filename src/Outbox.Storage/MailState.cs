namespace Outbox.Storage;

/// <summary>
/// What became of a mail, as its caller may read it (<see cref="OutboxClient.StateAsync"/>):
/// no bodies, attachments or template data. Times are UTC, ISO 8601 text as the database wrote them.
/// </summary>
public sealed record MailState
{
    public long Id { get; init; }

    /// <summary>draft, queued, sending, sent, unconfirmed, failed, cancelled or expired.</summary>
    public string Status { get; init; } = string.Empty;

    public string CreatedAt { get; init; } = string.Empty;
    public string? QueuedAt { get; init; }
    public string? SentAt { get; init; }
    public int AttemptCount { get; init; }
    public string? LastAttemptAt { get; init; }

    /// <summary>When the mail stops being worth sending (its expires_at), or null: no expiry.</summary>
    public string? ExpiresAt { get; init; }

    /// <summary>The server's last reply to the mail, e.g. 250 and "2.0.0 Ok: queued as 4F2A1".</summary>
    public int? SmtpCode { get; init; }

    public string? SmtpReply { get; init; }
    public string? LastError { get; init; }
    public IReadOnlyList<RecipientState> Recipients { get; init; } = [];
}

/// <summary>A recipient's state: accepted, deferred (tried again later), rejected, or null (not tried yet).</summary>
public sealed record RecipientState
{
    public string Kind { get; init; } = string.Empty;
    public string Address { get; init; } = string.Empty;
    public string? Status { get; init; }
    public string? SmtpReply { get; init; }
}
