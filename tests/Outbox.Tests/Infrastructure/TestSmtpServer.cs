using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Outbox.Tests.Infrastructure;

/// <summary>A mail as the test server received it.</summary>
public sealed record ReceivedMail(string From, IReadOnlyList<string> To, byte[] Data, bool Secure, string? User);

/// <summary>
/// A real SMTP server in the test process (the SmtpServer package) on a loopback port:
/// STARTTLS with a certificate from <see cref="TestCertificates"/> when one is given, AUTH
/// required when credentials are given, and scripted replies for recipients and DATA.
/// </summary>
public sealed class TestSmtpServer : IAsyncDisposable
{
    public const string User = "outbox";
    public const string Password = "s3cret-pw";

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;

    private TestSmtpServer(Settings settings)
    {
        Port = LoopbackPort.Free();
        var replies = new Replies(settings, Received);
        var options = new SmtpServerOptionsBuilder()
            .ServerName("localhost")
            .Endpoint(endpoint =>
            {
                endpoint.Endpoint(new IPEndPoint(IPAddress.Loopback, Port))
                    .AllowUnsecureAuthentication(false)
                    .AuthenticationRequired(settings.RequireAuthentication)
                    .SupportedSslProtocols(settings.SslProtocols);
                if (settings.Certificate is not null)
                {
                    endpoint.Certificate(settings.Certificate);
                }
            })
            .Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add((IMessageStore)replies);
        services.Add((IMailboxFilter)replies);
        services.Add(new DelegatingUserAuthenticator((user, password) => user == User && password == Password
            || (settings.EchoRefusedPassword
                ? throw new SmtpResponseException(new SmtpResponse(SmtpReplyCode.AuthenticationFailed, $"5.7.8 \"{password}\" is not the password of {user}"))
                : false)));
        _running = new SmtpServer.SmtpServer(options, services).StartAsync(_stop.Token);
    }

    public int Port { get; }

    public ConcurrentQueue<ReceivedMail> Received { get; } = new();

    /// <summary>STARTTLS with a certificate from the test CA, AUTH required.</summary>
    public static TestSmtpServer Start(Action<Settings>? configure = null)
    {
        var settings = new Settings();
        configure?.Invoke(settings);
        return new TestSmtpServer(settings);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _running.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }


    public sealed class Settings
    {
        /// <summary>The certificate offered with STARTTLS; null: the server does not offer STARTTLS.</summary>
        public X509Certificate2? Certificate { get; set; } = TestCertificates.Server();

        public bool RequireAuthentication { get; set; } = true;

        /// <summary>A refused login's 535 reply repeats the password it was sent, as careless servers do.</summary>
        public bool EchoRefusedPassword { get; set; }

        /// <summary>The TLS versions the server accepts.</summary>
        public SslProtocols SslProtocols { get; set; } = SslProtocols.Tls12 | SslProtocols.Tls13;

        /// <summary>The reply to RCPT TO for an address; null accepts it.</summary>
        public Func<string, SmtpResponse?> RecipientReply { get; set; } = _ => null;

        /// <summary>The reply after DATA for the n-th mail (0-based) the server receives.</summary>
        public Func<int, SmtpResponse> DataReply { get; set; } = n => new SmtpResponse(SmtpReplyCode.Ok, $"2.0.0 Ok: queued as TEST{n:D4}");
    }

    private sealed class Replies(Settings settings, ConcurrentQueue<ReceivedMail> received) : MessageStore, IMailboxFilter
    {
        private int _count = -1;

        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _count);
            var reply = settings.DataReply(n);
            if (reply.ReplyCode == SmtpReplyCode.Ok)
            {
                received.Enqueue(new ReceivedMail(
                    Address(transaction.From),
                    transaction.To.Select(Address).ToList(),
                    buffer.ToArray(),
                    context.Pipe.IsSecure,
                    context.Authentication.IsAuthenticated ? context.Authentication.User : null));
            }

            return Task.FromResult(reply);
        }

        public Task<bool> CanAcceptFromAsync(ISessionContext context, IMailbox from, int size, CancellationToken cancellationToken) => Task.FromResult(true);

        public Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from, CancellationToken cancellationToken)
        {
            var reply = settings.RecipientReply(Address(to));
            if (reply is not null)
            {
                throw new SmtpResponseException(reply);
            }

            return Task.FromResult(true);
        }

        private static string Address(IMailbox mailbox) => $"{mailbox.User}@{mailbox.Host}";
    }
}
