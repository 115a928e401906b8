using System.Text.RegularExpressions;
using Outbox.Core.Messages;

namespace Outbox.Core.Validation;

/// <summary>Checks a <see cref="MailRequest"/> the way outbox_mail checks its arguments.</summary>
public static partial class MailRequestValidator
{
    /// <summary>The longest idempotency key, in characters (the Oracle column's size; PostgreSQL's index needs a bound too).</summary>
    public const int MaxKeyLength = 400;

    /// <summary>How far ahead a mail's expiry may be (expires_at / expires_after), as outbox_mail checks it.</summary>
    public static readonly TimeSpan MaxExpiry = TimeSpan.FromDays(366);

    /// <summary>Throws <see cref="MailValidationException"/> naming the first field at fault.</summary>
    public static void Validate(MailRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Sender))
        {
            throw new MailValidationException("sender", "is required", "Pass the From address, e.g. app@example.com");
        }

        MailAddressRules.CheckAddress("sender", request.Sender);
        if (request.ReplyTo is not null)
        {
            MailAddressRules.CheckAddress("replyto", request.ReplyTo);
        }

        MailAddressRules.CheckHeader("subject", request.Subject);
        MailAddressRules.CheckHeader("idempotency_key", request.IdempotencyKey);
        if (request.IdempotencyKey?.EnumerateRunes().Count() is > MaxKeyLength and var length)
        {
            throw new MailValidationException("idempotency_key", $"is {length} characters, more than the {MaxKeyLength} allowed",
                "Use a short key such as 'invoice-2026-0042'");
        }

        // PostgreSQL text cannot hold U+0000; refused here, named, rather than by the database.
        foreach (var (field, body) in new[] { ("text_body", request.TextBody), ("html_body", request.HtmlBody) })
        {
            if (body is not null && body.Contains('\0', StringComparison.Ordinal))
            {
                throw new MailValidationException(field, "must not contain NUL (U+0000)", "Remove the NUL characters; send binary data as an attachment");
            }
        }

        // The database drivers store the extremes as infinity, a time that never comes.
        if (request.SendAfter is { } after && (after == DateTimeOffset.MaxValue || after == DateTimeOffset.MinValue))
        {
            throw new MailValidationException("send_after", $"must be a point in time, got {after:O}", "Pass a time such as an hour from now, or null to send at once");
        }
        CheckExpiry(request.ExpiresAt, request.ExpiresAfter, request.SendAfter, DateTimeOffset.UtcNow);
        MailHeaderRules.Normalize(request.Headers);
        if (request.Profile is not null && !ProfileName().IsMatch(request.Profile))
        {
            throw new MailValidationException("profile", $"\"{request.Profile}\" is not a profile name",
                "Use the name of an entry of Outbox:Profiles in the worker's configuration (letters, digits, _ . -)");
        }
        if (request.Priority is < 1 or > 5)
        {
            throw new MailValidationException("priority", $"must be between 1 (highest) and 5 (lowest), got {request.Priority}",
                "Leave it out for the default, 3");
        }

        foreach (var (field, list) in new[] { ("to", request.To), ("cc", request.Cc), ("bcc", request.Bcc) })
        {
            foreach (var address in list)
            {
                MailAddressRules.CheckAddress(field, address);
            }
        }

        if (request.To.Count + request.Cc.Count + request.Bcc.Count == 0)
        {
            throw new MailValidationException("recipients", "the mail has no recipient", "Add at least one to, cc or bcc address");
        }

        if (request.Template is not null)
        {
            CheckTemplate(request);
        }

        foreach (var attachment in request.Attachments)
        {
            MailAddressRules.CheckHeader("filename", attachment.FileName);
            MailAddressRules.CheckHeader("content_id", attachment.ContentId);
            MimeTypeRules.Check("mime_type", attachment.MimeType);
        }
    }

    /// <summary>
    /// The expiry as stored (expires_at), or null: at most one of the two given, later than now
    /// and than sendAfter, and at most <see cref="MaxExpiry"/> ahead. The same rule is in
    /// outbox.expiry (PostgreSQL) and OUTBOX_MAIL.expiry (Oracle), on the database's clock.
    /// </summary>
    public static DateTimeOffset? CheckExpiry(DateTimeOffset? expiresAt, TimeSpan? expiresAfter, DateTimeOffset? sendAfter, DateTimeOffset now)
    {
        if (expiresAt is not null && expiresAfter is not null)
        {
            throw new MailValidationException("expires_after", "was given with expires_at", "Give one of the two");
        }

        if (expiresAfter is { } after && (after <= TimeSpan.Zero || after > MaxExpiry))
        {
            throw new MailValidationException("expires_after", $"must be more than 0 and at most {MaxExpiry.TotalDays:0} days, got {after}",
                "Give how long the mail stays worth sending, e.g. 2 hours");
        }

        var at = expiresAt ?? (expiresAfter is { } span ? now + span : null);
        if (at is not { } expiry)
        {
            return null;
        }

        var field = expiresAt is null ? "expires_after" : "expires_at";
        if (expiresAt is not null && (expiry <= now || expiry > now + MaxExpiry))
        {
            throw new MailValidationException(field, $"must be later than now and at most {MaxExpiry.TotalDays:0} days ahead, got {expiry.ToUniversalTime():yyyy-MM-dd'T'HH:mm:ss'Z'}",
                "Give a time when the mail stops being worth sending, or leave it out for a mail that never expires");
        }

        if (sendAfter is { } start && expiry <= start)
        {
            throw new MailValidationException(field, $"is not later than send_after ({start.ToUniversalTime():yyyy-MM-dd'T'HH:mm:ss'Z'})",
                "A mail that expires before it may be sent would never go out; move one of the two");
        }

        return expiry;
    }

    // A template gives the subject and bodies; its data is bounded before the database sees it.
    private static void CheckTemplate(MailRequest request)
    {
        foreach (var (field, value) in new[] { ("subject", request.Subject), ("text_body", request.TextBody), ("html_body", request.HtmlBody) })
        {
            if (value is not null)
            {
                throw new MailValidationException(field, $"comes from template {request.Template}", "Leave Subject, TextBody and HtmlBody out of a mail made from a template");
            }
        }

        Templates.TemplateData.Check(request.TemplateData);
    }

    [GeneratedRegex(@"^[A-Za-z0-9_.-]{1,100}\z")]
    internal static partial Regex ProfileName();
}
