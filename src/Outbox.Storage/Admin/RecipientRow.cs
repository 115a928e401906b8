namespace Outbox.Storage.Admin;

public sealed class RecipientRow
{
    public string Kind { get; init; } = string.Empty;

    public string Address { get; init; } = string.Empty;

    public string? Status { get; init; }

    public string? SmtpReply { get; init; }
}
