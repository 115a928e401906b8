using MailKit;
using MailKit.Net.Smtp;
using MimeKit;
using Outbox.Core.Messages;

namespace Outbox.Core.Sending;

/// <summary>An authenticated SMTP connection, reused for every mail of a batch.</summary>
internal sealed class SmtpSession : IMailSession
{
    private readonly OutboxSmtpClient _client;
    private readonly int _messagesPerConnection;
    private int _sent;

    public SmtpSession(OutboxSmtpClient client, int messagesPerConnection, string account)
    {
        _client = client;
        _messagesPerConnection = messagesPerConnection;
        Account = account;
    }

    public string Account { get; }

    public bool IsConnected => _client.IsConnected;

    public bool CanSendMore => _client.IsConnected && (_messagesPerConnection == 0 || _sent < _messagesPerConnection);

    public async Task<DeliveryResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        _client.BeginMessage();
        // Passing a progress makes MailKit measure the message first; the bytes it reports tell
        // whether the whole message had been written when the connection failed.
        var progress = new DataProgress();
        _sent++;
        try
        {
            var reply = await _client.SendAsync(FormatOptions.Default, message.Message, message.Sender, message.Recipients, cancellationToken, progress).ConfigureAwait(false);
            return new DeliveryResult(250, reply, _client.TakeRejected());
        }
        catch (Exception ex) when (ex is not SmtpCommandException && _client.MessageSize > 0 && progress.Transferred >= _client.MessageSize)
        {
            // The whole message is out and no reply says yes or no: whatever went wrong (the
            // connection, a timeout, or this worker stopping), the server may have the mail.
            throw new ReplyLostException(
                $"the exchange failed after the whole message was sent, before the server's reply ({ex.Message}): the server may have accepted it", ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_client.IsConnected)
            {
                using var quitTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _client.DisconnectAsync(quit: true, quitTimeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ProtocolException or CommandException)
        {
            // The mails are recorded already; a QUIT that fails changes nothing.
        }
        finally
        {
            _client.Dispose();
        }
    }

    private sealed class DataProgress : ITransferProgress
    {
        public long Transferred { get; private set; }

        public void Report(long bytesTransferred, long totalSize) => Transferred = bytesTransferred;

        public void Report(long bytesTransferred) => Transferred = bytesTransferred;
    }
}
