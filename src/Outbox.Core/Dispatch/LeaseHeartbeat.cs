using System.Data.Common;
using Microsoft.Extensions.Logging;
using Outbox.Core.Messages;

namespace Outbox.Core.Dispatch;

/// <summary>
/// Keeps the lease of a batch's unfinished mails alive while the batch is being sent, so a slow
/// server or a huge attachment never lets another worker take over a mail that is still being
/// worked on. Renews every third of the lease; a worker that dies stops renewing, and its mails
/// become claimable one lease later.
/// </summary>
internal sealed class LeaseHeartbeat : IAsyncDisposable
{
    private readonly IDispatchStore _store;
    private readonly TimeSpan _lease;
    private readonly ILogger _logger;
    private readonly Dictionary<long, ClaimedMessage> _unfinished;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _beating;

    public LeaseHeartbeat(IDispatchStore store, IReadOnlyList<ClaimedMessage> batch, TimeSpan lease, ILogger logger)
    {
        _store = store;
        _lease = lease;
        _logger = logger;
        _unfinished = batch.ToDictionary(m => m.Id);
        _beating = BeatAsync();
    }

    /// <summary>The mail has its outcome (or was handed back): its lease needs no renewal.</summary>
    public void Finished(ClaimedMessage message)
    {
        lock (_unfinished)
        {
            _unfinished.Remove(message.Id);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _beating.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task BeatAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            await Task.Delay(_lease / 3, _stop.Token).ConfigureAwait(false);
            List<ClaimedMessage> unfinished;
            lock (_unfinished)
            {
                unfinished = _unfinished.Values.ToList();
            }

            try
            {
                await _store.ExtendLeaseAsync(unfinished, _lease, _stop.Token).ConfigureAwait(false);
            }
            catch (DbException ex)
            {
                // The next beat tries again; if the database stays away the leases run out and
                // the mails are taken over as unconfirmed, which is the safe side.
                Log.LeaseNotRenewed(_logger, unfinished.Count, ex.Message);
            }
        }
    }
}
