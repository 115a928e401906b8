namespace Outbox.Storage.Admin;

public sealed record MessageRow
{
    public long Id { get; init; }

    public string Status { get; init; } = string.Empty;

    public string Kind { get; init; } = string.Empty;

    public string Sender { get; init; } = string.Empty;

    public string? ReplyTo { get; init; }

    public string? Subject { get; init; }

    public int Priority { get; init; }

    public string MimeMessageId { get; init; } = string.Empty;

    public string? IdempotencyKey { get; init; }

    public string CreatedAt { get; init; } = string.Empty;

    public string? SendAfter { get; init; }

    public string? QueuedAt { get; init; }

    public string? DueAt { get; init; }

    public string? LeaseOwner { get; init; }

    public int AttemptCount { get; init; }

    public string? SentAt { get; init; }

    public int? SmtpCode { get; init; }

    public string? SmtpReply { get; init; }

    public string? LastError { get; init; }

    public bool HasTextBody { get; init; }

    public bool HasHtmlBody { get; init; }
}
