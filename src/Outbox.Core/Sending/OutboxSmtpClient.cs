using MailKit.Net.Smtp;
using MimeKit;

namespace Outbox.Core.Sending;

/// <summary>
/// MailKit's client, changed in one way: a refused recipient is recorded instead of aborting the
/// whole mail, so the others still receive it and the refusal is kept per recipient.
/// </summary>
internal sealed class OutboxSmtpClient : SmtpClient
{
    private readonly List<RecipientRejection> _rejected = [];

    /// <summary>Recipients refused during the last send.</summary>
    public IReadOnlyList<RecipientRejection> TakeRejected()
    {
        var rejected = _rejected.ToList();
        _rejected.Clear();
        return rejected;
    }

    protected override void OnRecipientNotAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response)
    {
        _rejected.Add(new RecipientRejection(mailbox.Address, (int)response.StatusCode, response.Response));
    }

    protected override void OnNoRecipientsAccepted(MimeMessage message)
    {
        throw new AllRecipientsRejectedException(TakeRejected());
    }
}
