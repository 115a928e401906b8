namespace Outbox.Core.Sending;

/// <summary>Where mail goes: an SMTP server or a pickup directory.</summary>
public interface IMailTransport
{
    /// <summary>What to do when a mail's fate is unknown (lost reply, worker died while sending).</summary>
    LostReplyPolicy LostReplyPolicy { get; }

    /// <summary>The configured secrets, removed from every reply and error text of a server before it is recorded or logged.</summary>
    Secrets.SecretScrubber Secrets => Outbox.Core.Secrets.SecretScrubber.None;

    /// <summary>
    /// What a failure of the transport itself while sending this mail (unreachable, refusing
    /// service, at its rate limit, misconfigured) holds up: null for everything (one server);
    /// with accounts and profiles, the mail's profile, so other profiles' mails go on.
    /// </summary>
    string? PauseScope(Messages.ClaimedMessage mail) => null;

    /// <summary>
    /// Opens a session (connect, TLS, AUTH for SMTP). Throws
    /// <see cref="TransportConfigurationException"/> for errors no retry can fix.
    /// </summary>
    Task<IMailSession> OpenAsync(CancellationToken cancellationToken);
}
