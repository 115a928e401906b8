using System.Text.RegularExpressions;

namespace Outbox.Core.Templates;

/// <summary>
/// What a template's name and locale may be. The same patterns are the check constraints of
/// outbox_template in every database's script.
/// </summary>
public static partial class TemplateNames
{
    /// <summary>Throws <see cref="TemplateException"/> naming the field unless the value is a template name: 1 to 100 of letters, digits, _ . -.</summary>
    public static void CheckName(string field, string? name)
    {
        if (name is null || !Name().IsMatch(name))
        {
            throw new TemplateException($"{field}: \"{Printable(name)}\" is not a template name. Use 1 to {TemplateLimits.MaxNameLength} letters, digits, _ . - such as order_confirmation");
        }
    }

    /// <summary>Throws <see cref="TemplateException"/> naming the field unless the value is null or a language tag such as de or pt-BR.</summary>
    public static void CheckLocale(string field, string? locale)
    {
        if (locale is not null && !Locale().IsMatch(locale))
        {
            throw new TemplateException($"{field}: \"{Printable(locale)}\" is not a locale. Use a language tag such as de or pt-BR, or leave it out for the default");
        }
    }

    private static string Printable(string? value) =>
        value is null ? "(none)" : new string(value.Take(120).Select(c => char.IsControl(c) ? '?' : c).ToArray());

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,100}$", RegexOptions.CultureInvariant)]
    private static partial Regex Name();

    [GeneratedRegex("^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,3}$", RegexOptions.CultureInvariant)]
    private static partial Regex Locale();
}
