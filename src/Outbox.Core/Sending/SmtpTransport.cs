using System.Net.Sockets;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;

namespace Outbox.Core.Sending;

/// <summary>Sends through an SMTP server with MailKit: TLS strict by default, AUTH only over TLS.</summary>
public sealed class SmtpTransport : IMailTransport
{
    private readonly SmtpOptions _options;
    private readonly string? _password;
    private readonly OAuth.IAccessTokenSource? _tokens;
    private readonly ILogger _logger;

    /// <summary>The account name recorded with each attempt: "default" for Outbox:Smtp, else the Outbox:Accounts entry.</summary>
    public const string DefaultAccount = "default";

    // The exchanges of a connection's setup: greeting, EHLO, STARTTLS with its handshake, EHLO.
    private const int SetupSteps = 4;

    public SmtpTransport(SmtpOptions options, ILogger<SmtpTransport> logger, OAuth.IAccessTokenSource? tokens = null, string account = DefaultAccount)
    {
        Account = account;
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _password = SmtpPassword.Resolve(options);
        _tokens = tokens ?? OAuth.AccessTokenSources.Create(options);
        Secrets = new Secrets.SecretScrubber([_password, options.OAuth2.Provider == OAuth.OAuth2Provider.None ? null : OAuth.ClientCredentials.Secret(options.OAuth2)]);
        _logger = logger;
    }

    /// <summary>How this transport logs in, for `outbox check smtp` (never a secret).</summary>
    internal string LoginDescription => _tokens is null
        ? $"logged in as \"{_options.UserName}\""
        : $"logged in as \"{_options.UserName}\" with an OAuth2 token (XOAUTH2) from {_tokens.Describe}";

    public LostReplyPolicy LostReplyPolicy => _options.LostReplyPolicy;

    public Secrets.SecretScrubber Secrets { get; }

    public string Account { get; }

    internal SmtpOptions Options => _options;

    public async Task<IMailSession> OpenAsync(CancellationToken cancellationToken)
    {
        OutboxSmtpClient client;
        try
        {
            client = await OpenClientAsync(NewValidator(), cancellationToken).ConfigureAwait(false);
        }
        catch (SmtpCommandException ex) when (SmtpThrottling.Recognize(ex, Account) is { } throttled)
        {
            // Too many sessions or logins for the account (421 4.7.0 to the greeting, 454 4.7.0).
            throw throttled;
        }

        Log.Connected(_logger, _options.Host, _options.Port, _options.Security, client.IsSecure);
        return new SmtpSession(client, _options.MessagesPerConnection, Account);
    }

    internal CertificateValidator NewValidator() =>
        new(_options.Host, CertificateValidator.LoadCaFile(_options.CaFile), _options.CertificatePins);

