using System.Globalization;
using Microsoft.AspNetCore.Http;
using Outbox.Core.Validation;
using Outbox.Storage.Admin;

namespace Outbox.Dashboard;

/// <summary>
/// The list's filters as the query string carries them (status, to, subject, since, until,
/// before): the criteria of `outbox list`, each checked and bounded, with the query string that
/// gives them back for links.
/// </summary>
public sealed record ListFilter(MailFilter Mail, IReadOnlyDictionary<string, string> Given)
{
    public static readonly string[] Statuses = ["draft", "queued", "sending", "sent", "failed", "unconfirmed", "cancelled", "expired"];

    private static readonly string[] Keys = ["status", "to", "subject", "since", "until"];

    /// <summary>The filter a query string (or a form) gives; a value that is no criterion is refused naming its field.</summary>
    public static ListFilter From(Func<string, string?> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var given = Keys.Select(k => (Key: k, Value: value(k)?.Trim())).Where(k => !string.IsNullOrEmpty(k.Value)).ToDictionary(k => k.Key, k => k.Value!, StringComparer.Ordinal);
        foreach (var (key, text) in given)
        {
            if (text.Length > MailFilter.MaxTextLength)
            {
                throw new MailValidationException(key, $"is longer than {MailFilter.MaxTextLength} characters", "Give a shorter text");
            }
        }

        var status = given.GetValueOrDefault("status")?.ToLowerInvariant();
        if (status is not null && !Statuses.Contains(status))
        {
            throw new MailValidationException("status", $"\"{status}\" is not a status", $"Give one of {string.Join(", ", Statuses)}");
        }

        long? before = null;
        if (value("before") is { Length: > 0 } b)
        {
            before = long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : throw new MailValidationException("before", $"\"{b}\" is not a mail id", "Follow the list's own links");
        }

        return new ListFilter(new MailFilter
        {
            Status = status,
            To = given.GetValueOrDefault("to"),
            Subject = given.GetValueOrDefault("subject"),
            Since = Time("since", given.GetValueOrDefault("since")),
            Until = Time("until", given.GetValueOrDefault("until")),
            BeforeId = before,
        }, given);
    }

    public static ListFilter From(IQueryCollection query)
    {
        ArgumentNullException.ThrowIfNull(query);
        return From(key => query.TryGetValue(key, out var v) ? v.ToString() : null);
    }

    /// <summary>The filters as a query string (without paging), starting with "?" when there are any.</summary>
    public string QueryString(long? before = null)
    {
        var parts = Given.Select(g => $"{g.Key}={Html.Query(g.Value)}").ToList();
        if (before is { } id)
        {
            parts.Add($"before={id.ToString(CultureInfo.InvariantCulture)}");
        }

        return parts.Count == 0 ? string.Empty : "?" + string.Join("&", parts);
    }

    // A date (2026-12-01, midnight UTC) or a time with its offset (2026-12-01T14:00:00Z); a date
    // input of the browser sends the first.
    private static DateTimeOffset? Time(string key, string? text)
    {
        if (text is null)
        {
            return null;
        }

        if (DateTimeOffset.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var day))
        {
            return day;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : throw new MailValidationException(key, $"\"{text}\" is not a date", "Write it as 2026-12-01 or 2026-12-01T14:00:00Z");
    }
}
