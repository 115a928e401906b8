namespace Outbox.Storage.Admin;

public sealed class AttemptRow
{
    public int AttemptNo { get; init; }

    public string AttemptedAt { get; init; } = string.Empty;

    public string Worker { get; init; } = string.Empty;

    /// <summary>The account the attempt went through ("default": Outbox:Smtp).</summary>
    public string? Account { get; init; }

    public string Outcome { get; init; } = string.Empty;

    public int? SmtpCode { get; init; }

    public string? SmtpReply { get; init; }

    public string? Error { get; init; }
}