    /// <summary>Connects, secures and authenticates exactly as a worker does.</summary>
    internal async Task<OutboxSmtpClient> OpenClientAsync(CertificateValidator validator, CancellationToken cancellationToken)
    {
        var client = await ConnectClientAsync(validator, cancellationToken).ConfigureAwait(false);
        try
        {
            await LogInAsync(client, cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>The login of a connected client, as the worker does it (for `outbox check smtp`, a step of its own).</summary>
    internal Task LogInAsync(OutboxSmtpClient client, CancellationToken cancellationToken) => AuthenticateAsync(client, cancellationToken);

    /// <summary>Connects and secures as a worker does: greeting, EHLO, STARTTLS, EHLO; no login yet.</summary>
    internal async Task<OutboxSmtpClient> ConnectClientAsync(CertificateValidator validator, CancellationToken cancellationToken)
    {
        var client = new OutboxSmtpClient(_options.Timeout)
        {
            ServerCertificateValidationCallback = validator.Validate,
            CheckCertificateRevocation = false,
        };
        if (!string.IsNullOrWhiteSpace(_options.LocalDomain))
        {
            client.LocalDomain = _options.LocalDomain;
        }

        try
        {
            await ConnectAsync(client, validator, cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private async Task ConnectAsync(OutboxSmtpClient client, CertificateValidator validator, CancellationToken cancellationToken)
    {
        var where = $"{_options.Host}:{_options.Port}";
        var socketOptions = _options.Security switch
        {
            SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
            SmtpSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
            _ => SecureSocketOptions.None,
        };
        try
        {
            // Our own socket, for TCP_NODELAY: with Nagle's algorithm the last small write of a
            // message (the final dot) waits for the server's delayed ACK, about 40 ms a message.
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                connectTimeout.CancelAfter(_options.Timeout);
                await socket.ConnectAsync(_options.Host, _options.Port, connectTimeout.Token).ConfigureAwait(false);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            client.Guard.Attach(socket);

            // Greeting, EHLO, STARTTLS and EHLO again each get Timeout from the reply guard; this
            // bounds the whole, the TLS handshake included, which the guard cannot see.
            using var setupTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            setupTimeout.CancelAfter(_options.Timeout * SetupSteps);
            await client.ConnectAsync(socket, _options.Host, _options.Port, socketOptions, setupTimeout.Token).ConfigureAwait(false);
        }
        catch (SslHandshakeException ex) when (validator.Failure is not null)
        {
            throw new TransportConfigurationException($"TLS with {where} failed: {validator.Failure}.", ex);
        }
        catch (SslHandshakeException ex)
        {
            var hint = _options.Security == SmtpSecurity.SslOnConnect
                ? "If this port expects STARTTLS (usually 587 or 25), set Outbox:Smtp:Security to StartTls"
                : "The server may accept only TLS versions this machine refuses (TLS 1.0 or 1.1): have it upgraded to TLS 1.2 or later";
            throw new TransportConfigurationException(
                $"TLS with {where} failed before the certificate could be checked ({ex.GetBaseException().Message.TrimEnd('.')}). {hint}", ex);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var hint = _options.Security == SmtpSecurity.StartTls
                ? " If it is an SMTPS port (usually 465), set Outbox:Smtp:Security to SslOnConnect."
                : string.Empty;
            throw new SmtpConnectException($"{where} did not answer within {_options.Timeout} (Outbox:Smtp:Timeout).{hint}", ex);
        }
        catch (NotSupportedException ex) when (_options.Security == SmtpSecurity.StartTls)
        {
            throw new TransportConfigurationException(
                $"{where} does not offer STARTTLS, so nothing was sent: Outbox never falls back to plaintext. "
                + "Use the server's submission port that offers STARTTLS, or Security=SslOnConnect for port 465", ex);
        }
        catch (SocketException ex)
        {
            throw new SmtpConnectException($"could not connect to {where}: {ex.Message}", ex);
        }
    }

    private async Task AuthenticateAsync(OutboxSmtpClient client, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(_options.UserName))
        {
            return;
        }

        if (!client.IsSecure)
        {
            throw new TransportConfigurationException(
                "Outbox:Smtp:UserName is set but the connection is not encrypted (Security=None): the password is never sent in plaintext. Use StartTls or SslOnConnect");
        }

        if (!client.Capabilities.HasFlag(SmtpCapabilities.Authentication))
        {
            throw new TransportConfigurationException(
                $"{_options.Host}:{_options.Port} does not offer AUTH after TLS, yet Outbox:Smtp:UserName is set. Remove the user name, or use the server's submission port");
        }

        if (_tokens is not null)
        {
            await AuthenticateWithTokenAsync(client, _tokens, cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            await client.AuthenticateAsync(_options.UserName, _password ?? string.Empty, cancellationToken).ConfigureAwait(false);
        }
        catch (AuthenticationException ex)
        {
            throw new TransportConfigurationException(
                $"{_options.Host}:{_options.Port} refused the login of \"{_options.UserName}\" ({new Secrets.SecretScrubber([_password]).Scrub(ex.Message)}). Check Outbox:Smtp:UserName and the password (Outbox:Smtp:Password, Outbox__Smtp__Password or Outbox:Smtp:PasswordFile)", ex);
        }
    }

    private async Task AuthenticateWithTokenAsync(OutboxSmtpClient client, OAuth.IAccessTokenSource tokens, CancellationToken cancellationToken)
    {
        var where = $"{_options.Host}:{_options.Port}";
        if (!client.AuthenticationMechanisms.Contains("XOAUTH2"))
        {
            throw new TransportConfigurationException(
                $"{where} does not offer XOAUTH2 (it offers {string.Join(' ', client.AuthenticationMechanisms)}), so an OAuth2 token cannot be used. Set Outbox:Smtp:OAuth2:Provider to None and use a password, or use a server that takes tokens");
        }

        var token = await tokens.GetAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await client.AuthenticateAsync(new SaslMechanismOAuth2(_options.UserName!, token.Value), cancellationToken).ConfigureAwait(false);
        }
        catch (AuthenticationException ex)
        {
            throw new TransportConfigurationException(
                $"{where} refused the OAuth2 token for \"{_options.UserName}\" ({new Secrets.SecretScrubber([token.Value]).Scrub(ex.Message)!.TrimEnd('.')}). The token came from {tokens.Describe}; "
                + "check that Outbox:Smtp:UserName is the mailbox the app may send as (Microsoft 365: an Exchange service principal with permission on that mailbox)", ex);
        }
    }
}
