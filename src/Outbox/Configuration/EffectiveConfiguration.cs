using System.Collections;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;

namespace Outbox.Configuration;

/// <summary>
/// The configuration a command actually runs with, after every layer (embedded default, file,
/// environment), one entry per key with secrets redacted: logged when the worker starts and
/// printed by `outbox config`, so an operator sees what is in effect, and where it came from,
/// without ever seeing a password.
/// </summary>
public static class EffectiveConfiguration
{
    public const string Redacted = "(set, not shown)";

    // Properties whose values are secrets wherever they appear.
    private static readonly string[] SecretNames = ["Password", "ClientSecret", "Secret", "Token"];

    /// <summary>One key: its value as text for people, as a JSON value for scripts, and the layer that set it.</summary>
    public sealed record Entry(string Key, string Text, object? Value, string Source);

    /// <param name="layers">The configuration the options were bound from, to name each value's layer; null: every source is "default".</param>
    public static IReadOnlyList<Entry> Describe(OutboxOptions options, IConfigurationRoot? layers = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var entries = new List<Entry>();
        Walk(OutboxOptions.SectionName, options, layers, entries);
        return entries;
    }

    private static void Walk(string prefix, object section, IConfigurationRoot? layers, List<Entry> entries)
    {
        foreach (var property in section.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
        {
            var key = $"{prefix}:{property.Name}";
            var value = property.GetValue(section);
            if (value is IDictionary dictionary)
            {
                foreach (DictionaryEntry entry in dictionary)
                {
                    Walk($"{key}:{entry.Key}", entry.Value!, layers, entries);
                }

                continue;
            }

            if (value is not null && property.PropertyType.IsClass && property.PropertyType != typeof(string) && value is not IEnumerable)
            {
                Walk(key, value, layers, entries);
                continue;
            }

            var shown = section is Outbox.Storage.DatabaseOptions database && property.Name == nameof(database.ConnectionString) && value is string { Length: > 0 } text
                ? Outbox.Storage.ConnectionStringRedactor.Redact(database.Provider, text)
                : value;
            var secret = value is string { Length: > 0 } && SecretNames.Any(name => property.Name.EndsWith(name, StringComparison.Ordinal));
            entries.Add(new Entry(key, secret ? Redacted : Show(shown), secret ? Redacted : Typed(shown), SourceOf(layers, key, value)));
        }
    }

    // The last layer that holds the key wins, as in the configuration itself.
    private static string SourceOf(IConfigurationRoot? layers, string key, object? value)
    {
        if (layers is null)
        {
            return "default";
        }

        foreach (var provider in layers.Providers.Reverse())
        {
            var found = provider.TryGet(key, out var set);
            if (found && key == "Outbox:Transport" && value is "smtp" && set != "smtp")
            {
                // The embedded default says pickup; SMTP settings without a transport mean SMTP.
                return "inferred (Outbox:Smtp:Host or Outbox:Accounts is set)";
            }

            if (found && key == "Outbox:Transport" && value is "graph" && set != "graph")
            {
                return "inferred (Outbox:Graph:Mailbox is set)";
            }

            if (found || provider.GetChildKeys([], key).Any())
            {
                return provider switch
                {
                    EnvironmentVariablesConfigurationProvider => $"environment ({key.Replace(":", "__", StringComparison.Ordinal)})",
                    JsonConfigurationProvider json => $"file {json.Source.FileProvider?.GetFileInfo(json.Source.Path ?? string.Empty).PhysicalPath ?? json.Source.Path}",
                    _ => "default",
                };
            }
        }

        return "default";
    }

    private static string Show(object? value) => value switch
    {
        null => "(not set)",
        string text when text.Length == 0 => "(not set)",
        string text => text,
        TimeSpan span => span.ToString("c", CultureInfo.InvariantCulture),
        IEnumerable items => $"[{string.Join(", ", items.Cast<object>())}]",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    // Numbers and booleans stay numbers and booleans in JSON; durations are written as the
    // configuration takes them (hh:mm:ss), enums by name.
    private static object? Typed(object? value) => value switch
    {
        null => null,
        string text when text.Length == 0 => null,
        string text => text,
        bool or int or long or double or decimal => value,
        TimeSpan span => span.ToString("c", CultureInfo.InvariantCulture),
        Enum => value.ToString(),
        IEnumerable items => items.Cast<object>().Select(Typed).ToList(),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };
}
