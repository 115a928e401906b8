namespace Outbox.Core.Sending;

/// <summary>A recipient the server did not take, with its reply.</summary>
/// <param name="SmtpCode">
/// The reply code to RCPT TO: 4xx means try again later (the recipient is deferred), 5xx never
/// (rejected); 0 when the transaction failed before the server answered for this recipient.
/// </param>
public sealed record RecipientRejection(string Address, int SmtpCode, string Reply)
{
    /// <summary>Whether a later attempt may still deliver to this recipient.</summary>
    public bool IsDeferred => SmtpCode < 500;

    /// <summary>
    /// The whole message went to the server for this recipient, but its reply was lost: the
    /// server may have accepted it (a further transaction after a 452).
    /// </summary>
    public bool ReplyLost { get; init; }

    /// <summary>The server's answer as recorded: "452 4.5.3 Too many recipients".</summary>
    public string Answer => SmtpCode > 0 ? $"{SmtpCode} {Reply}" : Reply;

    public override string ToString() => $"{Address}: {Answer}";
}
