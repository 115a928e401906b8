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

    /// <summary>Reads the whole request, then resets the connection: no status ever comes. A draft's /send is sent first (Graph took it; only the reply is lost).</summary>
    ResetAfterBody,

    /// <summary>Reads the whole request, then says nothing until the client gives up.</summary>
    SilentAfterBody,

    /// <summary>400 whose message repeats the client secret, as careless services do.</summary>
    EchoSecret,
}

/// <summary>What the stand-in does with a chunk PUT to an upload URL (see <see cref="TestGraphServer.OnPut"/>).</summary>
public enum UploadFault
{
    /// <summary>429 with Retry-After: 2, the chunk not taken.</summary>
    Throttle,

    /// <summary>400 ErrorInvalidRequest, the chunk not taken.</summary>
    Refuse,

    /// <summary>Reads the chunk, then resets the connection.</summary>
    Reset,
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
/// The draft path too (POST messages, attachments, createUploadSession, the upload URL, send,
/// DELETE): a fileAttachment's JSON and base64; an upload URL used without Authorization (Graph
/// refuses one there: the URL is pre-authenticated) and with its own authtoken; Content-Range
/// "bytes a-b/total" matching the session's size, contiguous with what came before (no gap, no
/// overlap), its length the body's, a multiple of 320 KiB except the last chunk, at most 60 MiB;
/// /send only for a draft whose upload sessions are complete. A sent draft is a
/// <see cref="GraphMail"/> whose message is the draft's MIME with its attachments added.
/// </summary>
public sealed class TestGraphServer : IAsyncDisposable
{
    /// <summary>Graph's request limit.</summary>
    public const long MaxRequestBytes = 4L * 1024 * 1024;

    private readonly WebApplication _app;
    private readonly Func<string, bool> _acceptToken;
    private readonly ConcurrentQueue<GraphBehaviour> _script = new();
    private readonly ConcurrentDictionary<string, TestGraphDraft> _drafts = new();
    private readonly ConcurrentDictionary<string, TestGraphDraft.Upload> _uploads = new();
    private readonly ConcurrentDictionary<int, UploadFault> _putFaults = new();
    private int _requests;
    private int _puts;
    private long _uploadedBytes;
    private int _uploadSessions;
    private int _deletedDrafts;

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

    /// <summary>Every sendMail request and every draft's /send, however it was answered.</summary>
    public int SendRequests => Volatile.Read(ref _requests);

    /// <summary>Called with a sendMail's decoded message before it is answered, whatever the behaviour (to look at the outbox meanwhile).</summary>
    public Func<MimeMessage, Task>? OnSendMail { get; set; }

    /// <summary>DELETE of a draft is read, then never answered.</summary>
    public bool SilentDeletes { get; set; }

    /// <summary>Drafts are refused with 403, as for an app granted Mail.Send but not Mail.ReadWrite.</summary>
    public bool RefuseDrafts { get; set; }

    /// <summary>Called when a draft is asked for, before its body is read (to look at the outbox meanwhile).</summary>
    public Func<Task>? OnCreateDraft { get; set; }

    /// <summary>What the next sendMails do, one behaviour each; Accept when the script is empty.</summary>
    public void Then(params GraphBehaviour[] behaviours)
    {
        foreach (var behaviour in behaviours)
        {
            _script.Enqueue(behaviour);
        }
    }

    /// <summary>Chunk PUTs are counted from 1 over the server's life: the PUT numbered <paramref name="put"/> does <paramref name="fault"/>.</summary>
    public void OnPut(int put, UploadFault fault) => _putFaults[put] = fault;

    /// <summary>Chunk PUTs received, answered or not.</summary>
    public int Puts => Volatile.Read(ref _puts);

    /// <summary>Bytes of attachments taken through upload sessions (chunks answered 200 or 201).</summary>
    public long UploadedBytes => Interlocked.Read(ref _uploadedBytes);

    /// <summary>Upload sessions created.</summary>
    public int UploadSessions => Volatile.Read(ref _uploadSessions);

    /// <summary>Drafts created and neither sent nor deleted.</summary>
    public int DraftsLeft => _drafts.Count;

    /// <summary>Drafts deleted by DELETE .../messages/{id}.</summary>
    public int DraftsDeleted => Volatile.Read(ref _deletedDrafts);

