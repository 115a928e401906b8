using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Outbox.Dashboard;

/// <summary>
/// Builds <see cref="Markup"/> from an interpolated string: the literal parts are the page's own
/// HTML, and every value put in a hole is encoded, unless it is Markup already. So a subject or a
/// server's reply can only ever appear as text, and no page has to remember to encode it.
/// </summary>
[InterpolatedStringHandler]
public readonly ref struct HtmlHandler
{
    private readonly StringBuilder _builder;

    public HtmlHandler(int literalLength, int formattedCount)
    {
        _builder = new StringBuilder(literalLength + (formattedCount * 16));
    }

    public void AppendLiteral(string value) => _builder.Append(value);

    public void AppendFormatted(Markup? value) => _builder.Append(value?.Html);

    public void AppendFormatted<T>(T value) => _builder.Append(Html.Encode(value is IFormattable formattable ? formattable.ToString(null, CultureInfo.InvariantCulture) : value?.ToString()));

    public Markup ToMarkup() => new(_builder.ToString());
}
