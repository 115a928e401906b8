using System.Collections.Concurrent;
using MailKit.Net.Smtp;
using Microsoft.Extensions.Logging;

namespace Outbox.Core.Sending.Accounts;

/// <summary>
/// Several accounts (SMTP servers, Graph mailboxes) behind one transport. Each mail goes through the accounts of its
/// profile in order of preference, as SQL Server Database Mail does: an account that cannot be
/// reached, refuses service (421, Graph's 503) or fails to log in rests for a while and the next one is
/// tried; an account at one of its rate limits, with all its MaxConnections open (counted in the
/// database across every worker), or throttled by its server is passed over, and a throttled one
/// backs off. A refusal of the mail itself (4xx/5xx) or a lost reply does not move the mail to
/// another account: the first server may have it.
/// </summary>
public sealed partial class RoutedTransport : IMailTransport
{
    public const string DefaultProfile = "default";

    private readonly Dictionary<string, Account> _accounts;
    private readonly IReadOnlyDictionary<string, MailProfile> _profiles;
    private readonly IRateLimiter _limiter;
    private readonly TimeProvider _time;
    private readonly AccountRest _rest;
    private readonly TimeSpan _holdFor;
    private readonly ConcurrentDictionary<string, (DateTimeOffset Until, Exception Reason)> _resting = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _throttledInARow = new(StringComparer.OrdinalIgnoreCase);
    private readonly ILogger _logger;
    private Secrets.SecretScrubber? _secrets;

    /// <param name="accounts">Each account's transport and options, by name.</param>
    /// <param name="limiter">The rate and connection limits shared by every worker.</param>
    /// <param name="rest">How long an account rests after it could not be used, or backs off when throttled.</param>
    /// <param name="holdFor">The longest one send may take (a rate-limit slot counts at least this long unless released), and a connection slot's lease.</param>
    public RoutedTransport(IReadOnlyDictionary<string, RoutedAccount> accounts, IReadOnlyDictionary<string, MailProfile> profiles, IRateLimiter limiter, AccountRest rest, TimeSpan holdFor, TimeProvider time, ILogger<RoutedTransport> logger)
    {
        ArgumentNullException.ThrowIfNull(accounts);
        ArgumentNullException.ThrowIfNull(limiter);
        ArgumentNullException.ThrowIfNull(rest);
        _accounts = accounts.ToDictionary(a => a.Key, a => new Account(a.Key, a.Value), StringComparer.OrdinalIgnoreCase);
        _profiles = profiles;
        _limiter = limiter;
        _rest = rest;
        _holdFor = holdFor;
        _time = time;
        _logger = logger;
    }

    // At most once: if any account holds unconfirmed mail, all do (one policy per worker).
    public LostReplyPolicy LostReplyPolicy =>
        _accounts.Values.Any(a => a.Transport.LostReplyPolicy == LostReplyPolicy.Hold) ? LostReplyPolicy.Hold : LostReplyPolicy.Resend;

    public Task<IMailSession> OpenAsync(CancellationToken cancellationToken) => Task.FromResult<IMailSession>(new RoutedSession(this));

    // A reply names no account for sure (a relay may echo another's): every account's secrets go.
    public Secrets.SecretScrubber Secrets => _secrets ??= Outbox.Core.Secrets.SecretScrubber.Combine(_accounts.Values.Select(a => a.Transport.Secrets));

    /// <summary>The accounts a mail may go through, in order: its profile's, or by its sender's domain, else the default profile's.</summary>
    internal (string Profile, IReadOnlyList<Account> Accounts) Route(Messages.OutgoingMessage message)
    {
        var name = ProfileOf(message.Profile, message.Sender.Address);
        if (!_profiles.TryGetValue(name, out var profile))
        {
            throw new UnroutableMailException(
                $"the mail names the profile \"{name}\", which Outbox:Profiles does not have. Add it to the configuration (its accounts, in order), or cancel the mail; it waits meanwhile");
        }

        return (name, profile.Accounts.Select(a => _accounts[a]).ToList());
    }

    // When every account of a profile is resting or at its rate limit, only that profile's mails
    // wait: the others of the batch go on through their own accounts.
    public string? PauseScope(Messages.ClaimedMessage mail)
    {
        ArgumentNullException.ThrowIfNull(mail);
        return ProfileOf(mail.Profile, MimeKit.MailboxAddress.TryParse(mail.Sender, out var sender) ? sender.Address : mail.Sender);
    }

    private string ProfileOf(string? named, string sender)
    {
        if (named is not null)
        {
            return named;
        }

        var domain = sender[(sender.LastIndexOf('@') + 1)..];
        return _profiles.Where(p => p.Value.SenderDomains.Contains(domain, StringComparer.OrdinalIgnoreCase))
            .Select(p => p.Key).Order(StringComparer.Ordinal).FirstOrDefault() ?? DefaultProfile;
    }

    /// <param name="left">How much of the rest is left.</param>
    internal bool IsResting(Account account, out Exception? reason, out TimeSpan left)
    {
        if (_resting.TryGetValue(account.Name, out var rest) && rest.Until > _time.GetUtcNow())
        {
            reason = rest.Reason;
            left = rest.Until - _time.GetUtcNow();
            return true;
        }

        reason = null;
        left = TimeSpan.Zero;
        return false;
    }

