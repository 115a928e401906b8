namespace Outbox.Core.Sending;

/// <summary>
/// The transport cannot work as configured (TLS refused, certificate not trusted, login
/// refused, no STARTTLS): retrying changes nothing until an operator changes the configuration
/// or the server. The message names the cause and the setting to change, never a secret.
/// </summary>
public sealed class TransportConfigurationException : Exception
{
    public TransportConfigurationException(string message)
        : base(message)
    {
    }

    public TransportConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The server's reply code when a reply said so (530: authentication or TLS required).</summary>
    public int? SmtpCode { get; init; }

    public TransportConfigurationException()
    {
    }
}
