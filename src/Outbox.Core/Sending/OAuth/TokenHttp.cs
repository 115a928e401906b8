using System.Net.Security;

namespace Outbox.Core.Sending.OAuth;

/// <summary>
/// The HTTP client token requests and Graph's requests go through: certificates are checked as the SMTP server's
/// are, against the system store plus the CaFile of Outbox:Smtp or Outbox:Graph (for a company's own identity provider
/// or a TLS-inspecting proxy).
/// </summary>
internal static class TokenHttp
{
    /// <summary>A token response is a few KB; an endpoint that sends more is cut off, not buffered (HttpClient's own limit is 2 GB).</summary>
    public const int MaxResponseBytes = 256 * 1024;

    public static HttpClient Create(string? caFile, TimeSpan timeout)
    {
        var extraRoots = CertificateValidator.LoadCaFile(caFile);
        var handler = new SocketsHttpHandler
        {
            // A body left unread (the rest of an error page) closes the connection rather than
            // being read to reuse it: a server that keeps sending is cut off.
            MaxResponseDrainSize = 0,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                    new CertificateValidator(((SslStream)sender).TargetHostName, extraRoots, []).Validate(sender, certificate, chain, errors),
            },
        };
        return new HttpClient(handler) { Timeout = timeout, MaxResponseContentBufferSize = MaxResponseBytes };
    }
}
