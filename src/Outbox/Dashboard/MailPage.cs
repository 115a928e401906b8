using Outbox.Storage.Admin;

namespace Outbox.Dashboard;

/// <summary>One mail: its headers, each recipient with the server's answer, attachments with sizes (never their contents), every attempt and action.</summary>
public static class MailPage
{
    private static readonly string[] Retryable = ["failed", "unconfirmed", "cancelled", "queued"];
    private static readonly string[] Cancellable = ["draft", "queued", "unconfirmed"];

    /// <summary>The most recipients one page lists.</summary>
    public const int MaxRecipientRows = 1000;

    public static Markup Render(MessageDetails mail, DashboardRequest request)
    {
        ArgumentNullException.ThrowIfNull(mail);
        ArgumentNullException.ThrowIfNull(request);
        var m = mail.Message;
        Markup Field(string name, string? value) => value is null ? Markup.Empty : Html.Of($"<tr><th>{name}</th><td>{value}</td></tr>");
        var body = string.Join(" + ", new[] { m.HasTextBody ? "text" : null, m.HasHtmlBody ? "html" : null }.Where(b => b is not null));
        var headers = Html.Join([
            Field("Status", $"{m.Status} ({m.Kind}), {m.AttemptCount} attempt(s)"),
            Field("From", m.Sender),
            Field("Reply-To", m.ReplyTo),
            Field("Subject", m.Subject),
            Field("Message-ID", m.MimeMessageId),
            Field("X-Priority", m.Priority.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Field("Body", body),
            Field("Idempotency key", m.IdempotencyKey),
            Field("Created", m.CreatedAt),
            Field("Send after", m.SendAfter),
            Field("Expires at", m.ExpiresAt),
            .. Core.Validation.MailHeaderRules.Parse(m.Headers).Select(h => Field(h.Name, h.Value)),
            Field("Due", m.DueAt is null ? null : m.DueAt + (m.LeaseOwner is null ? string.Empty : $" (leased by {m.LeaseOwner})")),
            Field("Sent", m.SentAt),
            Field("Last reply", m.SmtpCode is null && m.SmtpReply is null ? null : $"{m.SmtpCode} {m.SmtpReply}"),
            Field("Last error", m.LastError),
        ]);
        // Bounded like every value: a mail stored before max_recipients may have any number.
        var hidden = mail.Recipients.Count - MaxRecipientRows;
        var recipients = Html.Join(mail.Recipients.Take(MaxRecipientRows).Select(r => Html.Of(
            $"""<tr><td>{r.Kind}</td><td>{r.Address}</td><td class="status-{(r.Status == "accepted" ? "sent" : r.Status == "rejected" ? "failed" : string.Empty)}">{r.Status ?? (r.SmtpReply is null ? "not tried yet" : "unconfirmed")}</td><td>{r.SmtpReply}</td></tr>""")).Append(hidden > 0 ? Html.Of($"""<tr><td colspan="4">… ({hidden} more)</td></tr>""") : Markup.Empty));
        var attachments = mail.Attachments.Count == 0
            ? Html.Of($"<p>None.</p>")
            : Html.Of($"""
                <table id="attachments"><tr><th>name</th><th>type</th><th>bytes</th><th></th></tr>
                {Html.Join(mail.Attachments.Select(a => Html.Of($"""<tr><td>{a.FileName ?? "(no name)"}</td><td>{a.MimeType}</td><td class="n">{a.Size.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)}</td><td>{(a.IsInline ? "inline" : string.Empty)}{(a.ContentId is null ? string.Empty : $" cid:{a.ContentId}")}</td></tr>""")))}
                </table>
                """);
        var attempts = Html.Join(mail.Attempts.Select(a => Html.Of(
            $"""<tr class="outcome-{a.Outcome}"><td>{(a.AttemptNo == OutboxAdmin.ActionAttemptNo ? "action" : "#" + a.AttemptNo)}</td><td>{a.AttemptedAt}</td><td>{a.Worker}</td><td>{a.Account}</td><td>{a.Outcome}</td><td>{a.SmtpCode}</td><td>{a.SmtpReply}</td><td>{(a.Error == a.SmtpReply ? null : a.Error)}</td></tr>""")));
        var actions = Html.Join([
            Html.Of($"""<a id="eml" href="/mails/{m.Id}/eml">Download .eml</a> """),
            request.AllowActions && Retryable.Contains(m.Status) ? Html.Of($"""<a id="retry" href="/mails/{m.Id}/retry">Retry…</a> """) : Markup.Empty,
            request.AllowActions && Cancellable.Contains(m.Status) ? Html.Of($"""<a id="cancel" href="/mails/{m.Id}/cancel">Cancel…</a>""") : Markup.Empty,
        ]);
        return Layout.Page($"Mail {m.Id}", request, Html.Of($"""
            <p class="actions">{actions}</p>
            <table id="headers">{headers}</table>
            <h2>Recipients</h2>
            <table id="recipients"><tr><th>kind</th><th>address</th><th>status</th><th>server's answer</th></tr>{recipients}</table>
            <h2>Attachments</h2>
            {attachments}
            <h2>Attempts and actions</h2>
            <table id="attempts"><tr><th></th><th>when</th><th>who</th><th>account</th><th>outcome</th><th>code</th><th>reply</th><th>error</th></tr>{attempts}</table>
            """));
    }
}
