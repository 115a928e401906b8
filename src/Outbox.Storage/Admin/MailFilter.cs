namespace Outbox.Storage.Admin;

/// <summary>
/// Which mails `outbox list` (and every other reader of the list) shows. Every criterion left
/// null matches all; text criteria match anywhere in the value, ignoring case.
/// </summary>
public sealed record MailFilter
{
    /// <summary>Only mails in this status.</summary>
    public string? Status { get; init; }

    /// <summary>Only mails with a recipient (To, Cc, Bcc or envelope) containing this text.</summary>
    public string? To { get; init; }

    /// <summary>Only mails whose subject contains this text.</summary>
    public string? Subject { get; init; }

    /// <summary>Only mails created at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only mails created before this time.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>Only mails with a smaller id: the next page of a list ordered newest first (keyset paging).</summary>
    public long? BeforeId { get; init; }

    /// <summary>The longest text criterion accepted: enough for any address or subject.</summary>
    public const int MaxTextLength = 998;

    /// <summary>A LIKE pattern matching the text anywhere, with the caller's % and _ taken literally.</summary>
    internal static string? Contains(string? text) => text is null
        ? null
        : "%" + text.ToLowerInvariant().Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal) + "%";
}
