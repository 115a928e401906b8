using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Outbox.Bench;

/// <summary>
/// A minimal SMTP receiver for the scenarios smtp-sink cannot serve: it offers STARTTLS and
/// AUTH PLAIN (when tls is on) and notes when each message arrived. Its sockets use TCP_NODELAY,
/// so its replies are not held back by Nagle's algorithm (the SmtpServer package's are, about
/// 40 ms a message, which would measure the test server rather than the outbox).
/// </summary>
public sealed class Receiver : IAsyncDisposable
{
    public const string User = "bench";
    public const string Password = "bench-pw";

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly X509Certificate2? _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public Receiver(bool tls, string work)
    {
        if (tls)
        {
            _certificate = SelfSigned();
            CaFile = Path.Combine(work, "receiver-ca.pem");
            File.WriteAllText(CaFile, _certificate.ExportCertificatePem());
        }

        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string? CaFile { get; }

    /// <summary>Subject → Stopwatch timestamp of arrival (just before the 250 is sent).</summary>
    public ConcurrentDictionary<string, long> Arrivals { get; } = new();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting.ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            client.NoDelay = true;
            _ = Task.Run(() => SessionAsync(client));
        }
    }

    private async Task SessionAsync(TcpClient client)
    {
        using var owned = client;
        Stream stream = client.GetStream();
        try
        {
            var (reader, writer) = Open(stream);
            await writer.WriteLineAsync("220 receiver ESMTP");
            var inData = false;
            string? subject = null;
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                if (inData)
                {
                    if (line == ".")
                    {
                        Arrivals[subject ?? string.Empty] = Stopwatch.GetTimestamp();
                        await writer.WriteLineAsync("250 2.0.0 Ok: queued");
                        inData = false;
                    }
                    else if (subject is null && line.StartsWith("Subject: ", StringComparison.Ordinal))
                    {
                        subject = line[9..];
                    }

                    continue;
                }

                var verb = line.Split(' ')[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        var secure = stream is SslStream;
                        await writer.WriteLineAsync(_certificate is null ? "250-receiver\r\n250 PIPELINING"
                            : secure ? "250-receiver\r\n250-PIPELINING\r\n250 AUTH PLAIN" : "250-receiver\r\n250-PIPELINING\r\n250 STARTTLS");
                        break;
                    case "STARTTLS":
                        await writer.WriteLineAsync("220 2.0.0 Ready to start TLS");
                        var tls = new SslStream(stream);
                        await tls.AuthenticateAsServerAsync(_certificate!);
                        stream = tls;
                        (reader, writer) = Open(stream);
                        break;
                    case "AUTH":
                        var expected = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{User}\0{Password}"));
                        await writer.WriteLineAsync(line.EndsWith(expected, StringComparison.Ordinal) ? "235 2.7.0 Authentication successful" : "535 5.7.8 Authentication failed");
                        break;
                    case "DATA":
                        inData = true;
                        subject = null;
                        await writer.WriteLineAsync("354 End data with <CR><LF>.<CR><LF>");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 2.0.0 Bye");
                        return;
                    default:
                        await writer.WriteLineAsync("250 Ok");
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
        }
    }

    private static (StreamReader Reader, StreamWriter Writer) Open(Stream stream) =>
        (new StreamReader(stream, Encoding.Latin1, false, 4096, leaveOpen: true),
         new StreamWriter(stream, Encoding.Latin1, 4096, leaveOpen: true) { NewLine = "\r\n", AutoFlush = true });

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
}
