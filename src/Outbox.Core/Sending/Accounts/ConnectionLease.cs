using Microsoft.Extensions.Logging;

namespace Outbox.Core.Sending.Accounts;

/// <summary>
/// One of an account's connection slots, held by one open session: its lease is renewed every
/// third of its length while the session lives (as a batch's mail leases are), and the slot is
/// given back when the session closes. A worker that dies stops renewing, and its slot stops
/// counting one lease later; so the lease is short (at most <see cref="MaxLength"/>), whatever
/// the mails' lease, or a killed worker would hold an account's capacity for minutes.
/// </summary>
internal sealed partial class ConnectionLease : IAsyncDisposable
{
    private readonly IRateLimiter _limiter;
    private readonly long _slot;
    private readonly TimeSpan _lease;
    private readonly string _account;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewing;
    private volatile bool _lost;

    private ConnectionLease(IRateLimiter limiter, long slot, TimeSpan lease, string account, ILogger logger)
    {
        _limiter = limiter;
        _slot = slot;
        _lease = lease;
        _account = account;
        _logger = logger;
        _renewing = RenewAsync();
    }

    /// <summary>The longest a connection slot is leased for at a time.</summary>
    public static readonly TimeSpan MaxLength = TimeSpan.FromMinutes(1);

    /// <summary>A slot of the account's, or null when all its MaxConnections are held (by any worker).</summary>
    public static async Task<ConnectionLease?> TakeAsync(IRateLimiter limiter, string account, int maxConnections, TimeSpan lease, ILogger logger, CancellationToken cancellationToken)
    {
        lease = lease < MaxLength ? lease : MaxLength;
        var slot = await limiter.TakeConnectionAsync(account, maxConnections, lease, cancellationToken).ConfigureAwait(false);
        return slot is { } id ? new ConnectionLease(limiter, id, lease, account, logger) : null;
    }

    /// <summary>The lease ran out before a renewal: the slot may count for another session now, so this one must close.</summary>
    public bool Lost => _lost;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _renewing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
        try
        {
            await _limiter.ReleaseConnectionAsync(_slot, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The session is closed either way; the slot then counts until its lease ends.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.NotReleased(_logger, _account, ex.Message);
        }
    }

    private async Task RenewAsync()
    {
        var renewed = Environment.TickCount64;
        while (!_stop.IsCancellationRequested)
        {
            await Task.Delay(_lease / 3, _stop.Token).ConfigureAwait(false);
            try
            {
                if (!await _limiter.RenewConnectionAsync(_slot, _lease, _stop.Token).ConfigureAwait(false))
                {
                    // Held past its lease (this process was stopped or cut off): another session
                    // may count in its place now; this one closes before its next mail.
                    _lost = true;
                    Log.Expired(_logger, _account);
                    return;
                }

                renewed = Environment.TickCount64;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.NotRenewed(_logger, _account, ex.Message);
                // No renewal for two thirds of the lease: it may run out on the database clock
                // before the next try, and another worker's session count in its place.
                if (TimeSpan.FromMilliseconds(Environment.TickCount64 - renewed) >= _lease * 2 / 3)
                {
                    _lost = true;
                    Log.Expired(_logger, _account);
                    return;
                }
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "A connection slot of account {Account} could not be renewed ({Reason}); trying again")]
        public static partial void NotRenewed(ILogger logger, string account, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "A connection slot of account {Account} ran out of its lease before it was renewed; its session closes after the mail it sends")]
        public static partial void Expired(ILogger logger, string account);

        [LoggerMessage(Level = LogLevel.Warning, Message = "A connection slot of account {Account} could not be given back ({Reason}); it counts until its lease ends")]
        public static partial void NotReleased(ILogger logger, string account, string reason);
    }
}
