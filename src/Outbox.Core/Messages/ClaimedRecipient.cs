namespace Outbox.Core.Messages;

/// <summary>A recipient row: kind is to, cc, bcc, or envelope (raw mails).</summary>
/// <param name="Status">What the server answered on an earlier attempt: null (not yet asked), accepted, deferred or rejected.</param>
public sealed record ClaimedRecipient(long Id, string Kind, string Address, string? Status = null)
{
    /// <summary>Whether this attempt sends to the recipient: not yet accepted, nor refused for good.</summary>
    public bool IsOwed => Status is null or "deferred";
}
