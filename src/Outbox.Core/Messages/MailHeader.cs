namespace Outbox.Core.Messages;

/// <summary>An extra header the caller adds to a mail, e.g. List-Unsubscribe (see <see cref="Validation.MailHeaderRules"/>).</summary>
public sealed record MailHeader(string Name, string Value);
