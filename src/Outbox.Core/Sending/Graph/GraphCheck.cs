using System.Net;
using System.Net.Http.Headers;
using System.Security.Authentication;
using System.Text.Json;

namespace Outbox.Core.Sending.Graph;

/// <summary>
/// `outbox check graph`: gets the app's token and asks Graph for the mailbox
/// (GET {BaseUrl}/users/{Mailbox}), as the worker's requests would go; never sends a mail.
/// Graph has no request that proves Mail.Send without sending, so the verdict says what is
/// left to the first mail.
/// </summary>
public sealed class GraphCheck(GraphTransport transport)
{
    public static string Verdict(GraphOptions graph, IReadOnlyList<SmtpCheckStep> steps, bool ok)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(steps);
        return ok
            ? $"Graph takes the app's token and knows {graph.Mailbox}; nothing was sent. Whether the app may send as it (Mail.Send, an application access policy; Mail.ReadWrite for mail past 4 MB) shows with the first mail"
            : $"mail would NOT go out: {steps.Last(s => !s.Ok).Detail}";
    }

    public async Task<(IReadOnlyList<SmtpCheckStep> Steps, bool Ok)> RunAsync(CancellationToken cancellationToken)
    {
        var steps = new List<SmtpCheckStep>();
        OAuth.AccessToken token;
        try
        {
            token = await transport.Tokens.GetAsync(cancellationToken).ConfigureAwait(false);
            steps.Add(new("token", true, $"from {transport.Tokens.Describe}, valid until {token.ExpiresOn:u}"));
        }
        catch (TransportConfigurationException ex)
        {
            steps.Add(new("token", false, ex.Message));
            return (Scrubbed(steps), false);
        }

        steps.Add(await MailboxAsync(token, cancellationToken).ConfigureAwait(false));
        return (Scrubbed(steps), steps.All(s => s.Ok));
    }

    private List<SmtpCheckStep> Scrubbed(List<SmtpCheckStep> steps) =>
        steps.Select(step => step with { Detail = transport.Secrets.Scrub(step.Detail)! }).ToList();

    private async Task<SmtpCheckStep> MailboxAsync(OAuth.AccessToken token, CancellationToken cancellationToken)
    {
        var options = transport.Options;
        var key = transport.Key;
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"{transport.MailboxUrl}?$select=id,userPrincipalName"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Value);
        HttpResponseMessage response;
        try
        {
            response = await transport.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex) when (ex.GetBaseException() is AuthenticationException)
        {
            return new("mailbox", false, $"TLS with {request.RequestUri!.Authority} failed ({ex.GetBaseException().Message.TrimEnd('.')}); if a proxy inspects TLS, put its CA in {key}:CaFile");
        }
        catch (HttpRequestException ex)
        {
            return new("mailbox", false, $"could not reach {request.RequestUri!.Authority} ({ex.GetBaseException().Message.TrimEnd('.')}); check {key}:BaseUrl and that this host may reach it");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new("mailbox", false, $"{request.RequestUri!.Authority} did not answer within {options.Timeout} ({key}:Timeout)");
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var name = UserPrincipalName(await GraphReply.ReadBoundedAsync(response.Content, cancellationToken).ConfigureAwait(false));
                return new("mailbox", true, $"{options.BaseUrl} knows {options.Mailbox}{(name is null ? string.Empty : $" (user {Outbox.Core.Text.PrintableText.Escape(name)})")}");
            }

            var reply = await GraphReply.ReadAsync(response, transport.Secrets, cancellationToken).ConfigureAwait(false);
            return reply.Status switch
            {
                // Reading a user takes User.Read.All, which sending does not need: a refusal here says nothing about sending.
                403 => new("mailbox", true, $"the app may not read the user ({reply.Describe}): it needs User.Read.All for that, not for sending, so the mailbox is not confirmed"),
                401 => new("mailbox", false, $"Graph refused the token ({reply.Describe}); check {key}:OAuth2 and that the token is for {options.TokenScope()}"),
                404 => new("mailbox", false, $"Graph has no mailbox {options.Mailbox} ({reply.Describe}); check {key}:Mailbox"),
                _ => new("mailbox", false, $"Graph answered {reply.Describe}"),
            };
        }
    }

    private static string? UserPrincipalName(byte[] body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("userPrincipalName", out var name) && name.ValueKind == JsonValueKind.String
                ? name.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
