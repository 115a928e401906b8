namespace Outbox.Dashboard;

/// <summary>HTML that is already safe: written by this program, or text that went through <see cref="Html.Encode"/>.</summary>
public sealed class Markup(string html)
{
    public static Markup Empty { get; } = new(string.Empty);

    public string Html { get; } = html;

    public override string ToString() => Html;
}
