namespace Outbox.Core.Sending;

/// <summary>
/// What to do with a mail whose fate is unknown: its data reached the server but the reply was
/// lost, or the worker sending it died. SMTP cannot tell whether the server kept it.
/// </summary>
public enum LostReplyPolicy
{
    /// <summary>
    /// Send it again (at least once): no mail is lost; a receiver may get it twice, and can
    /// recognise the copy by its unchanged Message-ID.
    /// </summary>
    Resend,

    /// <summary>
    /// Stop it in status 'unconfirmed' for an operator (at most once): `outbox retry ID` sends it
    /// again, `outbox cancel ID` leaves it be.
    /// </summary>
    Hold,
}
