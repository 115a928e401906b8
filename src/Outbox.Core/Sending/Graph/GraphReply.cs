using System.Net;
using System.Text.Json;

namespace Outbox.Core.Sending.Graph;

/// <summary>
/// What Graph answered, bounded: the status, its error code and message (from the JSON body
/// {"error":{"code","message"}}), the request-id header Microsoft support asks for, and how long
/// to wait when it throttles. Everything is cut to a size and made printable before use.
/// </summary>
internal sealed record GraphReply(int Status, string? Code, string? Message, string? RequestId, TimeSpan? RetryAfter)
{
    /// <summary>An error body is a few hundred bytes; more is not read.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>A Retry-After beyond this is taken as this: a mistaken header must not park mail for days.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(1);

    private const int MaxCodeLength = 100;
    private const int MaxMessageLength = 400;
    private const int MaxRequestIdLength = 100;

    /// <summary>"HTTP 403 ErrorAccessDenied: Access is denied. (request-id 1234)".</summary>
    public string Describe
    {
        get
        {
            var what = Code is null ? $"HTTP {Status}" : $"HTTP {Status} {Code}";
            var message = string.IsNullOrEmpty(Message) ? string.Empty : $": {Message.TrimEnd('.')}";
            var id = RequestId is null ? string.Empty : $" (request-id {RequestId})";
            return what + message + id;
        }
    }

    public static async Task<GraphReply> ReadAsync(HttpResponseMessage response, Secrets.SecretScrubber secrets, CancellationToken cancellationToken)
    {
        var requestId = response.Headers.TryGetValues("request-id", out var ids) ? Bound(ids.FirstOrDefault(), MaxRequestIdLength) : null;
        TimeSpan? retryAfter = response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow,
            _ => null,
        };
        if (retryAfter is { } wait)
        {
            retryAfter = wait < TimeSpan.Zero ? TimeSpan.Zero : wait > MaxRetryAfter ? MaxRetryAfter : wait;
        }

        var status = (int)response.StatusCode;
        if (response.StatusCode == HttpStatusCode.Accepted)
        {
            return new GraphReply(status, null, null, requestId, retryAfter);
        }

        var (code, message) = ParseError(await ReadBoundedAsync(response.Content, cancellationToken).ConfigureAwait(false));
        return new GraphReply(status, Bound(code, MaxCodeLength), Bound(secrets.Scrub(message), MaxMessageLength), requestId, retryAfter);
    }

    internal static async Task<byte[]> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[MaxBodyBytes];
            var read = 0;
            while (read < buffer.Length)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            return buffer[..read];
        }
    }

    private static (string? Code, string? Message) ParseError(byte[] body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                return (Text(error, "code"), Text(error, "message"));
            }
        }
        catch (JsonException)
        {
            // Not Graph's JSON (a proxy's HTML page, or a body cut at the limit): the status is all there is.
        }

        return (null, null);
    }

    private static string? Text(JsonElement error, string name) =>
        error.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string? Bound(string? text, int length)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var printable = Outbox.Core.Text.PrintableText.Escape(text.ReplaceLineEndings(" ").Trim());
        return printable.Length <= length ? printable : printable[..length] + "…";
    }
}
