using System.Data.Common;
using Dapper;
using Outbox.Core.Validation;
using Outbox.Storage.Dialects;

namespace Outbox.Storage;

/// <summary>
/// The limits a DBA sets in the outbox_setting table (max_message_bytes, blocked_extensions),
/// checked by OutboxClient exactly as outbox.check_file_name and outbox.check_stored_size check
/// them in PostgreSQL.
/// </summary>
internal sealed class EnqueueLimits
{
    private readonly long _maxMessageBytes;
    private readonly HashSet<string> _blocked;

    private EnqueueLimits(long maxMessageBytes, HashSet<string> blocked)
    {
        _maxMessageBytes = maxMessageBytes;
        _blocked = blocked;
    }

    public static async Task<EnqueueLimits> ReadAsync(DbConnection connection, DbTransaction transaction, SqlDialect dialect, CancellationToken cancellationToken)
    {
        var settings = (await connection.QueryAsync<(string Name, string Value)>(new CommandDefinition(
            $"select name, value from {dialect.Table("outbox_setting")}", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false))
            .ToDictionary(s => s.Name, s => s.Value, StringComparer.Ordinal);
        var max = settings.TryGetValue("max_message_bytes", out var text) && long.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : 0;
        var blocked = (settings.GetValueOrDefault("blocked_extensions") ?? string.Empty)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(e => e.Trim('.').ToLowerInvariant())
            .ToHashSet(StringComparer.Ordinal);
        return new EnqueueLimits(max, blocked);
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
