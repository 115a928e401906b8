using System.Net.Security;

namespace Outbox.Core.Sending.OAuth;

/// <summary>
/// The HTTP client token requests go through: certificates are checked as the SMTP server's
/// are, against the system store plus Outbox:Smtp:CaFile (for a company's own identity provider
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
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                    new CertificateValidator(((SslStream)sender).TargetHostName, extraRoots, []).Validate(sender, certificate, chain, errors),
            },
        };
        return new HttpClient(handler) { Timeout = timeout, MaxResponseContentBufferSize = MaxResponseBytes };
    }
}
