using System.Collections.Concurrent;
using MailKit.Net.Smtp;
using Microsoft.Extensions.Logging;

namespace Outbox.Core.Sending.Accounts;

/// <summary>
/// Several accounts (SMTP servers, Graph mailboxes) behind one transport. Each mail goes through the accounts of its
/// profile in order of preference, as SQL Server Database Mail does: an account that cannot be
/// reached, refuses service (421, Graph's 503) or fails to log in rests for a while and the next one is
/// tried; an account at one of its rate limits, or throttled by Graph, is passed over; at most MaxConnections sessions
/// per account are open at once in this worker. A refusal of the mail itself (4xx/5xx) or a
/// lost reply does not move the mail to another account: the first server may have it.
/// </summary>
public sealed partial class RoutedTransport : IMailTransport
{
    public const string DefaultProfile = "default";

    private readonly Dictionary<string, Account> _accounts;
    private readonly IReadOnlyDictionary<string, MailProfile> _profiles;
    private readonly IRateLimiter? _limiter;
    private readonly TimeProvider _time;
    private readonly AccountRest _rest;
    private readonly TimeSpan _holdFor;
    private readonly ConcurrentDictionary<string, (DateTimeOffset Until, Exception Reason)> _resting = new(StringComparer.OrdinalIgnoreCase);
    private readonly ILogger _logger;
    private Secrets.SecretScrubber? _secrets;

    /// <param name="accounts">Each account's transport and options, by name.</param>
    /// <param name="rest">How long an account rests after it could not be used.</param>
    /// <param name="holdFor">The longest one send may take (a rate-limit slot counts at least this long unless released).</param>
    public RoutedTransport(IReadOnlyDictionary<string, RoutedAccount> accounts, IReadOnlyDictionary<string, MailProfile> profiles, IRateLimiter? limiter, AccountRest rest, TimeSpan holdFor, TimeProvider time, ILogger<RoutedTransport> logger)
    {
        ArgumentNullException.ThrowIfNull(accounts);
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

    /// <summary>The server throttles this account (Graph's 429): it is passed over until the time the server named.</summary>
    internal void Throttle(Account account, RateLimitedException throttled)
    {
        _resting[account.Name] = (_time.GetUtcNow() + throttled.RetryAfter, throttled);
        Log.AccountResting(_logger, account.Name, throttled.RetryAfter, throttled.Message);
    }

    internal void Rest(Account account, Exception reason)
    {
        var length = reason is TransportConfigurationException ? _rest.AfterConfigurationError : _rest.AfterOutage;
        _resting[account.Name] = (_time.GetUtcNow() + length, reason);
        Log.AccountResting(_logger, account.Name, length, reason.Message);
    }

    /// <summary>A rate-limit slot for one mail through the account; null when the account has no limits.</summary>
    internal async Task<RateReservation?> ReserveAsync(Account account, CancellationToken cancellationToken) =>
        _limiter is null || account.RateLimits.Count == 0
            ? null
            : await _limiter.ReserveAsync(account.Name, account.RateLimits, _holdFor, cancellationToken).ConfigureAwait(false);

    // Bookkeeping after a send: its failure never changes the mail's outcome (a mail the server
    // accepted stays accepted). A slot not given back counts until its hold ends.
    internal async Task ReleaseAsync(Account account, RateReservation? slot, bool used)
    {
        if (slot is null || _limiter is null)
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

    /// <summary>One account: its transport, its rate limits, and the cap on its open sessions in this worker.</summary>
    internal sealed class Account(string name, RoutedAccount account)
    {
        public string Name { get; } = name;

        public IMailTransport Transport { get; } = account.Transport;

        public IList<RateLimit> RateLimits { get; } = account.RateLimits;

        public SemaphoreSlim? Connections { get; } = account.MaxConnections > 0 ? new SemaphoreSlim(account.MaxConnections) : null;
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Account {Account} rests for {Rest}: {Reason}")]
        public static partial void AccountResting(ILogger logger, string account, TimeSpan rest, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "A rate-limit slot of account {Account} could not be given back ({Reason}); it counts until its hold ends")]
        public static partial void SlotNotReleased(ILogger logger, string account, string reason);
    }
}

/// <summary>An account as the configuration gives it: where its mail goes, its rate limits (shared by every worker), at most how many sessions at once in this worker (0: no cap).</summary>
public sealed record RoutedAccount(IMailTransport Transport, IList<RateLimit> RateLimits, int MaxConnections);

/// <summary>How long an account rests after it could not be used.</summary>
public sealed record AccountRest(TimeSpan AfterOutage, TimeSpan AfterConfigurationError);
