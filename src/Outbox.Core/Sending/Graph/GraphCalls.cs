using System.Net;
using System.Net.Http.Headers;
using System.Security.Authentication;

namespace Outbox.Core.Sending.Graph;

/// <summary>
/// One request to Graph (or to an upload URL) and what its failures mean: a failure before any
/// status is the connection's (Graph unreachable, TLS, the timeout) unless the mail may already
/// have gone with it, which is then a lost reply; a status is classified as SMTP replies are.
/// </summary>
internal sealed class GraphCalls(GraphTransport transport)
{
    // Graph sends Retry-After with its 429s; should one come without, this is waited.
    private static readonly TimeSpan ThrottledWithoutRetryAfter = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Sends the request, with the app's bearer token unless it goes to a pre-authenticated
    /// upload URL (which refuses one). <paramref name="mailMayHaveGone"/> says, for a failure
    /// without a status, whether Graph may have sent the mail by then.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, bool bearer, Func<Exception, bool> mailMayHaveGone, CancellationToken cancellationToken)
    {
        if (bearer)
        {
            var token = await transport.Tokens.GetAsync(cancellationToken).ConfigureAwait(false);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Value);
        }

        var where = request.RequestUri!.Authority;
        try
        {
            return await transport.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && mailMayHaveGone(ex))
        {
            // No status says yes or no: whatever went wrong (the connection, the timeout, this
            // worker stopping), Graph may have taken the mail.
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

    /// <summary>
    /// The reply's status, error and request-id, read bounded, the transport's secrets (and
    /// <paramref name="secrets"/>) scrubbed; a body that breaks off tells no more than the status.
    /// </summary>
    public async Task<GraphReply> ReadReplyAsync(HttpResponseMessage response, CancellationToken cancellationToken, Secrets.SecretScrubber? secrets = null)
    {
        try
        {
            var scrubber = secrets is null ? transport.Secrets : Secrets.SecretScrubber.Combine([transport.Secrets, secrets]);
            return await GraphReply.ReadAsync(response, scrubber, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new GraphReply((int)response.StatusCode, null, null, null, null);
        }
    }

    /// <summary>
    /// What a status other than the step's success means, as an exception to throw.
    /// <paramref name="permission"/> is the application permission the step needs (Mail.Send,
    /// or Mail.ReadWrite for a draft and its attachments).
    /// </summary>
    public Exception Refusal(GraphReply reply, string permission)
    {
        var options = transport.Options;
        var key = transport.Key;
        switch (reply.Status)
        {
            case (int)HttpStatusCode.Unauthorized when permission != UploadUrl:
                return new TransportConfigurationException(
                    $"Microsoft Graph refused the token ({reply.Describe}). The token came from {transport.Tokens.Describe}; check {key}:OAuth2 (TenantId, ClientId, the secret or certificate) and that the token is for {options.TokenScope()}");
            case (int)HttpStatusCode.Forbidden when permission != UploadUrl:
                return new TransportConfigurationException(
                    $"Microsoft Graph does not let the app {(permission == MailSend ? "send" : "write drafts")} as {options.Mailbox} ({reply.Describe}). Grant the app the application permission {permission} (Microsoft Graph) with admin consent; "
                    + $"if an application access policy limits its mailboxes, add {options.Mailbox} to the policy's group");
            case (int)HttpStatusCode.NotFound when permission != UploadUrl:
                return new TransportConfigurationException(
                    $"Microsoft Graph has no mailbox {options.Mailbox} ({reply.Describe}). Check {key}:Mailbox (a user principal name or object id of a user with an Exchange Online mailbox) and {key}:BaseUrl");
            case (int)HttpStatusCode.RequestEntityTooLarge:
                return new MessageTooLargeException($"Microsoft Graph refused the message as too large ({reply.Describe}); nothing was sent. Make the attachments smaller or send them as links");
            case (int)HttpStatusCode.TooManyRequests:
            case (int)HttpStatusCode.ServiceUnavailable when reply.RetryAfter is not null:
                var wait = reply.RetryAfter ?? ThrottledWithoutRetryAfter;
                return new RateLimitedException($"Microsoft Graph throttles mailbox {options.Mailbox} ({reply.Describe}); waiting {wait:hh\\:mm\\:ss} as it asks", wait);
            case (int)HttpStatusCode.BadGateway or (int)HttpStatusCode.ServiceUnavailable or (int)HttpStatusCode.GatewayTimeout:
                return new GraphUnavailableException($"Microsoft Graph cannot serve now ({reply.Describe}); nothing was sent");
            default:
                return new GraphRefusedException(reply.Status, $"Microsoft Graph refused the mail ({reply.Describe})");
        }
    }

    /// <summary>The permission sendMail and a draft's send need.</summary>
    public const string MailSend = "Mail.Send";

    /// <summary>The permission creating a draft and adding its attachments needs.</summary>
    public const string MailReadWrite = "Mail.ReadWrite";

    /// <summary>Not a permission: the pre-authenticated upload URL, where 401, 403 and 404 are about the upload session, not the app.</summary>
    public const string UploadUrl = "the upload URL";

    private string Reason(Exception ex, CancellationToken cancellationToken) =>
        ex is OperationCanceledException
            ? cancellationToken.IsCancellationRequested ? "the worker is stopping" : $"no reply within {transport.Options.Timeout}, {transport.Key}:Timeout"
            : ex.GetBaseException().Message.TrimEnd('.');
}
