using System.Text;
using System.Text.RegularExpressions;
using Outbox.Core.Messages;

namespace Outbox.Core.Validation;

/// <summary>
/// The extra headers a caller may add to a mail (List-Unsubscribe, X-Campaign, ...), checked as
/// outbox.check_headers (PostgreSQL) and OUTBOX_MAIL.check_headers (Oracle) check them: a name
/// as RFC 5322 allows (printable ASCII but ":"), none the worker writes itself, a value of one
/// line, each line at most 998 characters and all of them at most 4000 bytes. Stored as one text,
/// "Name: value" per line.
/// </summary>
public static partial class MailHeaderRules
{
    /// <summary>The most a mail's extra headers take, in UTF-8 bytes as stored (one Oracle VARCHAR2).</summary>
    public const int MaxBytes = 4000;

    /// <summary>The longest header line, "Name: value", in characters (RFC 5322's line limit).</summary>
    public const int MaxLineChars = 998;

    /// <summary>The longest header name, in characters.</summary>
    public const int MaxNameChars = 76;

    private const string Field = "headers";

    // The headers the worker writes from the mail's own fields, or the server adds; a second
    // one from the caller would contradict them. Content-* and Resent-* as prefixes.
    private static readonly HashSet<string> Owned = new(StringComparer.OrdinalIgnoreCase)
    {
        "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "MIME-Version",
        "X-Priority", "Return-Path", "Received", "DKIM-Signature",
    };

    private static readonly string[] OwnedPrefixes = ["Content-", "Resent-"];

    /// <summary>
    /// Checks the headers and returns them as stored ("Name: value" lines joined by LF), or null
    /// when there are none. Throws <see cref="MailValidationException"/> naming the header at fault.
    /// </summary>
    public static string? Normalize(IEnumerable<MailHeader>? headers)
    {
        if (headers is null)
        {
            return null;
        }

        var lines = new List<string>();
        foreach (var header in headers)
        {
            ArgumentNullException.ThrowIfNull(header);
            lines.Add(Check(header.Name, header.Value));
        }

        if (lines.Count == 0)
        {
            return null;
        }

        var text = string.Join('\n', lines);
        var bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > MaxBytes)
        {
            throw new MailValidationException(Field, $"are {bytes} bytes in all, more than the {MaxBytes} allowed",
                "Send fewer or shorter headers");
        }

        return text;
    }

    /// <summary>One "Name: value" as given on a command line (--header); the value is what follows the first colon.</summary>
    public static MailHeader ParseLine(string field, string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var colon = line.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new MailValidationException(field, $"\"{Shown(line)}\" is not a header", "Write it as \"Name: value\", e.g. \"List-Unsubscribe: <https://example.com/u/42>\"");
        }

        return new MailHeader(line[..colon].Trim(), line[(colon + 1)..]);
    }

    /// <summary>The headers as stored, for the worker: each line split at its first colon.</summary>
    public static IReadOnlyList<MailHeader> Parse(string? stored) =>
        string.IsNullOrEmpty(stored)
            ? []
            : stored.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split(':', 2))
                .Where(parts => parts.Length == 2)
                .Select(parts => new MailHeader(parts[0], parts[1].Trim(' ')))
                .ToList();

    private static string Check(string? name, string? value)
    {
        if (name is null || !HeaderName().IsMatch(name))
        {
            throw new MailValidationException(Field, $"\"{Shown(name)}\" is not a header name",
                $"Use 1 to {MaxNameChars} printable ASCII characters without spaces or a colon, e.g. List-Unsubscribe or X-Campaign");
        }

        if (Owned.Contains(name) || OwnedPrefixes.Any(p => name.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
        {
            throw new MailValidationException(Field, $"{name} is written by the worker",
                "Leave it out: From, To, Cc, Subject, Reply-To and the priority have their own fields; Date, Message-ID, MIME-Version, Content-*, Resent-*, Received, Return-Path and DKIM-Signature are not the caller's");
        }

        // Spaces and tabs only, as the databases trim: both must store the same line.
        var trimmed = (value ?? string.Empty).Trim(' ', '\t');
        if (trimmed.Length == 0)
        {
            throw new MailValidationException(Field, $"{name} has no value", "Give it a value, or leave the header out");
        }

        if (trimmed.AsSpan().IndexOfAny(ControlCharacters) >= 0)
        {
            throw new MailValidationException(Field, $"the value of {name} holds a line break or another control character",
                "Header values are single lines of text; remove the line breaks");
        }

        var line = $"{name}: {trimmed}";
        if (line.Length > MaxLineChars)
        {
            throw new MailValidationException(Field, $"{name} is {line.Length} characters with its name, more than the {MaxLineChars} allowed",
                "Shorten its value");
        }

        return line;
    }

    // Every C0 control but the tab, and DEL: CR and LF would begin a header of the caller's own.
    private static readonly System.Buffers.SearchValues<char> ControlCharacters = System.Buffers.SearchValues.Create(
        "\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000A\u000B\u000C\u000D\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F\u007F");

    // A name shown in an error: bounded, and without the characters that would break the line.
    private static string Shown(string? text) =>
        text is null ? "(null)" : new string([.. text.Take(80).Select(c => char.IsControl(c) ? '?' : c)]);

    [GeneratedRegex(@"^[!-9;-~]{1,76}\z")]
    private static partial Regex HeaderName();
}
