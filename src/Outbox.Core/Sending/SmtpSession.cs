using System.Text;
using MailKit;
using MailKit.Net.Smtp;
using MimeKit;
using Outbox.Core.Messages;

namespace Outbox.Core.Sending;

/// <summary>An authenticated SMTP connection, reused for every mail of a batch.</summary>
internal sealed class SmtpSession : IMailSession
{
    // RFC 5321 4.5.3.1.10: a server out of room for recipients in one transaction answers 452
    // to the rest, and the client sends them in another.
    private const int TooManyRecipients = 452;

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

    /// <summary>
    /// Sends the mail to its envelope recipients. Recipients refused with 452 while others were
    /// accepted go in further transactions on the same connection, as long as each one delivers
    /// to somebody; what is still refused then comes back in the result.
    /// </summary>
    public async Task<DeliveryResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        RequireSmtpUtf8Where(message);
        _sent++;
        var first = await TransactionAsync(message, message.Recipients, cancellationToken).ConfigureAwait(false);
        var refused = first.Rejected.ToList();
        var replies = new List<string> { first.Reply };
        var again = refused.Where(r => r.SmtpCode == TooManyRecipients).ToList();
        while (again.Count > 0)
        {
            refused.RemoveAll(again.Contains);
            var owed = again.Select(r => r.Address).ToHashSet(StringComparer.OrdinalIgnoreCase);
            var recipients = message.Recipients.Where(r => owed.Contains(r.Address)).ToList();
            try
            {
                var next = await TransactionAsync(message, recipients, cancellationToken).ConfigureAwait(false);
                replies.Add(next.Reply);
                refused.AddRange(next.Rejected);
                again = next.Rejected.Where(r => r.SmtpCode == TooManyRecipients).ToList();
            }
            catch (AllRecipientsRejectedException none)
            {
                refused.AddRange(none.Rejections);
                break;
            }
            catch (ReplyLostException lost)
            {
                // The earlier transactions delivered; for these recipients the server may have
                // the mail too. LostReplyPolicy decides, as for a whole mail.
                refused.AddRange(again.Select(r => r with { SmtpCode = 0, Reply = lost.Message, ReplyLost = true }));
                break;
            }
            catch (Exception ex)
            {
                // The earlier transactions delivered: this is no failure of the mail. Whatever
                // stopped this one (connection, timeout, the worker stopping), its recipients are
                // still owed the mail and get it on a later attempt.
                refused.AddRange(again.Select(r => r with { SmtpCode = 0, Reply = $"not sent yet: {ex.Message}" }));
                break;
            }
        }

        return new DeliveryResult(250, string.Join("; ", replies), refused);
    }

    private async Task<DeliveryResult> TransactionAsync(OutgoingMessage message, IReadOnlyList<MailboxAddress> recipients, CancellationToken cancellationToken)
    {
        await message.StartingAsync(cancellationToken).ConfigureAwait(false);
        _client.BeginMessage();
        // Passing a progress makes MailKit measure the message first; the bytes it reports tell
        // whether the whole message had been written when the connection failed.
        var progress = new DataProgress();
        try
        {
            var reply = await _client.SendAsync(FormatOptions.Default, message.Message, message.Sender, recipients, cancellationToken, progress).ConfigureAwait(false);
            return new DeliveryResult(250, reply, _client.TakeRejected());
        }
        catch (SmtpCommandException) when (_client.NoneAccepted)
        {
            var rejected = _client.TakeRejected();
            if (rejected.Count > 0 && rejected.All(r => SmtpThrottling.IsThrottling(r.SmtpCode, r.Reply)))
            {
                // Every recipient was refused only because the account is throttled: not the mail's fault.
                throw new AccountThrottledException($"the server throttles account {Account} ({rejected[0].SmtpCode} {rejected[0].Reply})", null, null);
            }

            throw new AllRecipientsRejectedException(rejected);
        }
        catch (SmtpCommandException ex) when (SmtpThrottling.Recognize(ex, Account) is { } throttled)
        {
            // 432 4.3.2 to MAIL FROM or after the data, 421 4.7.0: the server took nothing.
            throw throttled;
        }
        catch (ServiceNotAuthenticatedException ex)
        {
            // 530 to MAIL FROM or RCPT TO: the account must log in (or use TLS) first; no mail
            // of it can go out until its configuration changes.
            throw new TransportConfigurationException(Dispatch.FailureClassifier.AuthenticationRequiredReason(ex.Message), ex) { SmtpCode = 530 };
        }
        catch (Exception ex) when (ex is not SmtpCommandException && _client.MessageSize > 0 && progress.Transferred >= _client.MessageSize)
        {
            // The whole message is out and no reply says yes or no: whatever went wrong (the
            // connection, a timeout, or this worker stopping), the server may have the mail.
            throw new ReplyLostException(
                $"the exchange failed after the whole message was sent, before the server's reply ({ex.Message}): the server may have accepted it", ex);
        }
    }

    // Without SMTPUTF8 an address must be ASCII but for its domain, which MailKit sends in
    // IDNA form ("xn--..."); a non-ASCII local part has no such form.
    private void RequireSmtpUtf8Where(OutgoingMessage message)
    {
        if (_client.Capabilities.HasFlag(SmtpCapabilities.UTF8))
        {
            return;
        }

        foreach (var mailbox in message.Recipients.Prepend(message.Sender))
        {
            if (!Ascii.IsValid(mailbox.LocalPart))
            {
                throw new UnsendableMailException(
                    $"the server does not offer SMTPUTF8, so it cannot take the address {mailbox.Address} (its part before the @ is not ASCII). Send through a server that offers SMTPUTF8, or use an ASCII address");
            }
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
