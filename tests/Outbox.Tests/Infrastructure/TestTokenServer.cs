using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Outbox.Core.Sending;
using Outbox.Core.Sending.OAuth;

namespace Outbox.Tests.Infrastructure;

/// <summary>
/// A local OAuth2 authorization server over HTTPS (certificate from the test CA): a generic
/// client-credentials token endpoint at /token, and what MSAL uses for an Entra-style authority
/// at /{tenant} (the OpenID configuration and /oauth2/v2.0/token). It issues "token-1",
/// "token-2", ... to the one client it knows, authenticated by its secret or by a client
/// assertion signed with its certificate. A small HTTP/1.1 server of its own, so the tests need
/// no web framework (the worker processes they start must run with the program's own files).
/// </summary>
public sealed class TestTokenServer : IAsyncDisposable
{
    public const string ClientId = "outbox-app";
    public const string ClientSecret = "client-secret-7";
    public const string Tenant = "contoso";

    private readonly TcpListener _listener;
    private readonly X509Certificate2 _certificate = TestCertificates.Server();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _issued;
    private long _flooded;

    private TestTokenServer()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>A refusal repeats the secret it was sent in error_description, as careless endpoints do.</summary>
    public bool EchoSecret { get; set; }

    /// <summary>Seconds each token is valid.</summary>
    public int ExpiresIn { get; set; } = 3600;

    /// <summary>When set, a token request is answered with a JSON body that never ends (chunked, until the client hangs up).</summary>
    public bool EndlessBody { get; set; }

    /// <summary>The bytes of endless bodies the client took before it hung up.</summary>
    public long BytesFlooded => Interlocked.Read(ref _flooded);

    /// <summary>An application certificate accepted instead of the secret (MSAL's signed client assertion).</summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>Every token request: the form fields received (the secret included, for asserting).</summary>
    public ConcurrentQueue<IReadOnlyDictionary<string, string>> Requests { get; } = new();

    public string TokenEndpoint => $"https://localhost:{Port}/token";

    public string Authority => $"https://localhost:{Port}/{Tenant}";

    /// <summary>The last token issued.</summary>
    public string LastToken => $"token-{_issued}";

