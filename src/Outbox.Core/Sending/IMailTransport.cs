namespace Outbox.Core.Sending;

/// <summary>Where mail goes: an SMTP server or a pickup directory.</summary>
public interface IMailTransport
{
    /// <summary>
    /// Opens a session (connect, TLS, AUTH for SMTP). Throws
    /// <see cref="TransportConfigurationException"/> for errors no retry can fix.
    /// </summary>
    Task<IMailSession> OpenAsync(CancellationToken cancellationToken);
}
