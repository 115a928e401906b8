using System.Text.RegularExpressions;
using Outbox.Core.Messages;

namespace Outbox.Core.Validation;

/// <summary>Checks a <see cref="MailRequest"/> the way outbox_mail checks its arguments.</summary>
public static partial class MailRequestValidator
{
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

        foreach (var attachment in request.Attachments)
        {
            MailAddressRules.CheckHeader("filename", attachment.FileName);
            MailAddressRules.CheckHeader("content_id", attachment.ContentId);
            MailAddressRules.CheckHeader("mime_type", attachment.MimeType);
            if (!MimeType().IsMatch(attachment.MimeType ?? string.Empty))
            {
                throw new MailValidationException("mime_type", $"\"{attachment.MimeType}\" is not a MIME type",
                    "Write it as type/subtype, e.g. application/pdf");
            }
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,100}$")]
    internal static partial Regex ProfileName();

    [GeneratedRegex(@"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(\s*;.*)?$", RegexOptions.Singleline)]
    private static partial Regex MimeType();
}
