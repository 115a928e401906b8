using System.Globalization;
using System.Text.RegularExpressions;
using Fluid;
using Fluid.Values;

namespace Outbox.Core.Templates;

/// <summary>
/// Fluid's filters, each charged by the size of what it takes and makes (<see cref="RenderBudget"/>)
/// and refused when what it makes would be larger than <see cref="TemplateLimits"/> allow. The
/// filters whose result can be far larger than what they take (replace, split, join) are refused
/// before they make it; the others make at most a few times what they take, which is bounded.
/// </summary>
internal static partial class BoundedFilters
{
    // An ordinal search (replace, remove, split, contains) compares about this many characters at
    // a time; looking for a longer text costs a multiple, up to its length at every position.
    internal const int SearchWidth = 16;

    private const long Cap = TemplateLimits.MaxRenderedLength;

    [GeneratedRegex(@"\d+", RegexOptions.CultureInvariant)]
    private static partial Regex Number();

    private static readonly HashSet<string> Searches = new(StringComparer.Ordinal)
    {
        "replace", "replace_first", "replace_last", "remove", "remove_first", "remove_last", "split",
    };

    /// <summary>Replaces every filter of the collection with its bounded form.</summary>
    public static void Bound(FilterCollection filters)
    {
        foreach (var (name, filter) in filters.ToList())
        {
            filters.AddFilter(name, (input, arguments, context) => CallAsync(name, filter, input, arguments, (RenderBudget)context));
        }
    }

    private static async ValueTask<FluidValue> CallAsync(string name, FilterDelegate filter, FluidValue input, FilterArguments arguments, RenderBudget budget)
    {
        var what = $"the filter {name}";
        var taken = RenderBudget.Measure(input, Cap);
        for (var i = 0; i < arguments.Count; i++)
        {
            taken += RenderBudget.Measure(arguments.At(i), Cap);
        }

        // The call itself is one step, as Fluid counts a statement.
        budget.Charge(name, what, TemplateLimits.CharactersPerStep + taken + Work(name, input, arguments, taken));
        Foresee(name, what, input, arguments, taken);
        FluidValue result;
        try
        {
            result = await filter(input, arguments, budget).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (TemplateBudgetException or MissingVariableException or OperationCanceledException))
        {
            // divided_by: 0, a format a value does not fit, ...: the template's error, named as such.
            throw new TemplateBudgetException(name, $"{what} failed: {ex.Message.Split('\n', 2)[0].Trim()} Fix the template or the data");
        }

        budget.Charge(name, what, Made(name, what, result));
        return result;
    }

    // Work beyond reading what the filter takes: searching, sorting.
    private static long Work(string name, FluidValue input, FilterArguments arguments, long taken)
    {
        if (Searches.Contains(name))
        {
            return (long)input.ToStringValue().Length * Math.Max(1, arguments.At(0).ToStringValue().Length / SearchWidth);
        }

        if (name is "sort" or "sort_natural" && input is ArrayValue array && array.Values.Count > 1)
        {
            return taken * (long)Math.Ceiling(Math.Log2(array.Values.Count));
        }

        return 0;
    }

    // Refuses, before it is made, a result that would be over the bounds: these filters can make
    // far more than they take (a replace of each character by a long text; a split into characters).
    private static void Foresee(string name, string what, FluidValue input, FilterArguments arguments, long taken)
    {
        switch (name)
        {
            case "replace":
                var text = input.ToStringValue();
                var pattern = arguments.At(0).ToStringValue();
                var growth = arguments.At(1).ToStringValue().Length - pattern.Length;
                if (pattern.Length > 0 && growth > 0 && text.Length + (Occurrences(text, pattern) * growth) > Cap)
                {
                    throw TooLong(name, what);
                }

                break;
            case "split":
                var whole = input.ToStringValue();
                var separator = arguments.At(0).ToStringValue();
                if ((separator.Length == 0 ? whole.Length : Occurrences(whole, separator) + 1) > TemplateLimits.MaxArrayLength)
                {
                    throw TooMany(name, what);
                }

                break;
            case "format_number" or "date" or "format_date":
                if (Formatted(arguments.At(0).ToStringValue()) > Cap)
                {
                    throw TooLong(name, what);
                }

                break;
            case "format_string":
                var format = input.ToStringValue();
                long longest = 0;
                for (var i = 0; i < arguments.Count; i++)
                {
                    longest = Math.Max(longest, arguments.At(i).ToStringValue().Length);
                }

                if (Formatted(format) + (format.AsSpan().Count('{') * longest) > Cap)
                {
                    throw TooLong(name, what);
                }

                break;
            case "join" when input is ArrayValue array:
                if (taken + ((long)arguments.At(0).ToStringValue().Length * array.Values.Count) > Cap)
                {
                    throw TooLong(name, what);
                }

                break;
        }
    }

    // What a format can make at most: a width or precision ("F99999999", "%99999999d",
    // "{0,999999}") makes that many characters from a few, and a specifier such as %c makes a
    // dozen from two. Any number in the format counts as a width; a real format stays far below.
    private static long Formatted(string format)
    {
        long widths = 0;
        foreach (Match number in Number().Matches(format))
        {
            widths += number.Length > 9 ? Cap : long.Parse(number.Value, CultureInfo.InvariantCulture);
        }

        return 16 * (format.Length + widths);
    }

    private static long Made(string name, string what, FluidValue result)
    {
        if (result is ArrayValue array && array.Values.Count > TemplateLimits.MaxArrayLength)
        {
            throw TooMany(name, what);
        }

        var size = RenderBudget.Measure(result, Cap);
        return size > Cap ? throw TooLong(name, what) : size;
    }

    private static long Occurrences(string text, string pattern)
    {
        long count = 0;
        for (var at = text.IndexOf(pattern, StringComparison.Ordinal); at >= 0; at = text.IndexOf(pattern, at + pattern.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static TemplateBudgetException TooLong(string name, string what) =>
        new(name, $"{what} makes a value longer than {TemplateLimits.MaxRenderedLength} characters. Work on less data");

    private static TemplateBudgetException TooMany(string name, string what) =>
        new(name, $"{what} makes an array of more than {TemplateLimits.MaxArrayLength} elements. Work on less data");
}
