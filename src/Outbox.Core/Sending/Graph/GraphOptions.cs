namespace Outbox.Core.Sending.Graph;

/// <summary>
/// Microsoft Graph sendMail as the transport (configuration section Outbox:Graph, or an
/// Outbox:Accounts entry with Transport graph): app-only OAuth2, the mailbox mail is sent as.
/// </summary>
public sealed class GraphOptions
{
    public const string PublicCloud = "https://graph.microsoft.com/v1.0";

    /// <summary>The mailbox mail goes out as: its user principal name or object id (the {id} of /users/{id}/sendMail).</summary>
    public string? Mailbox { get; set; }

    /// <summary>Graph's address with its version; a national cloud's (e.g. https://graph.microsoft.us/v1.0) where the tenant lives there.</summary>
    public string BaseUrl { get; set; } = PublicCloud;

    /// <summary>
    /// Whether a copy goes to the mailbox's Sent Items. A MIME sendMail always saves one (its
    /// saveToSentItems parameter exists only for JSON bodies), and so does a draft's /send, so
    /// only true is accepted.
    /// </summary>
    public bool SaveToSentItems { get; set; } = true;

    /// <summary>The app's credentials: Provider Microsoft (MSAL, secret or certificate) or TokenEndpoint.</summary>
    public OAuth.OAuth2Options OAuth2 { get; set; } = new();

    /// <summary>PEM bundle of CA certificates trusted for Graph and the token endpoint besides the system store (a TLS-inspecting proxy).</summary>
    public string? CaFile { get; set; }

    /// <summary>How long one request (token or sendMail) may take, its body included.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>When a mail's request reached Graph but its reply was lost: Resend (at least once) or Hold (at most once).</summary>
    public LostReplyPolicy LostReplyPolicy { get; set; } = LostReplyPolicy.Resend;

    /// <summary>As an account's (Outbox:Graph alone): limits counted in the database across every worker.</summary>
    public IList<Accounts.RateLimit> RateLimits { get; } = [];

    /// <summary>As an account's: at most this many requests at once, across every worker (0: no cap).</summary>
    public int? MaxConnections { get; set; }

    /// <summary>As an account's: microsoft-graph for Graph's published limits per mailbox.</summary>
    public string? Preset { get; set; }

    /// <summary>Graph's own scope for the token: its host's /.default, which also fits a national cloud.</summary>
    public string TokenScope() => $"{new Uri(BaseUrl).GetLeftPart(UriPartial.Authority)}/.default";
}
