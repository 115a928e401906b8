namespace Outbox.Core.Sending;

/// <summary>What the server answered to an accepted mail.</summary>
/// <param name="SmtpCode">The final reply code (250).</param>
/// <param name="Reply">The final reply text, e.g. "2.0.0 Ok: queued as 4F2A1".</param>
/// <param name="Rejected">Recipients refused while the others were accepted.</param>
public sealed record DeliveryResult(int SmtpCode, string Reply, IReadOnlyList<RecipientRejection> Rejected);
