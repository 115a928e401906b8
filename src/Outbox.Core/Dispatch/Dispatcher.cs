using Microsoft.Extensions.Logging;
using Outbox.Core.Messages;
using Outbox.Core.Sending;

namespace Outbox.Core.Dispatch;

/// <summary>
/// Claims due mails in batches and sends them, writing each outcome back while the next mail
/// goes out. A pass runs <see cref="DispatchOptions.Connections"/> lanes side by side, each with
/// its own claims and its own transport session (kept open from batch to batch), until nothing
/// is due. The leases of a batch are renewed while it is being sent.
/// </summary>
public sealed class Dispatcher
{
    private readonly IDispatchStore _store;
    private readonly IMailTransport _transport;
    private readonly MimeMessageFactory _factory;
    private readonly DispatchOptions _options;
    private readonly RetryPolicy _retry;
    private readonly ILogger _logger;
    private readonly List<SentMail> _unwritten = [];
    private long _unwrittenSince;

    public Dispatcher(IDispatchStore store, IMailTransport transport, DispatchOptions options, TimeProvider time, ILogger<Dispatcher> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _transport = transport;
        _factory = new MimeMessageFactory(store.Content, time);
        _options = options;
        _retry = new RetryPolicy(options, Random.Shared);
        _logger = logger;
    }

    public async Task<DispatchSummary> DispatchDueAsync(CancellationToken cancellationToken)
    {
        await RecordUnwrittenAsync(cancellationToken).ConfigureAwait(false);

        // One recorder for all lanes: the more mails pile up while a group is written, the
        // fewer writes per mail.
        var recorder = new SentRecorder(_store);
        DispatchSummary[] lanes;
        try
        {
            lanes = await Task.WhenAll(Enumerable.Range(0, _options.Connections).Select(_ => LaneAsync(recorder, cancellationToken))).ConfigureAwait(false);
        }
        catch
        {
            // The lane's error is the one to report; what was handed over is still written.
            await recorder.FlushAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            KeepUnwritten(recorder);
            throw;
        }

        try
        {
            await recorder.FlushAsync().ConfigureAwait(false);
        }
        finally
        {
            KeepUnwritten(recorder);
        }

        return lanes.Aggregate(DispatchSummary.Empty, (all, lane) => all.Add(lane));
    }

    private void KeepUnwritten(SentRecorder recorder)
    {
        if (_unwritten.Count == 0)
        {
            _unwrittenSince = System.Diagnostics.Stopwatch.GetTimestamp();
        }

        _unwritten.AddRange(recorder.Unwritten);
    }

    // Mails the server accepted on an earlier pass whose outcome the database did not take (a
    // lock held past the command timeout, a restart): still leased to this worker, they are
    // recorded before anything else is sent, so a passing database trouble does not make them
    // unconfirmed and, by LostReplyPolicy, sent again. Passes never overlap in one worker.
    private async Task RecordUnwrittenAsync(CancellationToken cancellationToken)
    {
        if (_unwritten.Count == 0)
        {
            return;
        }

        if (System.Diagnostics.Stopwatch.GetElapsedTime(_unwrittenSince) > _options.LeaseDuration)
        {
            // Their leases have run out: another worker takes them over as unconfirmed.
            _unwritten.Clear();
            return;
        }

        try
        {
            await _store.MarkSentAsync(_unwritten, cancellationToken).ConfigureAwait(false);
            _unwritten.Clear();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new OutcomesNotRecordedException(
                $"the outcome of {_unwritten.Count} sent mail(s) could still not be written ({ex.Message}); nothing more is sent until it is, or until their lease runs out and they are taken over as unconfirmed", ex);
        }
    }

    private async Task<DispatchSummary> LaneAsync(SentRecorder recorder, CancellationToken cancellationToken)
    {
        var summary = DispatchSummary.Empty;
        var connection = new LaneConnection(recorder);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var batch = await _store.ClaimAsync(_options.BatchSize, _options.LeaseDuration, cancellationToken).ConfigureAwait(false);
                if (batch.Count == 0)
                {
                    break;
                }

                var result = await SendBatchAsync(batch, connection, cancellationToken).ConfigureAwait(false);
                summary = summary.Add(result);
                if (result.PausedBecause is not null)
                {
                    break;
                }
            }

