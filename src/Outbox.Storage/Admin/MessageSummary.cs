namespace Outbox.Storage.Admin;

/// <summary>One line of `outbox list`.</summary>
public sealed class MessageSummary
{
    public long Id { get; init; }

    public string Status { get; init; } = string.Empty;

    public string Sender { get; init; } = string.Empty;

    public string? Subject { get; init; }

    public string CreatedAt { get; init; } = string.Empty;

    public int AttemptCount { get; init; }

    public int? SmtpCode { get; init; }

    public string? LastError { get; init; }
}
