using System.Globalization;
using System.Text;

namespace Outbox.Core.Text;

/// <summary>
/// Text made safe for a terminal or a log line: control characters (C0, DEL, C1) and the Unicode
/// direction overrides are written as \x1B / \u202E escapes, so a subject or a server reply
/// cannot move the cursor, retitle the window, clear the screen or reorder what is shown. A
/// backslash stays as it is: the output is for people, not to be parsed back.
/// </summary>
public static class PrintableText
{
    /// <summary>The text with every unsafe character escaped; line feeds are kept when <paramref name="keepLineFeeds"/>.</summary>
    public static string Escape(string? text, bool keepLineFeeds = false)
    {
        if (string.IsNullOrEmpty(text) || !text.Any(c => IsUnsafe(c, keepLineFeeds)))
        {
            return text ?? string.Empty;
        }

        var builder = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (!IsUnsafe(c, keepLineFeeds))
            {
                builder.Append(c);
            }
            else if (c <= '\u00ff')
            {
                builder.Append("\\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    private static bool IsUnsafe(char c, bool keepLineFeeds) =>
        (char.IsControl(c) && !(keepLineFeeds && c == '\n'))
        || c is >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069';
}
