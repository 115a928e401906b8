namespace Outbox.Core.Messages;

/// <summary>A mail to enqueue from .NET: the builder's fields in one object.</summary>
public sealed class MailRequest
{
    public required string Sender { get; init; }

    public IList<string> To { get; init; } = [];

    public IList<string> Cc { get; init; } = [];

    public IList<string> Bcc { get; init; } = [];

    /// <summary>Every recipient with its kind (to, cc, bcc), in the order they are stored.</summary>
    public IEnumerable<(string Kind, string Address)> RecipientsByKind() =>
        To.Select(a => ("to", a)).Concat(Cc.Select(a => ("cc", a))).Concat(Bcc.Select(a => ("bcc", a)));

    public string? ReplyTo { get; init; }

    public string? Subject { get; init; }

    public string? TextBody { get; init; }

    public string? HtmlBody { get; init; }

    /// <summary>X-Priority: 1 (highest) to 5 (lowest), 3 by default, as UTL_MAIL.</summary>
    public int Priority { get; init; } = 3;

    /// <summary>Not sent before this time (UTC).</summary>
    public DateTimeOffset? SendAfter { get; init; }

    /// <summary>
    /// Not sent after this time: a worker that claims the mail later records it 'expired'.
    /// Later than now and than <see cref="SendAfter"/>, at most <see cref="Validation.MailRequestValidator.MaxExpiry"/> ahead.
    /// </summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The same as <see cref="ExpiresAt"/>, counted from the enqueue; give one of the two.</summary>
    public TimeSpan? ExpiresAfter { get; init; }

    /// <summary>Extra headers, e.g. List-Unsubscribe and List-Unsubscribe-Post (checked by <see cref="Validation.MailHeaderRules"/>).</summary>
    public IList<MailHeader> Headers { get; init; } = [];

    /// <summary>A key no other mail may use: a second enqueue with it is refused.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>
    /// The worker's Outbox:Profiles entry to send through (its accounts, in order); null: the
    /// profile whose SenderDomains holds the sender's domain, else "default".
    /// </summary>
    public string? Profile { get; init; }

    public IList<MailAttachment> Attachments { get; init; } = [];

    /// <summary>
    /// The outbox_template to render the mail from; its subject and bodies replace
    /// <see cref="Subject"/>, <see cref="TextBody"/> and <see cref="HtmlBody"/>, which stay null.
    /// An unknown name is refused at enqueue.
    /// </summary>
    public string? Template { get; init; }

    /// <summary>The template's data: a JSON object (at most TemplateLimits.MaxDataBytes). Null: an empty object.</summary>
    public string? TemplateData { get; init; }

    /// <summary>Which of the template's rows to use: that locale's, else its language's ("de" for "de-CH"), else the default row.</summary>
    public string? Locale { get; init; }
}
