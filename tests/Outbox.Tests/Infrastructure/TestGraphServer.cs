using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace Outbox.Tests.Infrastructure;

/// <summary>What the stand-in does with the next sendMail that passes its checks.</summary>
public enum GraphBehaviour
{
    /// <summary>202 Accepted with a request-id.</summary>
    Accept,

    /// <summary>403 ErrorAccessDenied: the app lacks Mail.Send, or an application access policy leaves the mailbox out.</summary>
    Forbid,

    /// <summary>429 with Retry-After, as Graph throttles a mailbox.</summary>
    Throttle,

    /// <summary>503 without Retry-After: the service cannot serve.</summary>
    Unavailable,

    /// <summary>Reads the whole request, then resets the connection: no status ever comes.</summary>
    ResetAfterBody,

    /// <summary>Reads the whole request, then says nothing until the client gives up.</summary>
    SilentAfterBody,

    /// <summary>400 whose message repeats the client secret, as careless services do.</summary>
    EchoSecret,
}

/// <summary>A sendMail that Graph would have taken: the request's parts (Path as sent, not decoded) and the MIME message decoded from its body.</summary>
public sealed record GraphMail(string Path, string Authorization, string ContentType, MimeMessage Message, string RequestId);

/// <summary>
/// A stand-in for Microsoft Graph's sendMail and user endpoints over HTTPS on loopback
/// (certificate from the test CA), in Kestrel. It checks the contract Microsoft documents and
/// refuses what Graph would: a missing or foreign bearer token (401 InvalidAuthenticationToken),
/// an unknown mailbox (404 ErrorInvalidUser), a body that is not text/plain (415), not base64 or
/// not MIME (400 ErrorMimeContentInvalidBase64String), a request over 4 MB (413). Each response
/// carries a request-id header, as Graph's do.
/// </summary>
public sealed class TestGraphServer : IAsyncDisposable
{
    /// <summary>Graph's request limit.</summary>
    public const long MaxRequestBytes = 4L * 1024 * 1024;

    private readonly WebApplication _app;
    private readonly Func<string, bool> _acceptToken;
    private readonly ConcurrentQueue<GraphBehaviour> _script = new();
    private int _requests;

    private TestGraphServer(WebApplication app, string mailbox, Func<string, bool> acceptToken)
    {
        _app = app;
        Mailbox = mailbox;
        _acceptToken = acceptToken;
    }

    public string Mailbox { get; }

    public int Port { get; private set; }

    /// <summary>What Outbox:Graph:BaseUrl points at.</summary>
    public string BaseUrl => $"https://127.0.0.1:{Port}/v1.0";

    /// <summary>The mails accepted (202), in order.</summary>
    public ConcurrentQueue<GraphMail> Received { get; } = new();

    /// <summary>Every request, accepted or not: "METHOD path status".</summary>
    public ConcurrentQueue<string> Log { get; } = new();

    /// <summary>Every sendMail request, however it was answered.</summary>
    public int SendRequests => Volatile.Read(ref _requests);

    /// <summary>Called with a sendMail's decoded message before it is answered, whatever the behaviour (to look at the outbox meanwhile).</summary>
    public Func<MimeMessage, Task>? OnSendMail { get; set; }

    /// <summary>What the next sendMails do, one behaviour each; Accept when the script is empty.</summary>
    public void Then(params GraphBehaviour[] behaviours)
    {
        foreach (var behaviour in behaviours)
        {
            _script.Enqueue(behaviour);
        }
    }

    /// <summary>What <see cref="GraphBehaviour.EchoSecret"/> repeats.</summary>
    public string EchoedSecret { get; set; } = string.Empty;

    /// <summary>From now on every sendMail does this.</summary>
    public GraphBehaviour Always { get; set; } = GraphBehaviour.Accept;

