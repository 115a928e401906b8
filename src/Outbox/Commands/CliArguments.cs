using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Outbox.Configuration;

namespace Outbox.Commands;

/// <summary>
/// The command line's own errors in the words of this program: one line each, naming the option
/// or argument and what it takes (System.CommandLine names .NET types), and range checks for
/// the numbers a command takes.
/// </summary>
public static class CliArguments
{
    /// <summary>One line for a parse error: `--batch-size: "abc" is not a whole number`.</summary>
    public static string Describe(ParseError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var (name, type, tokens) = error.SymbolResult switch
        {
            OptionResult option => (option.Option.Name, option.Option.ValueType, option.Tokens),
            ArgumentResult argument => (argument.Argument.Name, argument.Argument.ValueType, argument.Tokens),
            _ => (null, null, null),
        };
        var value = tokens is { Count: > 0 } ? tokens[^1].Value : string.Empty;
        if (name is not null && error.Message.StartsWith("Argument '", StringComparison.Ordinal) && error.Message.Contains("Must be one of:", StringComparison.Ordinal))
        {
            // System.CommandLine lists the values one a line, without the option's name.
            var allowed = error.Message[(error.Message.IndexOf("Must be one of:", StringComparison.Ordinal) + "Must be one of:".Length)..]
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(v => v.Trim('\''));
            return $"{name}: \"{value}\" is not one of {string.Join(", ", allowed)}";
        }

        if (name is null || type is null || !error.Message.StartsWith("Cannot parse argument", StringComparison.Ordinal))
        {
            return error.Message;
        }

        return $"{name}: \"{value}\" is not {Expected(Nullable.GetUnderlyingType(type) ?? type)}";
    }

    /// <summary>Adds a check that the number given is at least minimum (and at most maximum).</summary>
    public static T Between<T>(this T option, int minimum, int maximum = int.MaxValue)
        where T : Option
    {
        ArgumentNullException.ThrowIfNull(option);
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && int.TryParse(result.Tokens[^1].Value, System.Globalization.CultureInfo.InvariantCulture, out var value)
                && (value < minimum || value > maximum))
            {
                result.AddError(maximum == int.MaxValue
                    ? $"{option.Name}: must be at least {minimum}, not {value}"
                    : $"{option.Name}: must be from {minimum} to {maximum}, not {value}");
            }
        });
        return option;
    }

    /// <summary>An option taking a duration in the forms the configuration takes (90s, 5m or 5min, 1h, 30d, 2w, hh:mm:ss).</summary>
    public static Option<TimeSpan> Duration(string name) => new(name)
    {
        CustomParser = result =>
        {
            var (value, problem) = ConfigurationChecker.Duration(result.Tokens[^1].Value);
            if (problem is not null)
            {
                result.AddError($"{name}: {problem}");
                return default;
            }

            return TimeSpan.Parse(value!, CultureInfo.InvariantCulture);
        },
    };

    /// <summary>
    /// An option taking a point in time: a date (midnight UTC), a date and time (UTC unless an
    /// offset is given), or a duration in the configuration's forms counted back from now (2h,
    /// 7d: an age), or forward when ahead is true (send --send-after 2h).
    /// </summary>
    public static Option<DateTimeOffset?> PointInTime(string name, TimeProvider time, bool ahead = false) => new(name)
    {
        CustomParser = result =>
        {
            var text = result.Tokens[^1].Value;
            if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                return at;
            }

            if (ConfigurationChecker.Duration(text) is { Problem: null, Value: { } age })
            {
                var span = TimeSpan.Parse(age, CultureInfo.InvariantCulture);
                return ahead ? time.GetUtcNow() + span : time.GetUtcNow() - span;
            }

            result.AddError($"{name}: \"{text}\" is not a time: write a date (2026-12-01), a time (2026-12-01T10:00:00Z) or {(ahead ? "a delay from now" : "an age")} (90m, 2h, 7d)");
            return null;
        },
    };

    private static string Expected(Type type) =>
        type == typeof(int) || type == typeof(long) ? "a whole number"
        : type == typeof(DateTimeOffset) ? "a date and time such as 2026-12-01T10:00:00Z"
        : type == typeof(bool) ? "true or false"
        : "a value it takes (see --help)";
}