            return summary;
        }
        finally
        {
            await connection.CloseAsync().ConfigureAwait(false);
        }
    }

    private async Task<DispatchSummary> SendBatchAsync(IReadOnlyList<ClaimedMessage> batch, LaneConnection connection, CancellationToken cancellationToken)
    {
        var summary = DispatchSummary.Empty;
        var lostInARow = 0;
        var heartbeat = new LeaseHeartbeat(_store, batch, _options.LeaseDuration, _logger);
        await using var renewing = heartbeat.ConfigureAwait(false);
        for (var index = 0; index < batch.Count; index++)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                // Stopping: hand the untried mails back for the next worker at once.
                var untried = batch.Skip(index).ToList();
                await _store.ReleaseAsync(untried, TimeSpan.Zero, null, null, CancellationToken.None).ConfigureAwait(false);
                return summary.Add(new(0, 0, 0, untried.Count, null));
            }

            if (connection.Session is not { CanSendMore: true })
            {
                await connection.CloseAsync().ConfigureAwait(false);
                try
                {
                    connection.Session = await _transport.OpenAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    return summary.Add(await ReleaseAfterConnectFailureAsync(batch.Skip(index).ToList(), ex).ConfigureAwait(false));
                }
            }

            var session = connection.Session;
            var outcome = await TakeOverOrSendAsync(connection, batch[index], cancellationToken).ConfigureAwait(false);
            heartbeat.Finished(batch[index]);
            summary = summary.Add(outcome);
            if (outcome.PausedBecause is not null)
            {
                var untried = batch.Skip(index + 1).ToList();
                await _store.ReleaseAsync(untried, outcome.Pause, outcome.PausedBecause, null, CancellationToken.None).ConfigureAwait(false);
                OutboxMetrics.Deferred.Add(untried.Count);
                return summary.Add(new(0, 0, 0, untried.Count, null));
            }

            // A server that keeps dropping the connection would charge every mail of the
            // batch an attempt: after two losses in a row the rest waits, uncharged.
            lostInARow = session.IsConnected ? 0 : lostInARow + 1;
            if (lostInARow >= 2 && index + 1 < batch.Count)
            {
                var untried = batch.Skip(index + 1).ToList();
                const string reason = "the server dropped the connection twice in a row";
                Log.CannotConnect(_logger, reason, untried.Count, _options.RetryBaseDelay);
                await _store.ReleaseAsync(untried, _options.RetryBaseDelay, reason, null, CancellationToken.None).ConfigureAwait(false);
                OutboxMetrics.Deferred.Add(untried.Count);
                return summary.Add(new(0, 0, 0, untried.Count, reason) { Pause = _options.RetryBaseDelay, PausedFor = FailureKind.Transient });
            }
        }

        return summary;
    }

    // The server could not be reached or refused us before any mail: not the mails' fault, so
    // none is charged an attempt. They wait (in the database, for every worker) before the next try.
    private async Task<DispatchSummary> ReleaseAfterConnectFailureAsync(List<ClaimedMessage> rest, Exception ex)
    {
        var failure = Scrubbed(FailureClassifier.Classify(ex));
        var pause = failure.Kind == FailureKind.Configuration ? _options.ConfigurationErrorPause : _options.RetryBaseDelay;
        Log.CannotConnect(_logger, failure.Reason, rest.Count, pause);
        await _store.ReleaseAsync(rest, pause, failure.Reason, failure.SmtpCode, CancellationToken.None).ConfigureAwait(false);
        OutboxMetrics.Deferred.Add(rest.Count);
        return new DispatchSummary(0, 0, 0, rest.Count, failure.Reason) { Pause = pause, PausedFor = failure.Kind };
    }

    // A mail taken over from a worker that died while sending it may already be at the server.
    private async Task<DispatchSummary> TakeOverOrSendAsync(LaneConnection connection, ClaimedMessage mail, CancellationToken cancellationToken)
    {
        if (mail.TakenOverFrom is not null)
        {
            var hold = _transport.LostReplyPolicy == LostReplyPolicy.Hold;
            await _store.RecordTakeOverAsync(mail, hold, CancellationToken.None).ConfigureAwait(false);
            if (hold)
            {
                return new DispatchSummary(0, 0, 0, 0, null) { Unconfirmed = 1 };
            }
        }

        return await SendOneAsync(connection, mail, cancellationToken).ConfigureAwait(false);
    }

    private async Task<DispatchSummary> SendOneAsync(LaneConnection connection, ClaimedMessage mail, CancellationToken cancellationToken)
    {
        DeliveryResult result;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var outgoing = await _factory.BuildAsync(mail, cancellationToken).ConfigureAwait(false);
            await using (outgoing.ConfigureAwait(false))
            {
                result = await connection.Session!.SendAsync(outgoing, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await _store.ReleaseAsync([mail], TimeSpan.Zero, null, null, CancellationToken.None).ConfigureAwait(false);
            return new DispatchSummary(0, 0, 0, 1, null);
        }
        catch (Exception ex)
        {
            var failure = Scrubbed(FailureClassifier.Classify(ex)) with { Account = connection.Session!.Account };
            if (ex is AllRecipientsRejectedException && mail.Recipients.Count(r => r.Status == "accepted") is > 0 and var accepted)
            {
                // Refused now, but others have the mail from an earlier attempt: say so.
                failure = failure with { Reason = $"delivered earlier to {accepted} of {mail.Recipients.Count} recipients; {failure.Reason}" };
            }

            return await RecordFailureAsync(mail, failure).ConfigureAwait(false);
        }

        result = Scrubbed(result);
        var account = connection.Session!.Account;
        if (result.Rejected.Any(r => r.IsDeferred))
        {
            // Delivered to some; the deferred ones are owed it on a later attempt.
            return await RecordFailureAsync(mail, PartialDelivery(mail, result) with { Account = account }).ConfigureAwait(false);
        }

        // Outside the catch: if recording fails (database gone), the mail must not be recorded as
        // a failure. It stays leased and is taken over as unconfirmed when the lease expires.
        // The write runs while the next mail goes to the server (group commit).
        var recorded = connection.Recorder.TryAdd(new SentMail(mail, result, account));
        OutboxMetrics.Sent.Add(1, OutboxMetrics.Account(account));
        OutboxMetrics.SendDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, OutboxMetrics.Account(account));
        OutboxMetrics.Reply(result.SmtpCode, account);
        Log.Sent(_logger, mail.Id, result.SmtpCode, result.Reply);
        if (!recorded)
        {
            // Outcomes cannot be written: stop sending. The rest of the batch is handed back.
            return new DispatchSummary(1, 0, 0, 0, $"the database did not take the outcomes of sent mails ({connection.Recorder.FailedBecause})");
        }

        return new DispatchSummary(1, 0, 0, 0, null);
    }

    // Servers may echo what they were sent: no configured secret reaches the database or a log.
    private SendFailure Scrubbed(SendFailure failure) => failure with
    {
        Reason = _transport.Secrets.Scrub(failure.Reason)!,
        Rejections = failure.Rejections.Select(Scrubbed).ToList(),
    };

    private DeliveryResult Scrubbed(DeliveryResult result) =>
        result with { Reply = _transport.Secrets.Scrub(result.Reply)!, Rejected = result.Rejected.Select(Scrubbed).ToList() };

    private RecipientRejection Scrubbed(RecipientRejection rejection) => rejection with { Reply = _transport.Secrets.Scrub(rejection.Reply)! };

    private static SendFailure PartialDelivery(ClaimedMessage mail, DeliveryResult result)
    {
        var deferred = result.Rejected.Where(r => r.IsDeferred).ToList();
        var rejected = result.Rejected.Where(r => !r.IsDeferred).ToList();
        var owed = mail.Recipients.Count(r => r.IsOwed);
        var reason = $"delivered to {owed - result.Rejected.Count} of {owed} recipients; {deferred.Count} deferred: {string.Join("; ", deferred)}"
            + (rejected.Count > 0 ? $"; {rejected.Count} rejected: {string.Join("; ", rejected)}" : string.Empty);
        return new SendFailure(FailureKind.Transient, result.SmtpCode, reason, false, result.Rejected) { PartlyDelivered = true, Reply = result.Reply };
    }

    /// <summary>A lane's transport session, kept open across its batches, and the recorder of sent mails.</summary>
    private sealed class LaneConnection(SentRecorder recorder)
    {
        public IMailSession? Session { get; set; }

        public SentRecorder Recorder { get; } = recorder;

        public async Task CloseAsync()
        {
            if (Session is not null)
            {
                await Session.DisposeAsync().ConfigureAwait(false);
                Session = null;
            }
        }
    }

    private async Task<DispatchSummary> RecordFailureAsync(ClaimedMessage mail, SendFailure failure)
    {
        var summary = await RecordOutcomeAsync(mail, failure).ConfigureAwait(false);
        var account = OutboxMetrics.Account(failure.Account);
        OutboxMetrics.Reply(failure.SmtpCode, failure.Account);
        (summary.Failed > 0 ? OutboxMetrics.Failed : summary.Retried > 0 ? OutboxMetrics.Retried : summary.Unconfirmed > 0 ? OutboxMetrics.Unconfirmed : OutboxMetrics.Deferred).Add(1, account);
        return summary;
    }

    private async Task<DispatchSummary> RecordOutcomeAsync(ClaimedMessage mail, SendFailure failure)
    {
        if (failure.Kind == FailureKind.Configuration)
        {
            Log.CannotSend(_logger, mail.Id, failure.Reason);
            await _store.ReleaseAsync([mail], _options.ConfigurationErrorPause, failure.Reason, failure.SmtpCode, CancellationToken.None).ConfigureAwait(false);
            return new DispatchSummary(0, 0, 0, 1, failure.Reason) { Pause = _options.ConfigurationErrorPause, PausedFor = failure.Kind };
        }

        if (failure.Kind == FailureKind.Unroutable)
        {
            Log.CannotSend(_logger, mail.Id, failure.Reason);
            await _store.ReleaseAsync([mail], _options.ConfigurationErrorPause, failure.Reason, null, CancellationToken.None).ConfigureAwait(false);
            return new DispatchSummary(0, 0, 0, 1, null);
        }

        if (failure.Kind == FailureKind.RateLimited)
        {
            var wait = failure.RetryAfter ?? _options.RetryBaseDelay;
            Log.CannotSend(_logger, mail.Id, failure.Reason);
            await _store.ReleaseAsync([mail], wait, failure.Reason, null, CancellationToken.None).ConfigureAwait(false);
            return new DispatchSummary(0, 0, 0, 1, failure.Reason) { Pause = wait, PausedFor = failure.Kind };
        }

        if (failure.Kind == FailureKind.ServerUnavailable)
        {
            Log.CannotSend(_logger, mail.Id, failure.Reason);
            await _store.ReleaseAsync([mail], _options.RetryBaseDelay, failure.Reason, failure.SmtpCode, CancellationToken.None).ConfigureAwait(false);
            return new DispatchSummary(0, 0, 0, 1, failure.Reason) { Pause = _options.RetryBaseDelay, PausedFor = failure.Kind };
        }

        if (failure.Kind == FailureKind.ReplyLost && _transport.LostReplyPolicy == LostReplyPolicy.Hold)
        {
            Log.Unconfirmed(_logger, mail.Id, failure.Reason);
            await _store.MarkUnconfirmedAsync(mail, failure, CancellationToken.None).ConfigureAwait(false);
            return new DispatchSummary(0, 0, 0, 0, null) { Unconfirmed = 1 };
        }

        if (failure.Kind == FailureKind.Permanent || _retry.IsLastAttempt(mail.AttemptCount))
        {
            Log.Failed(_logger, mail.Id, mail.AttemptCount, failure.Reason);
            await _store.MarkFailedAsync(mail, failure, CancellationToken.None).ConfigureAwait(false);
            return new DispatchSummary(0, 0, 1, 0, null);
        }

        var delay = _retry.DelayAfter(mail.AttemptCount);
        Log.Retrying(_logger, mail.Id, delay, failure.Reason);
        await _store.MarkRetryAsync(mail, failure, delay, CancellationToken.None).ConfigureAwait(false);
        return new DispatchSummary(0, 1, 0, 0, null);
    }
}
