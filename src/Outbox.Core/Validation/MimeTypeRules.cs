using System.Text.RegularExpressions;

namespace Outbox.Core.Validation;

/// <summary>
/// What an attachment's MIME type may be: type/subtype with parameters attribute=value (a token
/// or a quoted string), and no name or filename parameter (the file name is given on its own,
/// where its type is checked). The same pattern, character for character, is in
/// sql/postgresql/02_api.sql (outbox.check_mime_type) and the Oracle package (check_mime_type).
/// </summary>
public static partial class MimeTypeRules
{
    /// <summary>The pattern; its token characters are listed rather than ranges, as PL/SQL needs.</summary>
    public const string Pattern =
        """^[0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&^_.+-]+/[0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&^_.+-]+( *; *[0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&^_.+-]+ *= *([0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&^_.+-]+|"[^"]*"))* *;? *$""";

    /// <summary>Throws <see cref="MailValidationException"/> naming <paramref name="field"/> unless the worker can use the type.</summary>
    public static void Check(string field, string? value)
    {
        MailAddressRules.CheckHeader(field, value);
        if (!Valid().IsMatch(value ?? string.Empty))
        {
            throw new MailValidationException(field, $"\"{value}\" is not a MIME type",
                "Write it as type/subtype with optional parameters, e.g. application/pdf or text/plain; charset=utf-8");
        }

        if (NameParameter().IsMatch(value!))
        {
            throw new MailValidationException(field, "must not hold a name or filename parameter", "Pass the file name as the filename argument");
        }
    }

    [GeneratedRegex(Pattern)]
    private static partial Regex Valid();

    [GeneratedRegex("; *(file)?name *=", RegexOptions.IgnoreCase)]
    private static partial Regex NameParameter();
}
