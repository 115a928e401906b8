using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace Outbox.Configuration;

/// <summary>
/// Reads every key under "Outbox" against <see cref="OutboxOptions"/> before anything is bound,
/// so that all problems come out together, one line each, in this program's words: a key no
/// option has (with the nearest one that exists), and a value that is not of its option's type.
/// Durations take the forms people write (90s, 5m or 5min, 1h, 30d, 2w, hh:mm:ss, d.hh:mm:ss); a bare
/// number is refused, since .NET would read "60" as sixty days. What passes is handed on with
/// durations in .NET's own form, for the binder.
/// </summary>
internal static partial class ConfigurationChecker
{
    public static (List<string> Problems, Dictionary<string, string?> Values) Check(IConfiguration configuration)
    {
        var problems = new List<string>();
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in configuration.AsEnumerable().OrderBy(e => e.Key, StringComparer.OrdinalIgnoreCase))
        {
            if (value is null || !key.StartsWith(OutboxOptions.SectionName + ":", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var (type, unknown) = Resolve(key.Split(':'));
            if (unknown is not null)
            {
                problems.Add(unknown);
                continue;
            }

            if (type is null)
            {
                // A section written as "" or [] (an empty list): nothing to bind.
                continue;
            }

            var (converted, problem) = Convert(type, value);
            if (problem is not null)
            {
                problems.Add($"{key}: {problem}");
                continue;
            }

            if (converted is not null)
            {
                values[key] = converted;
            }
        }

        return (problems.Distinct().ToList(), values);
    }

    // The option type a key names, or why no option has it. Null type: the key is a section.
    private static (Type? Type, string? Unknown) Resolve(string[] path)
    {
        var type = typeof(OutboxOptions);
        for (var i = 1; i < path.Length; i++)
        {
            var segment = path[i];
            if (DictionaryValue(type) is { } valueType)
            {
                type = valueType;
                continue;
            }

            if (ListItem(type) is { } itemType)
            {
                if (!int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    return (null, $"{string.Join(':', path[..i])}: is a list, written [ ... ]; it has no key \"{segment}\"");
                }

                type = itemType;
                continue;
            }

            var property = IsScalar(type) ? null : type.GetProperty(segment, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is null)
            {
                var known = IsScalar(type) ? [] : type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name).ToList();
                var nearest = Nearest(segment, known);
                var at = string.Join(':', path[..i]);
                return (null, IsScalar(type)
                    ? $"{at}: takes one value, not a section (found {string.Join(':', path)})"
                    : $"{string.Join(':', path)}: there is no such key{(nearest is null ? $" in {at}" : $"; did you mean {at}:{nearest}?")}");
            }

            type = property.PropertyType;
        }

        return (IsScalar(type) ? type : null, null);
    }

    private static (string? Value, string? Problem) Convert(Type type, string value)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return (value, null);
        }

        if (value.Length == 0)
        {
            // "Port": "" leaves the default, as leaving the key out would.
            return (null, null);
        }

        if (type == typeof(int) || type == typeof(long))
        {
            return long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
                && (type == typeof(long) || number is >= int.MinValue and <= int.MaxValue)
                ? (value, null)
                : (null, $"\"{value}\" is not a whole number");
        }

        if (type == typeof(bool))
        {
            return bool.TryParse(value, out _) ? (value, null) : (null, $"\"{value}\" is not true or false");
        }

        if (type.IsEnum)
        {
            var names = Enum.GetNames(type);
            return names.Contains(value, StringComparer.OrdinalIgnoreCase)
                ? (value, null)
                : (null, $"\"{value}\" is not one of {string.Join(", ", names)}");
        }

        if (type == typeof(TimeSpan))
        {
            return Duration(value);
        }

        return (value, null);
    }

    /// <summary>A duration as people write it, in .NET's "c" form; or why it is none.</summary>
    public static (string? Value, string? Problem) Duration(string value)
    {
        var trimmed = value.Trim();
        if (BareNumber().IsMatch(trimmed))
        {
            return (null, $"\"{value}\" is ambiguous: write {trimmed}s, {trimmed}m, {trimmed}h, {trimmed}d or hh:mm:ss");
        }

        if (WithUnit().Match(trimmed) is { Success: true } unit)
        {
            var amount = double.Parse(unit.Groups["amount"].Value, CultureInfo.InvariantCulture);
            // m is a minute, as in PostgreSQL's interval '1m' and systemd; months and years
            // differ in length, so they are refused rather than guessed (a purge of "1mo").
            TimeSpan? span = unit.Groups["unit"].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(amount),
                "s" => TimeSpan.FromSeconds(amount),
                "m" or "min" => TimeSpan.FromMinutes(amount),
                "h" => TimeSpan.FromHours(amount),
                "d" => TimeSpan.FromDays(amount),
                "w" => TimeSpan.FromDays(7 * amount),
                _ => null,
            };
            if (span is null)
            {
                return (null, $"\"{value}\": months and years differ in length, so they are not a duration here: write days ({Math.Round(amount * (unit.Groups["unit"].Value.StartsWith('y') ? 365 : 30))}d)");
            }

            return (span.Value.ToString("c", CultureInfo.InvariantCulture), null);
        }

        return trimmed.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParse(trimmed, CultureInfo.InvariantCulture, out var parsed)
            ? (parsed.ToString("c", CultureInfo.InvariantCulture), null)
            : (null, $"\"{value}\" is not a duration: write 90s, 5m (or 5min: minutes), 1h, 30d, 2w, hh:mm:ss or d.hh:mm:ss");
    }

    private static bool IsScalar(Type type) =>
        (Nullable.GetUnderlyingType(type) ?? type) is var t && (t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(TimeSpan) || t == typeof(decimal) || t == typeof(Uri));

    private static Type? DictionaryValue(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>) ? type.GetGenericArguments()[1] : null;

    private static Type? ListItem(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.IsGenericType && type.GetGenericTypeDefinition() is var definition && (definition == typeof(IList<>) || definition == typeof(List<>) || definition == typeof(IReadOnlyList<>))
            ? type.GetGenericArguments()[0]
            : null;

    // A misspelling (two edits) or a longer form of a key ("Hostname" for "Host").
    private static string? Nearest(string segment, IReadOnlyList<string> known) =>
        known.Select(name => (Name: name, Distance: segment.StartsWith(name, StringComparison.OrdinalIgnoreCase) || name.StartsWith(segment, StringComparison.OrdinalIgnoreCase) ? 1 : Distance(segment.ToUpperInvariant(), name.ToUpperInvariant())))
            .Where(c => c.Distance <= 2)
            .OrderBy(c => c.Distance)
            .Select(c => c.Name)
            .FirstOrDefault();

    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }

    [GeneratedRegex(@"^\d+(\.\d+)?$")]
    private static partial Regex BareNumber();

    [GeneratedRegex(@"^(?<amount>\d+(\.\d+)?)\s*(?<unit>ms|s|min|m|h|d|w|mo|mon|month|months|y|year|years)$")]
    private static partial Regex WithUnit();
}