    /// <param name="acceptToken">Which bearer tokens are valid (those the test token server issued).</param>
    public static async Task<TestGraphServer> StartAsync(string mailbox, Func<string, bool> acceptToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var certificate = TestCertificates.Server();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate));
            kestrel.Limits.MaxRequestBodySize = 64L * 1024 * 1024;
        });
        var app = builder.Build();
        var server = new TestGraphServer(app, mailbox, acceptToken);
        app.MapPost("/v1.0/users/{user}/sendMail", server.SendMailAsync);
        app.MapGet("/v1.0/users/{user}", server.GetUser);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.Port = new Uri(address).Port;
        return server;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private IResult GetUser(HttpContext context, string user)
    {
        var refusal = Authorize(context, user);
        Log.Enqueue($"GET {context.Request.Path} {refusal?.Status ?? 200}");
        if (refusal is not null)
        {
            return refusal.Value.Result;
        }

        if (Always == GraphBehaviour.Forbid)
        {
            return Error(context, 403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.");
        }

        context.Response.Headers["request-id"] = Guid.NewGuid().ToString();
        return Results.Json(new { id = "5b1f0c36-0000-4000-8000-000000000001", userPrincipalName = Mailbox, mail = Mailbox });
    }

    private async Task<IResult> SendMailAsync(HttpContext context, string user)
    {
        Interlocked.Increment(ref _requests);
        var (status, result) = await AnswerAsync(context, user);
        Log.Enqueue($"POST {context.Request.Path} {status}");
        return result;
    }

    private async Task<(int Status, IResult Result)> AnswerAsync(HttpContext context, string user)
    {
        if (Authorize(context, user) is { } refusal)
        {
            return refusal;
        }

        if (context.Request.ContentLength is not { } length || length > MaxRequestBytes)
        {
            return (413, Error(context, 413, "RequestEntityTooLarge", "The request is larger than 4 MB or has no Content-Length."));
        }

        if (context.Request.ContentType?.Split(';')[0].Trim() != "text/plain")
        {
            // JSON would be a message resource, which this stand-in (like Outbox) does not send.
            return (415, Error(context, 415, "UnsupportedMediaType", $"Content-Type {context.Request.ContentType} is not text/plain (MIME)."));
        }

        using var reader = new StreamReader(context.Request.Body);
        var text = await reader.ReadToEndAsync();
        MimeMessage message;
        try
        {
            using var mime = new MemoryStream(Convert.FromBase64String(text));
            message = await MimeMessage.LoadAsync(mime);
        }
        catch (Exception ex) when (ex is FormatException or ParseException)
        {
            return (400, Error(context, 400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."));
        }

        if (message.From.Mailboxes.FirstOrDefault() is null || !message.To.Mailboxes.Concat(message.Cc.Mailboxes).Concat(message.Bcc.Mailboxes).Any())
        {
            return (400, Error(context, 400, "ErrorInvalidRecipients", "At least one recipient is not valid."));
        }

        if (OnSendMail is { } hook)
        {
            await hook(message);
        }

        var behaviour = _script.TryDequeue(out var next) ? next : Always;
        switch (behaviour)
        {
            case GraphBehaviour.Forbid:
                return (403, Error(context, 403, "ErrorAccessDenied", "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."));
            case GraphBehaviour.Throttle:
                context.Response.Headers.RetryAfter = "2";
                return (429, Error(context, 429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit."));
            case GraphBehaviour.Unavailable:
                return (503, Error(context, 503, "ServiceUnavailable", "Service unavailable."));
            case GraphBehaviour.ResetAfterBody:
                context.Abort();
                return (0, Results.Empty);
            case GraphBehaviour.SilentAfterBody:
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return (0, Results.Empty);
            case GraphBehaviour.EchoSecret:
                return (400, Error(context, 400, "ErrorInvalidRequest", $"Bad request from client secret {EchoedSecret}"));
        }

        var requestId = Guid.NewGuid().ToString();
        context.Response.Headers["request-id"] = requestId;
        Received.Enqueue(new GraphMail(context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget, context.Request.Headers.Authorization.ToString(), context.Request.ContentType!, message, requestId));
        return (202, Results.StatusCode(202));
    }

    // Graph's own order: the token first (401), then the mailbox (404).
    private (int Status, IResult Result)? Authorize(HttpContext context, string user)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal) || !_acceptToken(header["Bearer ".Length..]))
        {
            return (401, Error(context, 401, "InvalidAuthenticationToken", "Access token is empty or invalid."));
        }

        if (!string.Equals(user, Mailbox, StringComparison.OrdinalIgnoreCase))
        {
            return (404, Error(context, 404, "ErrorInvalidUser", $"The requested user '{user}' is invalid."));
        }

        return null;
    }

    private static IResult Error(HttpContext context, int status, string code, string message)
    {
        var requestId = Guid.NewGuid().ToString();
        context.Response.Headers["request-id"] = requestId;
        return Results.Json(new { error = new { code, message, innerError = new { date = DateTimeOffset.UtcNow, requestId } } }, statusCode: status);
    }
}
