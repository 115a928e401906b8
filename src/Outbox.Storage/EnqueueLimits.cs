using System.Data.Common;
using Dapper;
using Outbox.Core.Messages;
using Outbox.Core.Validation;
using Outbox.Storage.Dialects;

namespace Outbox.Storage;

/// <summary>
/// The limits a DBA sets in the outbox_setting table (max_message_bytes, blocked_extensions,
/// max_recipients, max_address_chars, max_header_chars), checked by OutboxClient exactly as
/// outbox_mail checks them in PostgreSQL and OUTBOX_MAIL in Oracle. A limit of 0 or an absent
/// one is no limit.
/// </summary>
internal sealed class EnqueueLimits
{
    private readonly long _maxMessageBytes;
    private readonly HashSet<string> _blocked;
    private readonly long _maxRecipients;
    private readonly long _maxAddressChars;
    private readonly long _maxHeaderChars;

    private EnqueueLimits(long maxMessageBytes, HashSet<string> blocked, long maxRecipients, long maxAddressChars, long maxHeaderChars)
    {
        _maxMessageBytes = maxMessageBytes;
        _blocked = blocked;
        _maxRecipients = maxRecipients;
        _maxAddressChars = maxAddressChars;
        _maxHeaderChars = maxHeaderChars;
    }

    public static async Task<EnqueueLimits> ReadAsync(DbConnection connection, DbTransaction transaction, SqlDialect dialect, CancellationToken cancellationToken)
    {
        var settings = (await connection.QueryAsync<(string Name, string Value)>(new CommandDefinition(
            $"select name, value from {dialect.Table("outbox_setting")}", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false))
            .ToDictionary(s => s.Name, s => s.Value, StringComparer.Ordinal);
        long Limit(string name) =>
            settings.TryGetValue(name, out var text) && long.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : 0;
        var blocked = (settings.GetValueOrDefault("blocked_extensions") ?? string.Empty)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(e => e.Trim('.').ToLowerInvariant())
            .ToHashSet(StringComparer.Ordinal);
        return new EnqueueLimits(Limit("max_message_bytes"), blocked, Limit("max_recipients"), Limit("max_address_chars"), Limit("max_header_chars"));
    }

    /// <summary>The request's addresses, header values and number of recipients against their limits, each error naming its field.</summary>
    public void CheckRequest(MailRequest request)
    {
        var count = request.To.Count + request.Cc.Count + request.Bcc.Count;
        if (_maxRecipients > 0 && count > _maxRecipients)
        {
            throw new MailValidationException("recipients", $"the mail would have {count} recipients, more than the {_maxRecipients} allowed",
                "The limit is the outbox_setting table, name 'max_recipients'; send one mail per group of recipients");
        }

        IEnumerable<(string Field, string? Value)> addresses = [("sender", request.Sender), ("replyto", request.ReplyTo),
            .. request.To.Select(a => ("to", (string?)a)), .. request.Cc.Select(a => ("cc", (string?)a)), .. request.Bcc.Select(a => ("bcc", (string?)a))];
        foreach (var (field, value) in addresses)
        {
            CheckLength(field, value?.Trim(), _maxAddressChars, "max_address_chars", "an address");
        }

        IEnumerable<(string Field, string? Value)> headers = [("subject", request.Subject),
            .. request.Attachments.SelectMany(a => new[] { ("filename", a.FileName), ("mime_type", a.MimeType), ("content_id", a.ContentId) })];
        foreach (var (field, value) in headers)
        {
            CheckLength(field, value, _maxHeaderChars, "max_header_chars", "a header value");
        }
    }

    // In characters (code points), as PostgreSQL's and Oracle's length() count them.
    private static void CheckLength(string field, string? value, long limit, string setting, string what)
    {
        if (limit > 0 && value is not null && value.Length > limit && value.EnumerateRunes().Count() is var length && length > limit)
        {
            throw new MailValidationException(field, $"is {length} characters, more than the {limit} allowed for {what}",
                $"The limit is the outbox_setting table, name '{setting}'");
        }
    }

    /// <summary>
    /// The name as stored: its last path segment; refused when it holds control characters or
    /// when its type is blocked. The type is judged as a mail program shows and saves the name:
    /// case ignored, trailing dots and spaces dropped, and each part around a ":" on its own
    /// ("evil.exe::$DATA" is saved as evil.exe on NTFS).
    /// </summary>
    public string? CheckFileName(string field, string? fileName)
    {
        MailAddressRules.CheckHeader(field, fileName);
        if (fileName is not null && fileName.Any(c => c < ' ' || c == '\u007f'))
        {
            throw new MailValidationException(field, "must not contain control characters", "Use a plain file name such as report.pdf");
        }

        var name = fileName?.Trim();
        if (name is not null)
        {
            name = name[(name.LastIndexOfAny(['/', '\\']) + 1)..];
        }

        if (string.IsNullOrEmpty(name))
        {
            return null;
        }

        foreach (var segment in name.Split(':'))
        {
            var shown = segment.TrimEnd('.', ' ');
            var dot = shown.LastIndexOf('.');
            var extension = dot < 0 ? null : shown[(dot + 1)..].ToLowerInvariant();
            if (extension is not null && _blocked.Contains(extension))
            {
                throw new MailValidationException(field, $"attachments named *.{extension} are refused ({name})",
                    "The blocked types are listed in the outbox_setting table, name 'blocked_extensions'");
            }
        }

        return name;
    }

    public void CheckSize(long bytes)
    {
        if (_maxMessageBytes > 0 && bytes > _maxMessageBytes)
        {
            throw new MailValidationException("message", $"the mail is {bytes} bytes, more than the {_maxMessageBytes} bytes allowed",
                "The limit is the outbox_setting table, name 'max_message_bytes'; send large files as links");
        }
    }
}
