using MimeKit;
using Outbox.Core.Messages;

namespace Outbox.Core.Sending;

/// <summary>An authenticated SMTP connection, reused for every mail of a batch.</summary>
internal sealed class SmtpSession : IMailSession
{
    private readonly OutboxSmtpClient _client;

    public SmtpSession(OutboxSmtpClient client)
    {
        _client = client;
    }

    public bool IsConnected => _client.IsConnected;

    public async Task<DeliveryResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        _client.TakeRejected();
        var reply = await _client.SendAsync(FormatOptions.Default, message.Message, message.Sender, message.Recipients, cancellationToken).ConfigureAwait(false);
        return new DeliveryResult(250, reply, _client.TakeRejected());
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
        catch (Exception ex) when (ex is IOException or OperationCanceledException or MailKit.ProtocolException or MailKit.CommandException)
        {
            // The mails are recorded already; a QUIT that fails changes nothing.
        }
        finally
        {
            _client.Dispose();
        }
    }
}
