using System.Text.Encodings.Web;
using Outbox.Core.Text;

namespace Outbox.Dashboard;

/// <summary>The one way text gets into a page: control characters escaped as the CLI shows them, then HTML-encoded.</summary>
public static class Html
{
    /// <summary>Markup from an interpolated string whose holes are encoded (see <see cref="HtmlHandler"/>).</summary>
    public static Markup Of(ref HtmlHandler html) => html.ToMarkup();

    /// <summary>
    /// The most characters of one value a page shows. Whatever the database holds (a mail stored
    /// before the enqueue limits, a long server reply), a page grows with the number of values on
    /// it, not with their lengths; the dashboard runs inside the worker.
    /// </summary>
    public const int MaxShownChars = 2000;

    /// <summary>Text as HTML: safe in element content and in a quoted attribute value; cut after <see cref="MaxShownChars"/> with "… (N more)".</summary>
    public static string Encode(string? text) => HtmlEncoder.Default.Encode(PrintableText.Escape(Cut(text)));

    private static string? Cut(string? text)
    {
        if (text is null || text.Length <= MaxShownChars)
        {
            return text;
        }

        var kept = char.IsHighSurrogate(text[MaxShownChars - 1]) ? MaxShownChars - 1 : MaxShownChars;
        return $"{text[..kept]}… ({text.Length - kept} more)";
    }

    /// <summary>Several pieces of markup, one after the other.</summary>
    public static Markup Join(IEnumerable<Markup> parts) => new(string.Concat(parts.Select(p => p.Html)));

    /// <summary>A query-string value.</summary>
    public static string Query(string? value) => Uri.EscapeDataString(value ?? string.Empty);
}
