using System.Text.RegularExpressions;

namespace Outbox.Core.Validation;

/// <summary>
/// The checks every way of enqueuing applies. The same rules are written in PL/pgSQL in
/// sql/postgresql/02_api.sql (outbox.check_header, outbox.check_address,
/// outbox.address_list) and in the Oracle package; change them together.
/// </summary>
public static partial class MailAddressRules
{
    private static readonly System.Buffers.SearchValues<char> DisplayNameSpecials = System.Buffers.SearchValues.Create("():;@\"[]\\");

    /// <summary>Throws when a header value holds CR or LF (or NUL), which would let it inject headers.</summary>
    public static void CheckHeader(string field, string? value)
    {
        if (value is not null && value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
        {
            throw new MailValidationException(field, "must not contain a line break (CR or LF) or NUL",
                "Header values are single lines; remove the line breaks");
        }
    }

    /// <summary>
    /// Checks one address, "user@example.com" or "Display Name &lt;user@example.com&gt;",
    /// and returns it trimmed.
    /// </summary>
    public static string CheckAddress(string field, string? value)
    {
        CheckHeader(field, value);
        var trimmed = (value ?? string.Empty).Trim();
        if (trimmed.Length == 0)
        {
            throw new MailValidationException(field, "is empty", "Pass an address such as user@example.com");
        }

        var angle = AngleAddress().Match(trimmed);
        var address = angle.Success ? angle.Groups[2].Value : trimmed;

        // The display name, outside its quoted parts, holds none of the specials that would make
        // the value a group ("team: a@x;") or a second address; the worker's parser takes what passes.
        var displayName = angle.Success ? QuotedPart().Replace(angle.Groups[1].Value, string.Empty) : string.Empty;
        if (!BareAddress().IsMatch(address) || displayName.AsSpan().IndexOfAny(DisplayNameSpecials) >= 0)
        {
            throw new MailValidationException(field, $"\"{trimmed}\" is not a valid mail address",
                "Write it as user@example.com or \"Name <user@example.com>\"");
        }

        return trimmed;
    }

    /// <summary>
    /// Splits a UTL_MAIL-style list ("a@x.com, b@y.com; \"Doe, Jane\" &lt;j@z.com&gt;") and checks
    /// each address. Separators inside double quotes do not split.
    /// </summary>
    public static IReadOnlyList<string> SplitAddresses(string field, string? list)
    {
        if (string.IsNullOrWhiteSpace(list))
        {
            return [];
        }

        // One pass: the cost grows with the list's length, not with its square.
        var addresses = new List<string>();
        var quoted = false;
        var start = 0;
        for (var i = 0; i <= list.Length; i++)
        {
            if (i < list.Length && list[i] == '"')
            {
                quoted = !quoted;
            }
            else if (i == list.Length || (!quoted && list[i] is ',' or ';'))
            {
                var part = list[start..i];
                if (!string.IsNullOrWhiteSpace(part))
                {
                    addresses.Add(CheckAddress(field, part));
                }

                start = i + 1;
            }
        }

        return addresses;
    }

    [GeneratedRegex("^([^<>]*)<([^<>]*)>$")]
    private static partial Regex AngleAddress();

    [GeneratedRegex("\"[^\"]*\"")]
    private static partial Regex QuotedPart();

    [GeneratedRegex("""^[^\s@<>(),;:"\[\]\\]+@[^\s@<>(),;:"\[\]\\.]+(\.[^\s@<>(),;:"\[\]\\.]+)*$""")]
    private static partial Regex BareAddress();
}
