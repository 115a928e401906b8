namespace Outbox.Storage.Admin;

public sealed record MessageRow
{
    public long Id { get; init; }

    public string Status { get; init; } = string.Empty;

    public string Kind { get; init; } = string.Empty;

    public string Sender { get; init; } = string.Empty;

    public string? ReplyTo { get; init; }

    public string? Subject { get; init; }

    /// <summary>The template the mail is rendered from, or null for a mail with its own subject and bodies.</summary>
    public string? Template { get; init; }

    /// <summary>The locale of the template's row, or null for its default row.</summary>
    public string? TemplateLocale { get; init; }

    /// <summary>The JSON object the template is rendered with.</summary>
    public string? TemplateData { get; init; }

    public int Priority { get; init; }

    public string MimeMessageId { get; init; } = string.Empty;

    public string? IdempotencyKey { get; init; }

    public string CreatedAt { get; init; } = string.Empty;

    public string? SendAfter { get; init; }

    /// <summary>Not sent after this time (expires_at), or null.</summary>
    public string? ExpiresAt { get; init; }

    /// <summary>The caller's extra header lines ("Name: value", one per line), or null.</summary>
    public string? Headers { get; init; }

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
