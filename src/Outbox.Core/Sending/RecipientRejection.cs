namespace Outbox.Core.Sending;

/// <summary>A recipient the server refused at RCPT TO, with its reply.</summary>
public sealed record RecipientRejection(string Address, int SmtpCode, string Reply);
