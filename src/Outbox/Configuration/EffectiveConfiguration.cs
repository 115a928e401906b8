using System.Collections;
using System.Globalization;
using System.Reflection;

namespace Outbox.Configuration;

/// <summary>
/// The configuration a command actually runs with, after every layer (embedded default, file,
/// environment), as "Outbox:Section:Key = value" lines with secrets redacted: logged when the
/// worker starts and printed by `outbox config`, so an operator sees what is in effect without
/// ever seeing a password.
/// </summary>
public static class EffectiveConfiguration
{
    public const string Redacted = "(set, not shown)";

    // Properties whose values are secrets wherever they appear.
    private static readonly string[] SecretNames = ["Password", "ClientSecret", "Secret", "Token"];

    public static IReadOnlyList<(string Key, string Value)> Describe(OutboxOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var lines = new List<(string, string)>();
        Walk(OutboxOptions.SectionName, options, lines);
        return lines;
    }

    private static void Walk(string prefix, object section, List<(string, string)> lines)
    {
        foreach (var property in section.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
        {
            var key = $"{prefix}:{property.Name}";
            var value = property.GetValue(section);
            if (value is IDictionary entries)
            {
                foreach (DictionaryEntry entry in entries)
                {
                    Walk($"{key}:{entry.Key}", entry.Value!, lines);
                }

                continue;
            }

            if (value is not null && property.PropertyType.IsClass && property.PropertyType != typeof(string) && value is not IEnumerable)
            {
                Walk(key, value, lines);
                continue;
            }

            lines.Add((key, section is Outbox.Storage.DatabaseOptions database && property.Name == nameof(database.ConnectionString) && value is string { Length: > 0 } text
                ? Outbox.Storage.ConnectionStringRedactor.Redact(database.Provider, text)
                : Show(property.Name, value)));
        }
    }

    private static string Show(string name, object? value) => value switch
    {
        null => "(not set)",
        string text when text.Length == 0 => "(not set)",
        _ when SecretNames.Any(secret => name.EndsWith(secret, StringComparison.Ordinal)) => Redacted,
        string text => text,
        TimeSpan span => span.ToString("c", CultureInfo.InvariantCulture),
        IEnumerable items => $"[{string.Join(", ", items.Cast<object>())}]",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}
