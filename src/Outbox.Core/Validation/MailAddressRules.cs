using System.Text.RegularExpressions;

namespace Outbox.Core.Validation;

/// <summary>
/// The checks every way of enqueuing applies. The same rules are written in PL/pgSQL in
/// sql/postgresql/02_api.sql (outbox.check_header, outbox.check_address,
/// outbox.split_addresses); change both together.
/// </summary>
public static partial class MailAddressRules
{
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
        var address = angle.Success ? angle.Groups[1].Value : trimmed;
        if (!BareAddress().IsMatch(address))
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

        return ListSeparator().Split(list)
            .Where(part => !string.IsNullOrWhiteSpace(part))
            .Select(part => CheckAddress(field, part))
            .ToList();
    }

    [GeneratedRegex("^[^<>]*<([^<>]*)>$")]
    private static partial Regex AngleAddress();

    [GeneratedRegex("""^[^\s@<>(),;:"\[\]\\]+@[^\s@<>(),;:"\[\]\\.]+(\.[^\s@<>(),;:"\[\]\\.]+)*$""")]
    private static partial Regex BareAddress();

    [GeneratedRegex("""[,;](?=(?:[^"]*"[^"]*")*[^"]*$)""")]
    private static partial Regex ListSeparator();
}
