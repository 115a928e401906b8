using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Identity.Client;

namespace Outbox.Core.Sending.OAuth;

/// <summary>
/// Microsoft 365 / Entra ID: the app's own token (client credentials, secret or certificate)
/// through MSAL, which caches it and renews it before it expires.
/// </summary>
internal sealed class MicrosoftTokenSource : IAccessTokenSource
{
    private readonly IConfidentialClientApplication _app;
    private readonly string[] _scopes;
    private readonly string _authority;
    private readonly Secrets.SecretScrubber _scrubber;
    private readonly TokenPurpose _purpose;

    public MicrosoftTokenSource(OAuth2Options options, HttpClient http, TokenPurpose purpose)
    {
        _purpose = purpose;
        _authority = string.IsNullOrWhiteSpace(options.Authority)
            ? $"https://login.microsoftonline.com/{options.TenantId}"
            : options.Authority.TrimEnd('/');
        _scopes = [string.IsNullOrWhiteSpace(options.Scope) ? purpose.DefaultScope : options.Scope];
        var builder = ConfidentialClientApplicationBuilder.Create(options.ClientId)
            .WithHttpClientFactory(new SingleHttpClient(http));
        // A configured authority (a sovereign cloud, or a test's) is taken as given, without
        // asking Microsoft's instance discovery about it.
        builder = string.IsNullOrWhiteSpace(options.Authority)
            ? builder.WithAuthority(_authority)
            : builder.WithAuthority(_authority, validateAuthority: false).WithInstanceDiscovery(false);
        builder = string.IsNullOrWhiteSpace(options.CertificateFile)
            ? builder.WithClientSecret(ClientCredentials.Secret(options, purpose.Key) ?? string.Empty)
            : builder.WithCertificate(LoadCertificate(options, purpose.Key));
        _app = builder.Build();
        _scrubber = new Secrets.SecretScrubber([ClientCredentials.Secret(options, purpose.Key), options.CertificatePassword]);
    }

    public string Describe => $"Microsoft Entra ({_authority})";

    public async Task<AccessToken> GetAsync(CancellationToken cancellationToken)
    {
        try
        {
            var result = await _app.AcquireTokenForClient(_scopes).ExecuteAsync(cancellationToken).ConfigureAwait(false);
            return new AccessToken(result.AccessToken, result.ExpiresOn);
        }
        catch (MsalException ex)
        {
            throw new TransportConfigurationException(
                $"OAuth2: {Describe} gave no token ({ex.ErrorCode}: {_scrubber.Scrub(Reason(ex))}). Check {_purpose.Key}:TenantId, ClientId and the secret or certificate; {_purpose.MicrosoftPermission}", ex);
        }
    }

    private static X509Certificate2 LoadCertificate(OAuth2Options options, string key)
    {
        var path = options.CertificateFile!;
        try
        {
            return path.EndsWith(".pem", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".crt", StringComparison.OrdinalIgnoreCase)
                ? X509Certificate2.CreateFromPemFile(path)
                : X509CertificateLoader.LoadPkcs12FromFile(path, options.CertificatePassword);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new TransportConfigurationException($"{key}:CertificateFile: cannot load {path} ({ex.Message.TrimEnd('.')}); it must be a PFX, or a PEM file holding the certificate and its private key", ex);
        }
    }

    // Entra's own words (error_description, e.g. "AADSTS7000215: Invalid client secret
    // provided."), without MSAL's advice around them or the trace ids after them.
    private static string Reason(MsalException ex)
    {
        var text = ex.Message;
        if (ex is MsalServiceException { ResponseBody: { Length: > 0 } body })
        {
            try
            {
                using var json = System.Text.Json.JsonDocument.Parse(body);
                if (json.RootElement.TryGetProperty("error_description", out var description) && description.GetString() is { Length: > 0 } server)
                {
                    text = server;
                }
            }
            catch (System.Text.Json.JsonException)
            {
                // Not JSON: MSAL's message is all there is.
            }
        }

        return text.Split('\n', 2)[0].Trim();
    }

    private sealed class SingleHttpClient(HttpClient http) : IMsalHttpClientFactory
    {
        public HttpClient GetHttpClient() => http;
    }
}
