namespace Outbox.Core.Sending;

/// <summary>The SMTP server the worker sends through (configuration section Outbox:Smtp).</summary>
public sealed class SmtpOptions
{
    public const int DefaultPort = 587;

    public string Host { get; set; } = string.Empty;

    public int Port { get; set; } = DefaultPort;

    public SmtpSecurity Security { get; set; } = SmtpSecurity.StartTls;

    /// <summary>Must be true for Security=None: an explicit "I know this is plaintext".</summary>
    public bool AllowInsecure { get; set; }

    public string? UserName { get; set; }

    /// <summary>
    /// The password. Prefer the environment (Outbox__Smtp__Password) or <see cref="PasswordFile"/>
    /// to writing it into the configuration file.
    /// </summary>
    public string? Password { get; set; }

    /// <summary>A file holding the password (e.g. a systemd credential); trailing line breaks are ignored.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>PEM bundle of CA certificates trusted in addition to the system store (what an Oracle Wallet held).</summary>
    public string? CaFile { get; set; }

    /// <summary>
    /// Optional SHA-256 fingerprints of the server's certificate (hex, colons allowed, as
    /// `openssl x509 -noout -fingerprint -sha256` prints them). When set, the certificate must
    /// also match one of them.
    /// </summary>
    public IList<string> CertificatePins { get; } = [];

    /// <summary>How long one SMTP command may wait for the server.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// When a mail's data reached this server but its reply was lost (or the worker died while
    /// sending): Resend (at least once, the default) or Hold for an operator (at most once).
    /// </summary>
    public LostReplyPolicy LostReplyPolicy { get; set; } = LostReplyPolicy.Resend;

    /// <summary>
    /// Mails sent over one connection before it is closed and a new one opened; 0 (the default)
    /// keeps it for as long as there is mail. For servers that limit messages per connection.
    /// </summary>
    public int MessagesPerConnection { get; set; }

    /// <summary>Limits on the mails (or recipients) sent through this account, shared by every worker (e.g. 30 per 00:01:00).</summary>
    public IList<Accounts.RateLimit> RateLimits { get; } = [];

    /// <summary>
    /// At most this many sessions with this account at once, across every worker sharing the
    /// database (0: no cap); unset: the preset's, else no cap.
    /// </summary>
    public int? MaxConnections { get; set; }

    /// <summary>A provider's published limits as defaults: microsoft365 or microsoft-graph (<see cref="Accounts.ProviderPreset"/>).</summary>
    public string? Preset { get; set; }

    /// <summary>The connection cap in force: MaxConnections, else the preset's, else none (0).</summary>
    public int EffectiveMaxConnections() => PresetOrNull() is { } preset ? preset.ConnectionsFor(MaxConnections) : MaxConnections ?? 0;

    /// <summary>The rate limits in force: RateLimits, with the preset's that they do not replace.</summary>
    public IList<Accounts.RateLimit> EffectiveRateLimits() => PresetOrNull() is { } preset ? preset.RateLimitsFor(RateLimits) : RateLimits;

    private Accounts.ProviderPreset? PresetOrNull() => string.IsNullOrWhiteSpace(Preset) ? null : Accounts.ProviderPreset.Named(Preset);

    /// <summary>OAuth2 (XOAUTH2) instead of a password, e.g. for Microsoft 365.</summary>
    public OAuth.OAuth2Options OAuth2 { get; set; } = new();

    /// <summary>The name sent with EHLO; the machine's name when empty.</summary>
    public string? LocalDomain { get; set; }

    /// <summary>An Outbox:Accounts entry only: smtp (the default) or graph (Microsoft Graph sendMail as Mailbox, with OAuth2).</summary>
    public string Transport { get; set; } = "smtp";

    /// <summary>Transport graph: the mailbox the account sends as (as Outbox:Graph:Mailbox).</summary>
    public string? Mailbox { get; set; }

    /// <summary>Transport graph: Graph's address (as Outbox:Graph:BaseUrl).</summary>
    public string BaseUrl { get; set; } = Graph.GraphOptions.PublicCloud;

    /// <summary>Transport graph: as Outbox:Graph:SaveToSentItems.</summary>
    public bool SaveToSentItems { get; set; } = true;

    /// <summary>Whether this account sends through Microsoft Graph rather than SMTP.</summary>
    public bool UsesGraph() => Transport.Trim().Equals("graph", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Outbox:Graph as the one account of a routed transport, so its limits (Preset,
    /// MaxConnections, RateLimits) are counted in the database like an account's.
    /// </summary>
    public static SmtpOptions GraphAccount(Graph.GraphOptions graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var account = new SmtpOptions
        {
            Transport = "graph",
            Mailbox = graph.Mailbox,
            BaseUrl = graph.BaseUrl,
            SaveToSentItems = graph.SaveToSentItems,
            OAuth2 = graph.OAuth2,
            CaFile = graph.CaFile,
            Timeout = graph.Timeout,
            LostReplyPolicy = graph.LostReplyPolicy,
            MaxConnections = graph.MaxConnections,
            Preset = graph.Preset,
        };
        foreach (var limit in graph.RateLimits)
        {
            account.RateLimits.Add(limit);
        }

        return account;
    }

    /// <summary>The Graph settings of a Transport graph account; the SMTP ones (Host, UserName, ...) play no part.</summary>
    public Graph.GraphOptions ToGraph() => new()
    {
        Mailbox = Mailbox,
        BaseUrl = BaseUrl,
        SaveToSentItems = SaveToSentItems,
        OAuth2 = OAuth2,
        CaFile = CaFile,
        Timeout = Timeout,
        LostReplyPolicy = LostReplyPolicy,
    };
}