    /// <summary>Where the upload URLs point: Outlook's own host in Graph; here the same server.</summary>
    private string UploadBase => $"https://127.0.0.1:{Port}/upload";

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
        app.MapPost("/v1.0/users/{user}/messages", server.CreateDraftAsync);
        app.MapPost("/v1.0/users/{user}/messages/{id}/attachments", server.AddAttachmentAsync);
        app.MapPost("/v1.0/users/{user}/messages/{id}/attachments/createUploadSession", server.CreateUploadSessionAsync);
        app.MapPut("/upload/{session}", server.PutChunkAsync);
        app.MapPost("/v1.0/users/{user}/messages/{id}/send", server.SendDraftAsync);
        app.MapDelete("/v1.0/users/{user}/messages/{id}", server.DeleteDraftAsync);
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

        var (refused, message) = await ReadMimeAsync(context);
        if (refused is not null)
        {
            return refused.Value;
        }

        if (OnSendMail is { } hook)
        {
            await hook(message!);
        }

        var behaviour = _script.TryDequeue(out var next) ? next : Always;
        if (await RefusedAsync(context, behaviour) is { } refusedBy)
        {
            return refusedBy;
        }

        if (behaviour == GraphBehaviour.ResetAfterBody)
        {
            context.Abort();
            return (0, Results.Empty);
        }

        var requestId = Guid.NewGuid().ToString();
        context.Response.Headers["request-id"] = requestId;
        Received.Enqueue(new GraphMail(RawTarget(context), context.Request.Headers.Authorization.ToString(), context.Request.ContentType!, message!, requestId));
        return (202, Results.StatusCode(202));
    }

