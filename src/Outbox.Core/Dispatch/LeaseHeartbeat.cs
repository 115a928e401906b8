using System.Data.Common;
using Microsoft.Extensions.Logging;
using Outbox.Core.Messages;

namespace Outbox.Core.Dispatch;

/// <summary>
/// Keeps the lease of a batch's unfinished mails alive while the batch is being sent, so a slow
/// server or a huge attachment never lets another worker take over a mail that is still being
/// worked on. Renews every third of the lease; a worker that dies stops renewing, and its mails
/// become claimable one lease later. A renewal that finds fewer of its mails than it asked for
/// (another worker took them over: this process was paused past its lease), or no renewal that
/// succeeded for two thirds of the lease, makes the heartbeat <see cref="Lost"/>: the lane then
/// sends nothing more of the batch.
/// </summary>
internal sealed class LeaseHeartbeat : IAsyncDisposable
{
    private readonly IDispatchStore _store;
    private readonly TimeSpan _lease;
    private readonly ILogger _logger;
    private readonly Dictionary<long, ClaimedMessage> _unfinished;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _beating;
    private long _renewedAt = System.Diagnostics.Stopwatch.GetTimestamp();
    private volatile string? _lost;

    public LeaseHeartbeat(IDispatchStore store, IReadOnlyList<ClaimedMessage> batch, TimeSpan lease, ILogger logger)
    {
        _store = store;
        _lease = lease;
        _logger = logger;
        _unfinished = batch.ToDictionary(m => m.Id);
        _beating = BeatAsync();
    }

    /// <summary>Why the batch's leases can no longer be trusted, or null while they can.</summary>
    public string? Lost => _lost ?? (System.Diagnostics.Stopwatch.GetElapsedTime(Interlocked.Read(ref _renewedAt)) > _lease * 2 / 3
        ? $"the leases of the batch could not be renewed for {_lease * 2 / 3:g}" : null);

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
                var held = await _store.ExtendLeaseAsync(unfinished, _lease, _stop.Token).ConfigureAwait(false);
                Interlocked.Exchange(ref _renewedAt, System.Diagnostics.Stopwatch.GetTimestamp());
                int stillUnfinished;
                lock (_unfinished)
                {
                    // A mail that got its outcome meanwhile is no longer 'sending': not missing.
                    stillUnfinished = unfinished.Count(m => _unfinished.ContainsKey(m.Id));
                }

                if (held < stillUnfinished)
                {
                    _lost = $"another worker took over {stillUnfinished - held} mail(s) of the batch (this worker held them past their lease)";
                    Log.LeaseLost(_logger, _lost);
                    return;
                }
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
