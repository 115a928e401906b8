using Outbox.Core.Messages;

namespace Outbox.Core.Sending;

/// <summary>One open connection, reused for the mails of a batch.</summary>
public interface IMailSession : IAsyncDisposable
{
    /// <summary>False once the connection was lost; the dispatcher then opens a new session.</summary>
    bool IsConnected { get; }

    Task<DeliveryResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken);
}
