using Outbox.Core.Messages;

namespace Outbox.Core.Sending;

/// <summary>One open connection, reused for the mails of a batch.</summary>
public interface IMailSession : IAsyncDisposable
{
    /// <summary>False once the connection was lost.</summary>
    bool IsConnected { get; }

    /// <summary>
    /// False when this session must not take another mail (connection lost, or the server's
    /// messages-per-connection limit reached); the dispatcher then opens a new one.
    /// </summary>
    bool CanSendMore { get; }

    /// <summary>The account the last mail went (or tried to go) through, recorded with its attempt.</summary>
    string Account { get; }

    Task<DeliveryResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken);
}
