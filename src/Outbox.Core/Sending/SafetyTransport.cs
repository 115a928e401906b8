using MimeKit;
using Outbox.Core.Messages;

namespace Outbox.Core.Sending;

/// <summary>
/// Outbox:Safety around the configured transport, just before each mail goes out: recipients
/// outside the allowed domains are replaced by the redirect addresses (or dropped), in the
/// envelope and in the To and Cc headers. The original To and Cc go in the header
/// X-Outbox-Original-Recipients; Bcc recipients are only counted there (the mail may still
/// reach allowed recipients, who must not learn them), and named in the attempt's reply, which
/// only the database's readers see. The server's answer for a redirect address stands for the
/// recipients it replaced, so each original recipient is still accounted for.
/// </summary>
public sealed class SafetyTransport(IMailTransport inner, SafetyOptions options) : IMailTransport
{
    /// <summary>The header that keeps the original recipients of a redirected mail.</summary>
    public const string OriginalRecipientsHeader = "X-Outbox-Original-Recipients";

    // Room for the header's name on one 998-character line.
    private const int MaxHeaderChars = 900;

    // Addresses named in a reply before "and N more".
    private const int MaxNamed = 10;

    public LostReplyPolicy LostReplyPolicy => inner.LostReplyPolicy;

    public Secrets.SecretScrubber Secrets => inner.Secrets;

    public string? PauseScope(ClaimedMessage mail) => inner.PauseScope(mail);

    public async Task<IMailSession> OpenAsync(CancellationToken cancellationToken) =>
        new Session(await inner.OpenAsync(cancellationToken).ConfigureAwait(false), options);

    private sealed class Session(IMailSession inner, SafetyOptions options) : IMailSession
    {
        public bool IsConnected => inner.IsConnected;

        public bool CanSendMore => inner.CanSendMore;

        public string Account => inner.Account;

        public ValueTask DisposeAsync() => inner.DisposeAsync();

        public async Task<DeliveryResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
        {
            var envelope = message.Recipients;
            var diverted = envelope.Where(r => !Allowed(r)).ToList();
            if (diverted.Count == 0)
            {
                return await inner.SendAsync(message, cancellationToken).ConfigureAwait(false);
            }

            var kept = envelope.Where(Allowed).ToList();
            var redirect = options.RedirectTo.Select(MailboxAddress.Parse).ToList();
            var dropped = redirect.Count > 0 ? [] : diverted.Select(r => new RecipientRejection(r.Address, 550,
                $"not sent: Outbox:Safety sends only to {string.Join(", ", options.AllowedDomains)}, and Outbox:Safety:RedirectTo is empty")).ToList();
            var readdressed = kept.Concat(redirect).DistinctBy(r => r.Address, StringComparer.OrdinalIgnoreCase).ToList();
            if (readdressed.Count == 0)
            {
                throw new AllRecipientsRejectedException(dropped);
            }

            Rewrite(message.Message, envelope, redirect);
            message.Readdress(readdressed);
            var note = redirect.Count > 0
                ? $"Outbox:Safety sent it to {Named(redirect)} instead of {Named(diverted)}"
                : $"Outbox:Safety did not send it to {Named(diverted)}";
            DeliveryResult result;
            try
            {
                result = await inner.SendAsync(message, cancellationToken).ConfigureAwait(false);
            }
            catch (AllRecipientsRejectedException none)
            {
                throw new AllRecipientsRejectedException([.. Mapped(none.Rejections, diverted, redirect), .. dropped]);
            }

            return result with { Reply = $"{result.Reply} ({note})", Rejected = [.. Mapped(result.Rejected, diverted, redirect), .. dropped] };
        }

        // The answers for the mail's own recipients: a kept recipient's as given; a replaced one
        // takes the refusal of the redirect addresses when every one of them was refused (it
        // was delivered, to them, when any took it).
        private static List<RecipientRejection> Mapped(IReadOnlyList<RecipientRejection> rejections, List<MailboxAddress> diverted, List<MailboxAddress> redirect)
        {
            var redirected = redirect.Select(r => r.Address).ToHashSet(StringComparer.OrdinalIgnoreCase);
            var own = rejections.Where(r => !redirected.Contains(r.Address)).ToList();
            var refused = rejections.Where(r => redirected.Contains(r.Address)).ToList();
            if (redirect.Count > 0 && refused.DistinctBy(r => r.Address, StringComparer.OrdinalIgnoreCase).Count() == redirected.Count)
            {
                var first = refused[0];
                own.AddRange(diverted.Select(d => first with { Address = d.Address, Reply = $"redirected by Outbox:Safety to {first.Address}, which was refused: {first.Reply}" }));
            }

            return own;
        }

        private bool Allowed(MailboxAddress recipient)
        {
            var at = recipient.Address.LastIndexOf('@');
            var domain = at < 0 ? string.Empty : recipient.Address[(at + 1)..];
            return options.AllowedDomains.Any(d => string.Equals(d.Trim(), domain, StringComparison.OrdinalIgnoreCase));
        }

        // To and Cc keep only the allowed recipients, and To gains the redirect addresses; the
        // originals are kept in a header, Bcc counted only.
        private void Rewrite(MimeMessage message, IReadOnlyList<MailboxAddress> envelope, List<MailboxAddress> redirect)
        {
            var shown = message.To.Mailboxes.Concat(message.Cc.Mailboxes).Select(m => m.Address).ToHashSet(StringComparer.OrdinalIgnoreCase);
            var hidden = envelope.Count(r => !shown.Contains(r.Address));
            var parts = new List<string>();
            foreach (var (name, list) in new[] { ("To", message.To), ("Cc", message.Cc) })
            {
                if (list.Mailboxes.Any())
                {
                    parts.Add($"{name}: {string.Join(", ", list.Mailboxes.Select(m => m.Address))}");
                }
            }

            if (hidden > 0)
            {
                parts.Add($"Bcc: {hidden} not shown");
            }

            var originals = string.Join("; ", parts);
            message.Headers.RemoveAll(OriginalRecipientsHeader);
            message.Headers.Add(OriginalRecipientsHeader, originals.Length <= MaxHeaderChars ? originals : originals[..(MaxHeaderChars - 1)] + "…");
            var to = message.To.Mailboxes.Where(Allowed).Concat(redirect).DistinctBy(m => m.Address, StringComparer.OrdinalIgnoreCase).ToList();
            var cc = message.Cc.Mailboxes.Where(Allowed).ToList();
            message.To.Clear();
            message.To.AddRange(to);
            message.Cc.Clear();
            message.Cc.AddRange(cc);
        }

        private static string Named(List<MailboxAddress> addresses) =>
            string.Join(", ", addresses.Take(MaxNamed).Select(a => a.Address)) + (addresses.Count > MaxNamed ? $" and {addresses.Count - MaxNamed} more" : string.Empty);
    }
}
