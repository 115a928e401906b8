namespace Outbox.Core.Messages;

/// <summary>A recipient row: kind is to, cc, bcc, or envelope (raw mails).</summary>
public sealed record ClaimedRecipient(long Id, string Kind, string Address);