    public static Task<TestTokenServer> StartAsync() => Task.FromResult(new TestTokenServer());

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting.ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
        _certificate.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    // One or more HTTP/1.1 requests on one TLS connection.
    private async Task ServeAsync(TcpClient client)
    {
        using var owned = client;
        try
        {
            await using var tls = new SslStream(client.GetStream());
            await tls.AuthenticateAsServerAsync(_certificate);
            using var reader = new StreamReader(tls, Encoding.ASCII, false, 4096, leaveOpen: true);
            while (await reader.ReadLineAsync(_stop.Token) is { Length: > 0 } requestLine)
            {
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                while (await reader.ReadLineAsync(_stop.Token) is { Length: > 0 } header)
                {
                    var colon = header.IndexOf(':', StringComparison.Ordinal);
                    headers[header[..colon].Trim()] = header[(colon + 1)..].Trim();
                }

                var body = new char[int.Parse(headers.GetValueOrDefault("Content-Length", "0"), System.Globalization.CultureInfo.InvariantCulture)];
                await reader.ReadBlockAsync(body, _stop.Token);
                if (EndlessBody && requestLine.StartsWith("POST", StringComparison.Ordinal))
                {
                    await FloodAsync(tls);
                    return;
                }

                var (status, json) = Handle(requestLine.Split(' ')[0], requestLine.Split(' ')[1], new string(body));
                var payload = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(json));
                var head = Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {(status == 200 ? "OK" : "Error")}\r\nContent-Type: application/json\r\nContent-Length: {payload.Length}\r\n\r\n");
                await tls.WriteAsync(head, _stop.Token);
                await tls.WriteAsync(payload, _stop.Token);
                await tls.FlushAsync(_stop.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException or ObjectDisposedException)
        {
        }
    }

    private async Task FloodAsync(SslStream tls)
    {
        await tls.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n"u8.ToArray(), _stop.Token);
        var chunk = Encoding.ASCII.GetBytes($"10000\r\n{new string('A', 0x10000)}\r\n");
        while (BytesFlooded < 256L * 1024 * 1024)
        {
            await tls.WriteAsync(chunk, _stop.Token);
            Interlocked.Add(ref _flooded, chunk.Length);
        }
    }

    private (int Status, Dictionary<string, object> Json) Handle(string method, string path, string body)
    {
        if (method == "GET" && path.StartsWith($"/{Tenant}/v2.0/.well-known/openid-configuration", StringComparison.Ordinal))
        {
            return (200, new Dictionary<string, object>
            {
                ["issuer"] = $"{Authority}/v2.0",
                ["token_endpoint"] = $"{Authority}/oauth2/v2.0/token",
                ["authorization_endpoint"] = $"{Authority}/oauth2/v2.0/authorize",
                ["jwks_uri"] = $"{Authority}/discovery/v2.0/keys",
            });
        }

        if (method != "POST" || (path != "/token" && path != $"/{Tenant}/oauth2/v2.0/token"))
        {
            return (404, new Dictionary<string, object> { ["error"] = "not_found" });
        }

        var form = body.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(pair => WebUtility.UrlDecode(pair[0]), pair => WebUtility.UrlDecode(pair.Length > 1 ? pair[1] : string.Empty));
        Requests.Enqueue(form);
        if (form.GetValueOrDefault("grant_type") != "client_credentials"
            || form.GetValueOrDefault("client_id") != ClientId
            || (form.GetValueOrDefault("client_secret") != ClientSecret && !SignedByClientCertificate(form)))
        {
            return (401, new Dictionary<string, object> { ["error"] = "invalid_client", ["error_description"] = EchoSecret
                ? $"Invalid client secret provided: {form.GetValueOrDefault("client_secret")}"
                : "AADSTS7000215: Invalid client secret provided." });
        }

        return (200, new Dictionary<string, object>
        {
            ["access_token"] = $"token-{Interlocked.Increment(ref _issued)}",
            ["token_type"] = "Bearer",
            ["expires_in"] = ExpiresIn,
            ["ext_expires_in"] = ExpiresIn,
        });
    }

    // A client assertion (RFC 7523): a JWT the application signed with its certificate's key.
    private bool SignedByClientCertificate(Dictionary<string, string> form)
    {
        if (ClientCertificate is null
            || form.GetValueOrDefault("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            || form.GetValueOrDefault("client_assertion")?.Split('.') is not [var header, var claims, var signature])
        {
            return false;
        }

        using var key = ClientCertificate.GetRSAPublicKey()!;
        var signed = Encoding.ASCII.GetBytes($"{header}.{claims}");
        var bytes = Convert.FromBase64String(signature.Replace('-', '+').Replace('_', '/').PadRight(signature.Length + ((4 - (signature.Length % 4)) % 4), '='));
        return key.VerifyData(signed, bytes, HashAlgorithmName.SHA256, RSASignaturePadding.Pss)
            || key.VerifyData(signed, bytes, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }

    /// <summary>The worker's options for logging in to smtp as mailbox with this server's tokens (STARTTLS, the test CA).</summary>
    public SmtpOptions SmtpOptions(ScriptedSmtpServer smtp, OAuth2Provider provider, string mailbox, Action<OAuth2Options>? change = null)
    {
        ArgumentNullException.ThrowIfNull(smtp);
        var options = new SmtpOptions
        {
            Host = "localhost",
            Port = smtp.Port,
            Security = SmtpSecurity.StartTls,
            UserName = mailbox,
            CaFile = TestCertificates.CaFile,
            Timeout = TimeSpan.FromSeconds(15),
            OAuth2 = new OAuth2Options
            {
                Provider = provider,
                ClientId = ClientId,
                ClientSecret = ClientSecret,
                TokenEndpoint = TokenEndpoint,
                TenantId = Tenant,
                Authority = Authority,
            },
        };
        change?.Invoke(options.OAuth2);
        return options;
    }
}
