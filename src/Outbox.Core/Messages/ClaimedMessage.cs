namespace Outbox.Core.Messages;

/// <summary>A mail the worker holds a lease on, as read from the outbox tables.</summary>
public sealed class ClaimedMessage
{
    public long Id { get; init; }

    /// <summary>"mime": built from the columns; "raw": text written by the caller (UTL_SMTP style).</summary>
    public string Kind { get; init; } = "mime";

    public string Sender { get; init; } = string.Empty;

    public string? ReplyTo { get; init; }

    public string? Subject { get; init; }

    public string? TextBody { get; init; }

    public string? HtmlBody { get; init; }

    public int Priority { get; init; } = 3;

    public string MimeMessageId { get; init; } = string.Empty;

    /// <summary>Attempts so far, this one included.</summary>
    public int AttemptCount { get; init; }

    /// <summary>
    /// Set when this claim took the mail over from a worker whose lease expired while the mail
    /// was in its batch (the claim recorded that worker's attempt if it had begun sending).
    /// </summary>
    public string? TakenOverFrom { get; init; }

    /// <summary>
    /// Set when the claim took the mail over after its worker had begun sending it and
    /// LostReplyPolicy is Hold: the claim recorded it 'unconfirmed' for an operator; not sent.
    /// </summary>
    public bool Held { get; set; }

    /// <summary>
    /// Set when the mail's expires_at had passed when it was claimed: the claim recorded it
    /// 'expired' (unless it was <see cref="Held"/>), and it is not sent.
    /// </summary>
    public bool Expired { get; init; }

    /// <summary>
    /// The caller's extra header lines ("Name: value", one per line, checked at enqueue by
    /// <see cref="Validation.MailHeaderRules"/>), or null.
    /// </summary>
    public string? Headers { get; init; }

    /// <summary>The Outbox:Profiles entry named at enqueue, if any.</summary>
    public string? Profile { get; init; }

    /// <summary>
    /// The outbox_template the mail was enqueued from, or null. Then <see cref="Subject"/>,
    /// <see cref="TextBody"/> and <see cref="HtmlBody"/> hold the template's Liquid text as it was
    /// at enqueue, rendered with <see cref="TemplateData"/> when the mail is built.
    /// </summary>
    public string? Template { get; init; }

    /// <summary>The locale of the template row the mail was made from (null: the default row).</summary>
    public string? TemplateLocale { get; init; }

    /// <summary>The JSON object the template is rendered with.</summary>
    public string? TemplateData { get; init; }

    public IReadOnlyList<ClaimedRecipient> Recipients { get; set; } = [];

    public IReadOnlyList<ClaimedAttachment> Attachments { get; set; } = [];

    public bool IsRaw => Kind == "raw";
}
