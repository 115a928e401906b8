using System.Net;
using System.Net.Http.Headers;
using System.Security.Authentication;
using MimeKit;
using Outbox.Core.Messages;

namespace Outbox.Core.Sending.Graph;

/// <summary>Sends each mail with one sendMail request; every request stands alone, so the session never wears out.</summary>
internal sealed class GraphSession(GraphTransport transport) : IMailSession
{
    // Graph sends Retry-After with its 429s; should one come without, this is waited.
    private static readonly TimeSpan ThrottledWithoutRetryAfter = TimeSpan.FromSeconds(30);

    public bool IsConnected => true;

    public bool CanSendMore => true;

    public string Account => transport.Account;

    public async Task<DeliveryResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var bcc = BlindRecipients(message);
        var token = await transport.Tokens.GetAsync(cancellationToken).ConfigureAwait(false);

        // Graph reads the recipients from the MIME headers, so the Bcc recipients (in the envelope
        // only, for SMTP) go in a Bcc header for this request; Exchange keeps it from the receivers.
        message.Message.Bcc.AddRange(bcc);
        try
        {
            var format = Format();
            var size = await MessageMeasure.MeasureAsync(format, message.Message, cancellationToken).ConfigureAwait(false);
            using var content = new MimeBase64Content(message.Message, format, size);
            var length = MimeBase64Content.Base64Length(size);
            if (length > GraphTransport.MaxRequestBytes)
            {
                throw new MessageTooLargeException(
                    $"the message is {size:N0} bytes, {length:N0} in base64, but Microsoft Graph's sendMail takes at most {GraphTransport.MaxRequestBytes:N0} bytes a request (4 MB); nothing was sent. "
                    + "Make the attachments smaller, send them as links, or send this mail through an SMTP account");
            }

            await message.StartingAsync(cancellationToken).ConfigureAwait(false);
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"{transport.MailboxUrl}/sendMail")) { Content = content };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Value);
            using var response = await PostAsync(request, content, cancellationToken).ConfigureAwait(false);
            var reply = await ReadReplyAsync(response, cancellationToken).ConfigureAwait(false);
            return Outcome(reply);
        }
        finally
        {
            foreach (var added in bcc)
            {
                message.Message.Bcc.Remove(added);
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    // The message as SMTP would carry it (CR LF), with the Bcc header kept for Graph.
    private static FormatOptions Format()
    {
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        format.HiddenHeaders.Add(HeaderId.ContentLength);
        format.HiddenHeaders.Add(HeaderId.ResentBcc);
        return format;
    }

    // A MIME sendMail goes to every address in To, Cc and Bcc: when some of them already have
    // the mail (an SMTP attempt delivered to them), Graph would send it to them again.
    private static List<MailboxAddress> BlindRecipients(OutgoingMessage message)
    {
        var owed = message.Recipients.Select(r => r.Address).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var headers = message.Message.To.Mailboxes.Concat(message.Message.Cc.Mailboxes).ToList();
        if (headers.FirstOrDefault(h => !owed.Contains(h.Address)) is { } delivered)
        {
            throw new UnsendableMailException(
                $"{delivered.Address} already has this mail and Microsoft Graph sends a MIME message to every address in its To and Cc headers, so it cannot go to the others alone. Route this mail's profile through an SMTP account, or send it anew to the recipients left");
        }

        // A raw mail may carry its own Bcc header: those addresses are there already.
        var inHeaders = headers.Concat(message.Message.Bcc.Mailboxes).Select(h => h.Address).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return message.Recipients.Where(r => !inHeaders.Contains(r.Address)).ToList();
    }

    private async Task<HttpResponseMessage> PostAsync(HttpRequestMessage request, MimeBase64Content content, CancellationToken cancellationToken)
    {
        var where = request.RequestUri!.Authority;
        try
        {
            return await transport.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (content.Sent && ex is HttpRequestException or OperationCanceledException)
        {
            // The whole request is out and no status says yes or no: whatever went wrong (the
            // connection, the timeout, this worker stopping), Graph may have taken the mail.
            throw new ReplyLostException(
                $"the connection to {where} failed after the whole request was sent, before Graph's reply ({Reason(ex, cancellationToken)}): Graph may have accepted the mail", ex);
        }
        catch (HttpRequestException ex) when (ex.GetBaseException() is AuthenticationException)
        {
            throw new TransportConfigurationException(
                $"TLS with {where} failed ({ex.GetBaseException().Message.TrimEnd('.')}). If a proxy inspects TLS, put its CA in {transport.Key}:CaFile; check {transport.Key}:BaseUrl", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new GraphUnavailableException($"could not reach Microsoft Graph at {where} ({ex.GetBaseException().Message.TrimEnd('.')}); nothing was sent. Check {transport.Key}:BaseUrl and that this host may reach it", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new GraphUnavailableException($"{where} did not take the request within {transport.Options.Timeout} ({transport.Key}:Timeout); nothing was sent", ex);
        }
    }

    private string Reason(Exception ex, CancellationToken cancellationToken) =>
        ex is OperationCanceledException
            ? cancellationToken.IsCancellationRequested ? "the worker is stopping" : $"no reply within {transport.Options.Timeout}, {transport.Key}:Timeout"
            : ex.GetBaseException().Message.TrimEnd('.');

    private async Task<GraphReply> ReadReplyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return await GraphReply.ReadAsync(response, transport.Secrets, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // The status came; an error body that breaks off tells no more than the status.
            return new GraphReply((int)response.StatusCode, null, null, null, null);
        }
    }

    private DeliveryResult Outcome(GraphReply reply)
    {
        var options = transport.Options;
        var key = transport.Key;
        switch (reply.Status)
        {
            case >= 200 and < 300:
                return new DeliveryResult(reply.Status, $"{reply.Status} Accepted{(reply.RequestId is null ? string.Empty : $" (request-id {reply.RequestId})")}", []);
            case (int)HttpStatusCode.Unauthorized:
                throw new TransportConfigurationException(
                    $"Microsoft Graph refused the token ({reply.Describe}). The token came from {transport.Tokens.Describe}; check {key}:OAuth2 (TenantId, ClientId, the secret or certificate) and that the token is for {options.TokenScope()}");
            case (int)HttpStatusCode.Forbidden:
                throw new TransportConfigurationException(
                    $"Microsoft Graph does not let the app send as {options.Mailbox} ({reply.Describe}). Grant the app the application permission Mail.Send (Microsoft Graph) with admin consent; "
                    + $"if an application access policy limits its mailboxes, add {options.Mailbox} to the policy's group");
            case (int)HttpStatusCode.NotFound:
                throw new TransportConfigurationException(
                    $"Microsoft Graph has no mailbox {options.Mailbox} ({reply.Describe}). Check {key}:Mailbox (a user principal name or object id of a user with an Exchange Online mailbox) and {key}:BaseUrl");
            case (int)HttpStatusCode.RequestEntityTooLarge:
                throw new MessageTooLargeException($"Microsoft Graph refused the message as too large ({reply.Describe}); nothing was sent. Make the attachments smaller or send them as links");
            case (int)HttpStatusCode.TooManyRequests:
            case (int)HttpStatusCode.ServiceUnavailable when reply.RetryAfter is not null:
                var wait = reply.RetryAfter ?? ThrottledWithoutRetryAfter;
                throw new RateLimitedException($"Microsoft Graph throttles mailbox {options.Mailbox} ({reply.Describe}); waiting {wait:hh\\:mm\\:ss} as it asks", wait);
            case (int)HttpStatusCode.BadGateway or (int)HttpStatusCode.ServiceUnavailable or (int)HttpStatusCode.GatewayTimeout:
                throw new GraphUnavailableException($"Microsoft Graph cannot serve now ({reply.Describe}); nothing was sent");
            default:
                throw new GraphRefusedException(reply.Status, $"Microsoft Graph refused the mail ({reply.Describe})");
        }
    }
}