    /// <summary>How long a mail waits when every connection slot of its accounts is held.</summary>
    internal TimeSpan ConnectionWait => _rest.WhileConnectionsFull;

    /// <summary>
    /// The server throttles this account: it is passed over for the wait the reply named (Graph's
    /// Retry-After, an SMTP reply's "try again in 30 seconds"), else for its own backoff, which
    /// doubles from AfterOutage with each throttling in a row up to MaxBackoff. Returns the wait.
    /// </summary>
    internal TimeSpan Throttle(Account account, Exception reply, TimeSpan? named)
    {
        var inARow = _throttledInARow.AddOrUpdate(account.Name, 1, (_, n) => n + 1);
        var backoff = _rest.AfterOutage * Math.Pow(2, Math.Min(inARow - 1, 20));
        var wait = named ?? (backoff < _rest.MaxBackoff ? backoff : _rest.MaxBackoff);
        _resting[account.Name] = (_time.GetUtcNow() + wait, new RateLimitedException(reply.Message, wait));
        Log.AccountThrottled(_logger, account.Name, wait, inARow, reply.Message);
        return wait;
    }

    /// <summary>A mail went through the account: its next throttling backs off from the start again.</summary>
    internal void Succeeded(Account account) => _throttledInARow.TryRemove(account.Name, out _);

    internal void Rest(Account account, Exception reason)
    {
        var length = reason is TransportConfigurationException ? _rest.AfterConfigurationError : _rest.AfterOutage;
        _resting[account.Name] = (_time.GetUtcNow() + length, reason);
        Log.AccountResting(_logger, account.Name, length, reason.Message);
    }

    /// <summary>A rate-limit slot for one mail to this many recipients through the account; null when the account has no limits.</summary>
    internal async Task<RateReservation?> ReserveAsync(Account account, int recipients, CancellationToken cancellationToken) =>
        account.RateLimits.Count == 0
            ? null
            : await _limiter.ReserveAsync(account.Name, account.RateLimits, recipients, _holdFor, cancellationToken).ConfigureAwait(false);

    /// <summary>A connection slot for a new session with the account (no lease when it has no cap); not granted when all are held.</summary>
    internal async Task<(bool Granted, ConnectionLease? Lease)> TakeConnectionAsync(Account account, CancellationToken cancellationToken)
    {
        if (account.MaxConnections == 0)
        {
            return (true, null);
        }

        var lease = await ConnectionLease.TakeAsync(_limiter, account.Name, account.MaxConnections, _holdFor, _logger, cancellationToken).ConfigureAwait(false);
        return (lease is not null, lease);
    }

    // Bookkeeping after a send: its failure never changes the mail's outcome (a mail the server
    // accepted stays accepted). A slot not given back counts until its hold ends.
    internal async Task ReleaseAsync(Account account, RateReservation? slot, bool used)
    {
        if (slot is null)
        {
            return;
        }

        try
        {
            await _limiter.ReleaseAsync(slot, used, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Whatever went wrong, the send's own result stands.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.SlotNotReleased(_logger, account.Name, ex.Message);
        }
    }

    /// <summary>Whether a failure says the account (not the mail) is unusable now, so the next account may take the mail.</summary>
    internal static bool AccountUnusable(Exception ex) => ex is TransportConfigurationException or SmtpConnectException or Graph.GraphUnavailableException
        or SmtpCommandException { StatusCode: SmtpStatusCode.ServiceNotAvailable };

    /// <summary>One account: its transport, its rate limits, and the cap on its open sessions across every worker.</summary>
    internal sealed class Account(string name, RoutedAccount account)
    {
        public string Name { get; } = name;

        public IMailTransport Transport { get; } = account.Transport;

        public IList<RateLimit> RateLimits { get; } = account.RateLimits;

        public int MaxConnections { get; } = account.MaxConnections;
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Account {Account} rests for {Rest}: {Reason}")]
        public static partial void AccountResting(ILogger logger, string account, TimeSpan rest, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Account {Account} is throttled by its server and backs off for {Wait} (throttled {InARow} time(s) in a row): {Reason}")]
        public static partial void AccountThrottled(ILogger logger, string account, TimeSpan wait, int inARow, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "A rate-limit slot of account {Account} could not be given back ({Reason}); it counts until its hold ends")]
        public static partial void SlotNotReleased(ILogger logger, string account, string reason);
    }
}

/// <summary>An account as the configuration gives it: where its mail goes, its rate limits and at most how many sessions at once (0: no cap), both shared by every worker.</summary>
public sealed record RoutedAccount(IMailTransport Transport, IList<RateLimit> RateLimits, int MaxConnections);

/// <summary>
/// How long an account rests after it could not be used; how long a mail waits while its
/// accounts have all their connections open; the longest backoff of a throttled account.
/// </summary>
public sealed record AccountRest(TimeSpan AfterOutage, TimeSpan AfterConfigurationError, TimeSpan WhileConnectionsFull, TimeSpan MaxBackoff);
