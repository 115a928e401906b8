using Outbox.Core.Sending.OAuth;

namespace Outbox.Core.Sending.Graph;

/// <summary>
/// Sends through Microsoft Graph: POST {BaseUrl}/users/{Mailbox}/sendMail with the MIME
/// message in base64 (past 4 MB, a draft, its attachments and /send), as the app itself (client credentials). One HttpClient for every session,
/// trusting the system store plus CaFile, each request bounded by Timeout.
/// </summary>
public sealed class GraphTransport : IMailTransport, IDisposable
{
    /// <summary>
    /// Graph's limit on a request (about 4 MB). A mail whose base64 fits goes in one sendMail;
    /// a larger one through a draft and upload sessions (<see cref="GraphDraft"/>).
    /// </summary>
    public const long MaxRequestBytes = 4L * 1024 * 1024;

    /// <param name="key">The configuration section, for errors: Outbox:Graph or Outbox:Accounts:NAME.</param>
    public GraphTransport(GraphOptions options, string key = "Outbox:Graph", string account = SmtpTransport.DefaultAccount, IAccessTokenSource? tokens = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        Key = key;
        Account = account;
        Tokens = tokens ?? AccessTokenSources.Create(options.OAuth2, options.CaFile, options.Timeout, TokenPurpose.Graph($"{key}:OAuth2", options.TokenScope()))
            ?? throw new TransportConfigurationException($"{key}:OAuth2:Provider: is None; Graph takes only OAuth2 tokens. Set it to Microsoft (or TokenEndpoint)");
        Http = TokenHttp.Create(options.CaFile, options.Timeout);
        Secrets = new Secrets.SecretScrubber([ClientCredentials.Secret(options.OAuth2, $"{key}:OAuth2"), options.OAuth2.CertificatePassword]);
    }

    public GraphOptions Options { get; }

    /// <summary>The configuration section errors name.</summary>
    public string Key { get; }

    public string Account { get; }

    public LostReplyPolicy LostReplyPolicy => Options.LostReplyPolicy;

    public Secrets.SecretScrubber Secrets { get; }

    internal IAccessTokenSource Tokens { get; }

    internal HttpClient Http { get; }

    /// <summary>{BaseUrl}/users/{Mailbox}: the mailbox's resource, under which sendMail is.</summary>
    internal Uri MailboxUrl => new($"{Options.BaseUrl.TrimEnd('/')}/users/{Uri.EscapeDataString(Options.Mailbox ?? string.Empty)}");

    /// <summary>No connection to open: HttpClient connects (and reconnects) as requests need it.</summary>
    public Task<IMailSession> OpenAsync(CancellationToken cancellationToken) => Task.FromResult<IMailSession>(new GraphSession(this));

    public void Dispose() => Http.Dispose();
}
