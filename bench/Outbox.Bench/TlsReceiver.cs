using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Outbox.Bench;

/// <summary>
/// An in-process SMTP server (the SmtpServer package), with STARTTLS + AUTH or plain, that
/// notes when each message arrived: for the scenarios smtp-sink cannot serve.
/// </summary>
public sealed class TlsReceiver : IAsyncDisposable
{
    public const string User = "bench";
    public const string Password = "bench-pw";

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;

    public TlsReceiver(bool tls, string work)
    {
        Port = FreePort();
        var builder = new SmtpServerOptionsBuilder().ServerName("localhost");
        if (tls)
        {
            var certificate = SelfSigned();
            CaFile = Path.Combine(work, "receiver-ca.pem");
            File.WriteAllText(CaFile, certificate.ExportCertificatePem());
            builder.Endpoint(e => e.Endpoint(new IPEndPoint(IPAddress.Loopback, Port)).Certificate(certificate).AllowUnsecureAuthentication(false).AuthenticationRequired());
        }
        else
        {
            builder.Endpoint(e => e.Endpoint(new IPEndPoint(IPAddress.Loopback, Port)));
        }

        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Store(Arrivals));
        services.Add(new DelegatingUserAuthenticator((user, password) => user == User && password == Password));
        _running = new SmtpServer.SmtpServer(builder.Build(), services).StartAsync(_stop.Token);
    }

    public int Port { get; }

    public string? CaFile { get; }

    /// <summary>Subject → Stopwatch timestamp of arrival (just before the 250 is sent).</summary>
    public ConcurrentDictionary<string, long> Arrivals { get; } = new();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _running;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class Store(ConcurrentDictionary<string, long> arrivals) : MessageStore
    {
        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            var arrived = Stopwatch.GetTimestamp();
            var text = Encoding.ASCII.GetString(buffer.Length > 4096 ? buffer.Slice(0, 4096).ToArray() : buffer.ToArray());
            var subject = text.Split("\r\n").FirstOrDefault(l => l.StartsWith("Subject: ", StringComparison.Ordinal))?[9..] ?? string.Empty;
            arrivals[subject] = arrived;
            return Task.FromResult(SmtpResponse.Ok);
        }
    }
}
