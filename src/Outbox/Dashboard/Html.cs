using System.Text.Encodings.Web;
using Outbox.Core.Text;

namespace Outbox.Dashboard;

/// <summary>The one way text gets into a page: control characters escaped as the CLI shows them, then HTML-encoded.</summary>
public static class Html
{
    /// <summary>Markup from an interpolated string whose holes are encoded (see <see cref="HtmlHandler"/>).</summary>
    public static Markup Of(ref HtmlHandler html) => html.ToMarkup();

    /// <summary>Text as HTML: safe in element content and in a quoted attribute value.</summary>
    public static string Encode(string? text) => HtmlEncoder.Default.Encode(PrintableText.Escape(text));

    /// <summary>Several pieces of markup, one after the other.</summary>
    public static Markup Join(IEnumerable<Markup> parts) => new(string.Concat(parts.Select(p => p.Html)));

    /// <summary>A query-string value.</summary>
    public static string Query(string? value) => Uri.EscapeDataString(value ?? string.Empty);
}
