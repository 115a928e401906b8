using Outbox.Core.Messages;
using Outbox.Core.Sending;

namespace Outbox.Core.Dispatch;

/// <summary>A mail the server accepted, waiting to be recorded.</summary>
public sealed record SentMail(ClaimedMessage Message, DeliveryResult Result, string? Account = null);
