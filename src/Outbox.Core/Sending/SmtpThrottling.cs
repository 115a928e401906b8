using System.Globalization;
using System.Text.RegularExpressions;
using MailKit.Net.Smtp;

namespace Outbox.Core.Sending;

/// <summary>
/// Tells an SMTP server's throttling replies from its other refusals. Exchange Online answers
/// 432 4.3.2 when a mailbox has too many messages in flight, 421 4.7.0 or a 4.7.x "concurrent
/// connections limit exceeded" when it has too many sessions, 454 4.7.0 when it throttles logins;
/// none says anything about the mail, which is sent later through the same or another account.
/// </summary>
internal static partial class SmtpThrottling
{
    /// <summary>The reply as an <see cref="AccountThrottledException"/> when it throttles, else null.</summary>
    public static AccountThrottledException? Recognize(SmtpCommandException reply, string account)
    {
        var code = (int)reply.StatusCode;
        return IsThrottling(code, reply.Message)
            ? new AccountThrottledException($"the server throttles account {account} ({code} {reply.Message})", NamedWait(reply.Message), reply)
            : null;
    }

    /// <summary>Whether a reply code and its text (starting with the enhanced status code) say the account is throttled.</summary>
    public static bool IsThrottling(int code, string text)
    {
        var enhanced = Enhanced().Match(text);
        var status = enhanced.Success ? enhanced.Groups[1].Value : string.Empty;
        return (code, status) switch
        {
            (432, "4.3.2") => true,
            (421 or 454, "4.7.0") => true,
            (>= 400 and < 500, _) when status.StartsWith("4.7.", StringComparison.Ordinal) =>
                text.Contains("concurrent connections limit", StringComparison.OrdinalIgnoreCase),
            _ => false,
        };
    }

    // "try again in 30 seconds", "retry after 5 minutes": the wait a reply names, at most a day.
    private static TimeSpan? NamedWait(string text)
    {
        var named = Wait().Match(text);
        if (!named.Success || !int.TryParse(named.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            return null;
        }

        var wait = named.Groups[2].Value.StartsWith('m') ? TimeSpan.FromMinutes(count) : TimeSpan.FromSeconds(count);
        return wait > TimeSpan.FromDays(1) ? TimeSpan.FromDays(1) : wait;
    }

    [GeneratedRegex(@"^\s*([245]\.\d{1,3}\.\d{1,3})\b")]
    private static partial Regex Enhanced();

    [GeneratedRegex(@"(?:try again|retry)(?: (?:in|after))? (\d{1,6}) ?(s|sec|secs|seconds?|m|min|mins|minutes?)\b", RegexOptions.IgnoreCase)]
    private static partial Regex Wait();
}