    // What a scripted behaviour answers instead of taking the mail (sendMail or a draft's /send); null to take it.
    private async Task<(int, IResult)?> RefusedAsync(HttpContext context, GraphBehaviour behaviour)
    {
        switch (behaviour)
        {
            case GraphBehaviour.Forbid:
                return (403, Error(context, 403, "ErrorAccessDenied", "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."));
            case GraphBehaviour.Throttle:
                context.Response.Headers.RetryAfter = "2";
                return (429, Error(context, 429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit."));
            case GraphBehaviour.Unavailable:
                return (503, Error(context, 503, "ServiceUnavailable", "Service unavailable."));
            case GraphBehaviour.SilentAfterBody:
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return (0, Results.Empty);
            case GraphBehaviour.EchoSecret:
                return (400, Error(context, 400, "ErrorInvalidRequest", $"Bad request from client secret {EchoedSecret}"));
            default:
                return null;
        }
    }

    private static string RawTarget(HttpContext context) => context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;

    // A MIME body as sendMail and a MIME draft take it: at most 4 MB, text/plain, base64 of a message with a sender and a recipient.
    private static async Task<((int, IResult)? Refused, MimeMessage? Message)> ReadMimeAsync(HttpContext context)
    {
        if (context.Request.ContentLength is not { } length || length > MaxRequestBytes)
        {
            return ((413, Error(context, 413, "RequestEntityTooLarge", "The request is larger than 4 MB or has no Content-Length.")), null);
        }

        if (context.Request.ContentType?.Split(';')[0].Trim() != "text/plain")
        {
            // JSON would be a message resource, which this stand-in (like Outbox) does not send.
            return ((415, Error(context, 415, "UnsupportedMediaType", $"Content-Type {context.Request.ContentType} is not text/plain (MIME).")), null);
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
            return ((400, Error(context, 400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")), null);
        }

        if (message.From.Mailboxes.FirstOrDefault() is null || !message.To.Mailboxes.Concat(message.Cc.Mailboxes).Concat(message.Bcc.Mailboxes).Any())
        {
            return ((400, Error(context, 400, "ErrorInvalidRecipients", "At least one recipient is not valid.")), null);
        }

        return (null, message);
    }

    private async Task<IResult> CreateDraftAsync(HttpContext context, string user)
    {
        var (status, result) = Authorize(context, user) ?? await NewDraftAsync(context);
        Log.Enqueue($"POST {context.Request.Path} {status}");
        return result;
    }

    private async Task<(int, IResult)> NewDraftAsync(HttpContext context)
    {
        if (OnCreateDraft is { } hook)
        {
            await hook();
        }

        if (RefuseDrafts)
        {
            return (403, Error(context, 403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."));
        }

        var (refused, message) = await ReadMimeAsync(context);
        if (refused is not null)
        {
            return refused.Value;
        }

        var id = $"AAMkAD{Guid.NewGuid():N}==";
        _drafts[id] = new TestGraphDraft(message!);
        context.Response.Headers["request-id"] = Guid.NewGuid().ToString();
        // Graph answers with the whole message resource, its body included.
        var body = message!.HtmlBody is { } html ? new { contentType = "html", content = html } : new { contentType = "text", content = message.TextBody ?? string.Empty };
        return (201, Results.Json(new Dictionary<string, object> { ["@odata.context"] = $"{BaseUrl}/$metadata#users('{Mailbox}')/messages/$entity", ["@odata.etag"] = "W/\"CQAAABYAAAA\"", ["id"] = id, ["isDraft"] = true, ["subject"] = message.Subject ?? string.Empty, ["body"] = body }, statusCode: 201));
    }

    private async Task<IResult> AddAttachmentAsync(HttpContext context, string user, string id)
    {
        var (status, result) = Authorize(context, user) ?? DraftOf(context, id, out var draft) ?? await NewFileAttachmentAsync(context, draft!);
        Log.Enqueue($"POST {context.Request.Path} {status}");
        return result;
    }

    private static async Task<(int, IResult)> NewFileAttachmentAsync(HttpContext context, TestGraphDraft draft)
    {
        if (context.Request.ContentLength is not { } length || length > MaxRequestBytes)
        {
            return (413, Error(context, 413, "RequestEntityTooLarge", "The request is larger than 4 MB or has no Content-Length."));
        }

        try
        {
            using var json = await System.Text.Json.JsonDocument.ParseAsync(context.Request.Body);
            var root = json.RootElement;
            if (root.GetProperty("@odata.type").GetString() != "#microsoft.graph.fileAttachment")
            {
                return (400, Error(context, 400, "ErrorInvalidRequest", "@odata.type is not #microsoft.graph.fileAttachment."));
            }

            draft.Attach(
                root.GetProperty("name").GetString()!,
                root.GetProperty("contentType").GetString()!,
                root.TryGetProperty("isInline", out var inline) && inline.GetBoolean(),
                root.TryGetProperty("contentId", out var contentId) ? contentId.GetString() : null,
                Convert.FromBase64String(root.GetProperty("contentBytes").GetString()!));
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return (400, Error(context, 400, "ErrorInvalidRequest", "The fileAttachment is not valid JSON with name, contentType and base64 contentBytes."));
        }

        return (201, Results.Json(new { id = Guid.NewGuid().ToString() }, statusCode: 201));
    }

    private async Task<IResult> CreateUploadSessionAsync(HttpContext context, string user, string id)
    {
        var (status, result) = Authorize(context, user) ?? DraftOf(context, id, out var draft) ?? await NewUploadSessionAsync(context, draft!);
        Log.Enqueue($"POST {context.Request.Path} {status}");
        return result;
    }

    private async Task<(int, IResult)> NewUploadSessionAsync(HttpContext context, TestGraphDraft draft)
    {
        TestGraphDraft.Upload upload;
        try
        {
            using var json = await System.Text.Json.JsonDocument.ParseAsync(context.Request.Body);
            var item = json.RootElement.GetProperty("AttachmentItem");
            var size = item.GetProperty("size").GetInt64();
            if (item.GetProperty("attachmentType").GetString() != "file" || size is <= 0 or > 150L * 1024 * 1024)
            {
                return (400, Error(context, 400, "ErrorInvalidRequest", "attachmentType must be file and size between 1 byte and 150 MB."));
            }

            upload = draft.StartUpload(
                item.GetProperty("name").GetString()!,
                item.TryGetProperty("contentType", out var type) ? type.GetString()! : "application/octet-stream",
                item.TryGetProperty("isInline", out var inline) && inline.GetBoolean(),
                item.TryGetProperty("contentId", out var contentId) ? contentId.GetString() : null,
                size);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return (400, Error(context, 400, "ErrorInvalidRequest", "AttachmentItem needs attachmentType, name and size."));
        }

        var session = Guid.NewGuid().ToString("N");
        _uploads[session] = upload;
        Interlocked.Increment(ref _uploadSessions);
        return (201, Results.Json(new
        {
            uploadUrl = $"{UploadBase}/{session}?authtoken={upload.Token}",
            expirationDateTime = DateTimeOffset.UtcNow.AddMinutes(15),
            nextExpectedRanges = new[] { "0-" },
        }, statusCode: 201));
    }

    private async Task<IResult> PutChunkAsync(HttpContext context, string session)
    {
        var put = Interlocked.Increment(ref _puts);
        var (status, result) = await ChunkAsync(context, session, _putFaults.TryRemove(put, out var fault) ? fault : null);
        Log.Enqueue($"PUT /upload/{session} {status} {context.Request.Headers.ContentRange}");
        return result;
    }

    private async Task<(int, IResult)> ChunkAsync(HttpContext context, string session, UploadFault? fault)
    {
        if (context.Request.Headers.Authorization.Count > 0)
        {
            return (401, Error(context, 401, "InvalidAuthenticationToken", "The upload URL is pre-authenticated: a request with an Authorization header is refused."));
        }

        if (!_uploads.TryGetValue(session, out var upload) || context.Request.Query["authtoken"] != upload.Token)
        {
            return (404, Error(context, 404, "ErrorItemNotFound", "No upload session for this URL and authtoken."));
        }

        var range = System.Net.Http.Headers.ContentRangeHeaderValue.TryParse(context.Request.Headers.ContentRange.ToString(), out var parsed) ? parsed : null;
        if (range is not { Unit: "bytes", From: { } from, To: { } to, Length: { } total } || context.Request.ContentLength is not { } length)
        {
            return (400, Error(context, 400, "ErrorInvalidRequest", "Content-Range must be bytes {start}-{end}/{total}, with Content-Length."));
        }

        var last = to == total - 1;
        var problem =
            total != upload.Size ? $"the total {total} is not the session's size {upload.Size}"
            : from != upload.Received ? $"the range starts at {from}, not at {upload.Received} where the last one ended"
            : to < from || to >= total ? $"the range {from}-{to} is not inside 0-{total - 1}"
            : to - from + 1 != length ? $"the range holds {to - from + 1} bytes but Content-Length is {length}"
            : length > 60L * 1024 * 1024 ? "a chunk is at most 60 MiB"
            : !last && length % (320 * 1024) != 0 ? $"a chunk of {length} bytes is not a multiple of 320 KiB and not the last"
            : null;
        if (problem is not null)
        {
            return (416, Error(context, 416, "ErrorInvalidRange", $"Content-Range {context.Request.Headers.ContentRange}: {problem}."));
        }

        var chunk = new byte[length];
        await context.Request.Body.ReadExactlyAsync(chunk);
        switch (fault)
        {
            case UploadFault.Throttle:
                context.Response.Headers.RetryAfter = "2";
                return (429, Error(context, 429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit."));
            case UploadFault.Refuse:
                return (400, Error(context, 400, "ErrorInvalidRequest", "The upload session refused the chunk."));
            case UploadFault.Reset:
                context.Abort();
                return (0, Results.Empty);
        }

        upload.Add(chunk);
        Interlocked.Add(ref _uploadedBytes, length);
        if (!last)
        {
            return (200, Results.Json(new { nextExpectedRanges = new[] { $"{upload.Received}-" } }));
        }

        context.Response.Headers.Location = $"https://127.0.0.1:{Port}/v1.0/users/{Mailbox}/messages/draft/attachments/{Guid.NewGuid()}";
        return (201, Results.StatusCode(201));
    }

    private async Task<IResult> SendDraftAsync(HttpContext context, string user, string id)
    {
        Interlocked.Increment(ref _requests);
        var (status, result) = Authorize(context, user) ?? DraftOf(context, id, out var draft) ?? await SendAsync(context, id, draft!);
        Log.Enqueue($"POST {context.Request.Path} {status}");
        return result;
    }

    private async Task<(int, IResult)> SendAsync(HttpContext context, string id, TestGraphDraft draft)
    {
        if (draft.Incomplete is { } incomplete)
        {
            return (400, Error(context, 400, "ErrorInvalidRequest", $"The upload of attachment {incomplete} is not complete."));
        }

        var message = draft.Assemble();
        if (OnSendMail is { } hook)
        {
            await hook(message);
        }

        var behaviour = _script.TryDequeue(out var next) ? next : Always;
        if (await RefusedAsync(context, behaviour) is { } refused)
        {
            return refused;
        }

        _drafts.TryRemove(id, out _);
        var requestId = Guid.NewGuid().ToString();
        Received.Enqueue(new GraphMail(RawTarget(context), context.Request.Headers.Authorization.ToString(), "text/plain", message, requestId));
        if (behaviour == GraphBehaviour.ResetAfterBody)
        {
            context.Abort();
            return (0, Results.Empty);
        }

        context.Response.Headers["request-id"] = requestId;
        return (202, Results.StatusCode(202));
    }

    private async Task<IResult> DeleteDraftAsync(HttpContext context, string user, string id)
    {
        if (SilentDeletes)
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return Results.Empty;
        }

        var (status, result) = Authorize(context, user) ?? DraftOf(context, id, out _) ?? (204, (IResult)Results.NoContent());
        if (status == 204)
        {
            _drafts.TryRemove(id, out _);
            Interlocked.Increment(ref _deletedDrafts);
        }

        Log.Enqueue($"DELETE {context.Request.Path} {status}");
        return result;
    }

    private (int, IResult)? DraftOf(HttpContext context, string id, out TestGraphDraft? draft) =>
        _drafts.TryGetValue(id, out draft) ? null : (404, Error(context, 404, "ErrorItemNotFound", "The specified object was not found in the store."));

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
