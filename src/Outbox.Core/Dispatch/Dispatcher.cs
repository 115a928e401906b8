using Microsoft.Extensions.Logging;
using Outbox.Core.Messages;
using Outbox.Core.Sending;

namespace Outbox.Core.Dispatch;

/// <summary>
/// Claims due mails in batches and sends them, writing each outcome back while the next mail
/// goes out. A pass runs <see cref="DispatchOptions.Connections"/> lanes side by side, each with
/// its own claims and its own transport session (kept open from batch to batch), until nothing
/// is due. The leases of a batch are renewed while it is being sent; before each mail's SMTP
/// transaction the database records that its data may reach the server, in a statement that
/// also checks the lease, so a worker sends only what it still holds.
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
    // Writes of this worker's own outcomes (a retry, a failure, an unconfirmed mail, a hand-back)
    // that the database did not take, in the order they were made.
    private readonly List<Func<Task>> _unrecorded = [];
    private readonly PauseWatch _pauses;

    public Dispatcher(IDispatchStore store, IMailTransport transport, DispatchOptions options, TimeProvider time, ILogger<Dispatcher> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _transport = transport;
        _factory = new MimeMessageFactory(store.Content, time);
        _options = options;
        _retry = new RetryPolicy(options, Random.Shared);
        _logger = logger;
        _pauses = new PauseWatch(store, options.PollInterval, time);
        OutboxMetrics.WatchPauses(() => _pauses.Current);
    }

    /// <summary>The pauses this worker last read: what it holds back (for status, health and the worker record).</summary>
    public IReadOnlyList<Pause> Pauses => _pauses.Current;

    /// <summary>
    /// Sends everything due. Cancelling the token is a stop: no more claims and no new mail; the
    /// mail in flight may finish for <see cref="DispatchOptions.StopTimeout"/>, then its
    /// transaction is cut; untried mails are handed back at once, uncharged; what the server
    /// accepted is recorded before this returns.
    /// </summary>
    public async Task<DispatchSummary> DispatchDueAsync(CancellationToken cancellationToken)
    {
        using var abort = new CancellationTokenSource();
        using var stopping = cancellationToken.Register(() => abort.CancelAfter(_options.StopTimeout));
        await RecordUnwrittenAsync(cancellationToken).ConfigureAwait(false);
        await RecordKeptAsync().ConfigureAwait(false);
        // Read once per pass: an operator's pause or resume takes effect at the next poll at the latest.
        await RefreshPausesAsync().ConfigureAwait(false);
        if (Pause.Of(_pauses.Current, string.Empty) is { IsAll: true })
        {
            return DispatchSummary.Empty;
        }

        // One recorder for all lanes: the more mails pile up while a group is written, the
        // fewer writes per mail.
        var recorder = new SentRecorder(_store);
        var stop = new Stop(cancellationToken, abort.Token);
        DispatchSummary[] lanes;
        try
        {
            lanes = await Task.WhenAll(Enumerable.Range(0, _options.Connections).Select(_ => LaneAsync(recorder, stop))).ConfigureAwait(false);
        }
        catch
        {
            // The lane's error is the one to report; what was handed over is still written.
            await recorder.FlushAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            KeepUnwritten(recorder);
            if (cancellationToken.IsCancellationRequested)
            {
                await RecordBeforeExitAsync().ConfigureAwait(false);
            }

            throw;
        }

        try
        {
            await recorder.FlushAsync().ConfigureAwait(false);
        }
        catch (OutcomesNotRecordedException) when (cancellationToken.IsCancellationRequested)
        {
            KeepUnwritten(recorder);
            await RecordBeforeExitAsync().ConfigureAwait(false);
            return lanes.Aggregate(DispatchSummary.Empty, (all, lane) => all.Add(lane));
        }
        catch
        {
            KeepUnwritten(recorder);
            throw;
        }

        KeepUnwritten(recorder);
        return lanes.Aggregate(DispatchSummary.Empty, (all, lane) => all.Add(lane));
    }

    /// <summary>A stop request, and the token that cuts the mail in flight StopTimeout after it.</summary>
    private sealed record Stop(CancellationToken Requested, CancellationToken Abort);

    private void KeepUnwritten(SentRecorder recorder) => _unwritten.AddRange(recorder.Unwritten);

    // Stopping: no next pass will write what the database did not take. One more try (after a
    // database restart the first write on each pooled connection fails) before it is left to a
    // take-over.
    private async Task RecordBeforeExitAsync()
    {
        try
        {
            await RecordUnwrittenAsync(CancellationToken.None).ConfigureAwait(false);
            await RecordKeptAsync().ConfigureAwait(false);
        }
        catch (OutcomesNotRecordedException ex)
        {
            Log.NotRecordedAtStop(_logger, ex.Message);
        }
    }

    private Task HandBackAsync(IReadOnlyList<ClaimedMessage> mails, TimeSpan delay, string? reason, int? code) =>
        RecordOrKeepAsync(() => _store.ReleaseAsync(mails, delay, reason, code, CancellationToken.None));

    // An outcome the database did not take (it was away) is written again first thing on the
    // next pass, within the lease. Left alone, the mail stays leased with its mark, and a
    // take-over would record it unconfirmed in this worker's name as if it had died: a retry or
    // a lost reply this worker knows about would be told wrongly, a mail it knows it never sent
    // would be charged. The writes are guarded by the lease owner, and a write that did land
    // (only its answer was lost) finds nothing to change the second time.
    private async Task RecordOrKeepAsync(Func<Task> write)
    {
        try
        {
            await write().ConfigureAwait(false);
        }
        catch
        {
            // The lanes of a pass run at once.
            lock (_unrecorded)
            {
                _unrecorded.Add(write);
            }

            throw;
        }
    }

    private async Task RecordKeptAsync()
    {
        while (_unrecorded.Count > 0)
        {
            try
            {
                await _unrecorded[0]().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                throw new OutcomesNotRecordedException(
                    $"the outcome of {_unrecorded.Count} mail(s) could still not be written ({ex.Message}); nothing more is sent until it is", ex);
            }

            _unrecorded.RemoveAt(0);
        }
    }

    // Mails the server accepted on an earlier pass whose outcome the database did not take (a
    // lock held past the command timeout, a restart): recorded before anything else is sent, so
    // a passing database trouble does not make them unconfirmed and, by LostReplyPolicy, sent
    // again. The write is guarded by the lease owner: a mail another worker took over meanwhile
    // (its attempt recorded unconfirmed) is left to it. Passes never overlap in one worker.
    private async Task RecordUnwrittenAsync(CancellationToken cancellationToken)
    {
        if (_unwritten.Count == 0)
        {
            return;
        }

        try
        {
            await _store.MarkSentAsync(_unwritten, CancellationToken.None).ConfigureAwait(false);
            _unwritten.Clear();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new OutcomesNotRecordedException(
                $"the outcome of {_unwritten.Count} sent mail(s) could still not be written ({ex.Message}); nothing more is sent until it is", ex);
        }
    }

    private async Task<DispatchSummary> LaneAsync(SentRecorder recorder, Stop stop)
    {
        var summary = DispatchSummary.Empty;
        var connection = new LaneConnection(recorder);
        try
        {
            while (!stop.Requested.IsCancellationRequested)
            {
                if (await PausedAsync(string.Empty).ConfigureAwait(false) is { IsAll: true })
                {
                    break;
                }

                var claimed = await _store.ClaimAsync(_options.BatchSize, _options.LeaseDuration, _transport.LostReplyPolicy == LostReplyPolicy.Hold, CancellationToken.None).ConfigureAwait(false);
                if (claimed.Count == 0)
                {
                    break;
                }

                // The claim recorded these 'expired' (a held one stays unconfirmed): never sent.
                foreach (var mail in claimed.Where(m => m.Expired && !m.Held))
                {
                    Log.Expired(_logger, mail.Id);
                    OutboxMetrics.Expired.Add(1);
                    summary = summary.Add(DispatchSummary.Empty with { Expired = 1 });
                }

                IReadOnlyList<ClaimedMessage> batch = [.. claimed.Where(m => !m.Expired || m.Held)];
                if (batch.Count == 0)
                {
                    continue;
                }

                var result = await SendBatchAsync(batch, connection, stop).ConfigureAwait(false);
                summary = summary.Add(result);
                if (result.PausedBecause is not null && !result.Partial)
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

    private async Task<DispatchSummary> SendBatchAsync(IReadOnlyList<ClaimedMessage> batch, LaneConnection connection, Stop stop)
    {
        var summary = DispatchSummary.Empty;
        var lostInARow = 0;
        var heartbeat = new LeaseHeartbeat(_store, batch.Where(m => !m.Held).ToList(), _options.LeaseDuration, _logger);
        await using var renewing = heartbeat.ConfigureAwait(false);
        var pausedScopes = new Dictionary<string, DispatchSummary>(StringComparer.OrdinalIgnoreCase);
        for (var index = 0; index < batch.Count; index++)
        {
            var mail = batch[index];
            if (mail.Held)
            {
                Log.TakenOverAndHeld(_logger, mail.Id, mail.TakenOverFrom);
                OutboxMetrics.Unconfirmed.Add(1);
                summary = summary.Add(DispatchSummary.Empty with { Unconfirmed = 1 });
                continue;
            }

            if (stop.Requested.IsCancellationRequested)
            {
                return summary.Add(await HandBackOnStopAsync(Untried(batch, index)).ConfigureAwait(false));
            }

            if (heartbeat.Lost is { } lost)
            {
                // Whatever is still ours goes back (the statement skips what another worker has).
                var untried = Untried(batch, index);
                Log.LeaseLost(_logger, lost);
                await HandBackAsync(untried, TimeSpan.Zero, null, null).ConfigureAwait(false);
                return summary.Add(new(0, 0, 0, untried.Count, lost));
            }

            if (await PausedAsync(ProfileOf(mail)).ConfigureAwait(false) is { } pause)
            {
                if (pause.IsAll)
                {
                    // Between mails, never in one: the rest goes back at once, uncharged, due for
                    // whichever worker looks first after the resume.
                    var untried = Untried(batch, index);
                    await HandBackAsync(untried, TimeSpan.Zero, pause.ToString(), null).ConfigureAwait(false);
                    OutboxMetrics.Deferred.Add(untried.Count);
                    return summary.Add(new(0, 0, 0, untried.Count, null));
                }

                // Only this profile's mail waits, a poll interval at a time, so a resume finds it
                // due; the other profiles' mail goes on.
                await HandBackAsync([mail], _options.PollInterval, pause.ToString(), null).ConfigureAwait(false);
                OutboxMetrics.Deferred.Add(1);
                heartbeat.Finished(mail);
                summary = summary.Add(new(0, 0, 0, 1, null));
                continue;
            }

            var scope = _transport.PauseScope(mail);
            if (scope is not null && pausedScopes.TryGetValue(scope, out var paused))
            {
                // Its profile cannot take mail now (found with an earlier mail of the batch): it
                // waits, uncharged, as that one does.
                await HandBackAsync([mail], paused.Pause, paused.PausedBecause, null).ConfigureAwait(false);
                OutboxMetrics.Deferred.Add(1);
                heartbeat.Finished(mail);
                summary = summary.Add(new(0, 0, 0, 1, null));
                continue;
            }

            if (connection.Session is not { CanSendMore: true })
            {
                await connection.CloseAsync().ConfigureAwait(false);
                try
                {
                    connection.Session = await _transport.OpenAsync(stop.Abort).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.Abort.IsCancellationRequested)
                {
                    return summary.Add(await HandBackOnStopAsync(Untried(batch, index)).ConfigureAwait(false));
                }
                catch (Exception ex)
                {
                    return summary.Add(await ReleaseAfterConnectFailureAsync(Untried(batch, index), ex).ConfigureAwait(false));
                }
            }

            if (mail.TakenOverFrom is not null)
            {
                Log.TakenOver(_logger, mail.Id, mail.TakenOverFrom);
            }

            var session = connection.Session;
            var outcome = await SendOneAsync(connection, mail, stop.Abort).ConfigureAwait(false);
            heartbeat.Finished(mail);
            if (outcome.PausedBecause is not null && outcome.PausedFor is not null && scope is not null)
            {
                // Only the mails that would go the same way wait; the others go on.
                pausedScopes[scope] = outcome;
                summary = summary.Add(outcome with { Partial = true });
                continue;
            }

            summary = summary.Add(outcome);
            if (outcome.PausedBecause is not null)
            {
                var untried = Untried(batch, index + 1);
                await HandBackAsync(untried, outcome.Pause, outcome.PausedFor is null ? null : outcome.PausedBecause, null).ConfigureAwait(false);
                OutboxMetrics.Deferred.Add(untried.Count);
                return summary.Add(new(0, 0, 0, untried.Count, null));
            }

            // A server that keeps dropping the connection would charge every mail of the
            // batch an attempt: after two losses in a row the rest waits, uncharged.
            lostInARow = session.IsConnected ? 0 : lostInARow + 1;
            if (lostInARow >= 2 && index + 1 < batch.Count)
            {
                var untried = Untried(batch, index + 1);
                const string reason = "the server dropped the connection twice in a row";
                Log.CannotConnect(_logger, reason, untried.Count, _options.RetryBaseDelay);
                await HandBackAsync(untried, _options.RetryBaseDelay, reason, null).ConfigureAwait(false);
                OutboxMetrics.Deferred.Add(untried.Count);
                return summary.Add(new(0, 0, 0, untried.Count, reason) { Pause = _options.RetryBaseDelay, PausedFor = FailureKind.Transient });
            }
        }

        return summary;
    }

    // The profile an operator pauses a mail by: the one it is routed through, else the one it
    // names, else "default".
    private string ProfileOf(ClaimedMessage mail) => _transport.PauseScope(mail) ?? mail.Profile ?? Pause.DefaultProfile;

    // The pause holding a profile's mail ("" for: is all sending paused), read again once a poll
    // interval has passed. A read that fails between mails keeps the last one: the next pass's
    // read reports the database's trouble.
    private async Task<Pause?> PausedAsync(string profile)
    {
        if (_pauses.TakeStale())
        {
            try
            {
                await RefreshPausesAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException)
            {
                Log.PausesNotRead(_logger, ex.Message);
            }
        }

        return Pause.Of(_pauses.Current, profile);
    }

    private async Task RefreshPausesAsync()
    {
        var before = await _pauses.ReadAsync().ConfigureAwait(false);
        var now = _pauses.Current;
        foreach (var pause in now.Where(p => !before.Any(b => b.Scope == p.Scope)))
        {
            Log.Paused(_logger, pause.ToString());
        }

        foreach (var pause in before.Where(b => !now.Any(p => p.Scope == b.Scope)))
        {
            Log.Resumed(_logger, pause.IsAll ? "all sending" : $"profile \"{pause.Scope}\"");
        }
    }

    // Stopping: the untried mails go back for the next worker at once, uncharged.
    private async Task<DispatchSummary> HandBackOnStopAsync(List<ClaimedMessage> untried)
    {
        await HandBackAsync(untried, TimeSpan.Zero, null, null).ConfigureAwait(false);
        Log.HandedBackOnStop(_logger, untried.Count);
        return new DispatchSummary(0, 0, 0, untried.Count, null);
    }

    // The mails of the batch from index on that this lane may still send (held ones have their outcome).
    private static List<ClaimedMessage> Untried(IReadOnlyList<ClaimedMessage> batch, int index) => batch.Skip(index).Where(m => !m.Held).ToList();

    // The server could not be reached or refused us before any mail: not the mails' fault, so
    // none is charged an attempt. They wait (in the database, for every worker) before the next try.
    private async Task<DispatchSummary> ReleaseAfterConnectFailureAsync(List<ClaimedMessage> rest, Exception ex)
    {
        var failure = Scrubbed(FailureClassifier.Classify(ex));
        var pause = failure.Kind switch
        {
            FailureKind.Configuration => _options.ConfigurationErrorPause,
            // A server that throttles at the greeting and names its wait is taken at its word.
            FailureKind.RateLimited => failure.RetryAfter ?? _options.RetryBaseDelay,
            _ => _options.RetryBaseDelay,
        };
        Log.CannotConnect(_logger, failure.Reason, rest.Count, pause);
        await HandBackAsync(rest, pause, failure.Reason, failure.SmtpCode).ConfigureAwait(false);
        OutboxMetrics.Deferred.Add(rest.Count);
        return new DispatchSummary(0, 0, 0, rest.Count, failure.Reason) { Pause = pause, PausedFor = failure.Kind };
    }

    private async Task<DispatchSummary> SendOneAsync(LaneConnection connection, ClaimedMessage mail, CancellationToken abort)
    {
        DeliveryResult result;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var outgoing = await _factory.BuildAsync(mail, abort).ConfigureAwait(false);
            await using (outgoing.ConfigureAwait(false))
            {
                outgoing.BeforeTransaction = _ => MarkDataStartingAsync(mail, mail.Template is null ? null : outgoing.Message.Subject);
                result = await connection.Session!.SendAsync(outgoing, abort).ConfigureAwait(false);
            }
        }
        catch (LeaseLostException lost)
        {
            // Nothing of the mail was sent. If it is still ours (the mark failed on a database
            // error) it goes back uncharged; if another worker has it, the statement skips it.
            Log.LeaseLost(_logger, lost.Message);
            await HandBackAsync([mail], TimeSpan.Zero, null, null).ConfigureAwait(false);
            return new DispatchSummary(0, 0, 0, 1, lost.Message);
        }
        catch (MailExpiredException)
        {
            // Its expires_at passed while it waited behind the batch's other mails: the mark
            // recorded it 'expired' instead, and nothing of it was sent. The lane goes on.
            Log.Expired(_logger, mail.Id);
            OutboxMetrics.Expired.Add(1);
            return DispatchSummary.Empty with { Expired = 1 };
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            // Stopping, and the mail took longer than StopTimeout: its transaction was cut before
            // the end of its data (a cut after it is a lost reply), so the server does not have it.
            await HandBackAsync([mail], TimeSpan.Zero, null, null).ConfigureAwait(false);
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
        var recorded = connection.Recorder.Add(new SentMail(mail, result, account));
        OutboxMetrics.Sent.Add(1, OutboxMetrics.Account(account));
        OutboxMetrics.SendDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, OutboxMetrics.Account(account));
        OutboxMetrics.Reply(result.SmtpCode, account);
        Log.Sent(_logger, mail.Id, result.SmtpCode, result.Reply);
        if (!recorded)
        {
            // Outcomes cannot be written (this one is kept for the next pass): stop sending. The
            // rest of the batch is handed back.
            return new DispatchSummary(1, 0, 0, 0, $"the database did not take the outcomes of sent mails ({connection.Recorder.FailedBecause})");
        }

        return new DispatchSummary(1, 0, 0, 0, null);
    }

    // Before any byte of the mail can reach the server: the database records that it may, or
    // says this worker no longer holds the mail, or that the mail expired while it waited in the
    // batch (and records that). Not cancelled by a stop: it is one short write.
    private async Task MarkDataStartingAsync(ClaimedMessage mail, string? renderedSubject)
    {
        DataStart start;
        try
        {
            start = await _store.MarkDataStartingAsync(mail, renderedSubject, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw new LeaseLostException($"mail {mail.Id} was not sent: the database did not record that its sending began ({ex.Message})", ex);
        }

        switch (start)
        {
            case DataStart.NotMine:
                throw new LeaseLostException($"mail {mail.Id} was not sent: this worker's lease on it had run out (another worker may have it)");
            case DataStart.Expired:
                throw new MailExpiredException($"mail {mail.Id} was not sent: its expires_at passed while it waited in this worker's batch");
        }
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
        // A lost reply in a further transaction: those recipients may have the mail already.
        var kind = deferred.Any(r => r.ReplyLost) ? FailureKind.ReplyLost : FailureKind.Transient;
        return new SendFailure(kind, result.SmtpCode, reason, false, result.Rejected) { PartlyDelivered = true, Reply = result.Reply };
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
        (summary.Expired > 0 ? OutboxMetrics.Expired : summary.Failed > 0 ? OutboxMetrics.Failed : summary.Retried > 0 ? OutboxMetrics.Retried : summary.Unconfirmed > 0 ? OutboxMetrics.Unconfirmed : OutboxMetrics.Deferred).Add(1, account);
        return summary;
    }

    private async Task<DispatchSummary> RecordOutcomeAsync(ClaimedMessage mail, SendFailure failure)
    {
        if (failure.Kind == FailureKind.Configuration)
        {
            Log.CannotSend(_logger, mail.Id, failure.Reason);
            await HandBackAsync([mail], _options.ConfigurationErrorPause, failure.Reason, failure.SmtpCode).ConfigureAwait(false);
            return new DispatchSummary(0, 0, 0, 1, failure.Reason) { Pause = _options.ConfigurationErrorPause, PausedFor = failure.Kind };
        }

        if (failure.Kind == FailureKind.Unroutable)
        {
            Log.CannotSend(_logger, mail.Id, failure.Reason);
            await HandBackAsync([mail], _options.ConfigurationErrorPause, failure.Reason, null).ConfigureAwait(false);
            return new DispatchSummary(0, 0, 0, 1, null);
        }

        if (failure.Kind == FailureKind.RateLimited)
        {
            var wait = failure.RetryAfter ?? _options.RetryBaseDelay;
            Log.CannotSend(_logger, mail.Id, failure.Reason);
            await HandBackAsync([mail], wait, failure.Reason, null).ConfigureAwait(false);
            return new DispatchSummary(0, 0, 0, 1, failure.Reason) { Pause = wait, PausedFor = failure.Kind };
        }

        if (failure.Kind == FailureKind.ServerUnavailable)
        {
            Log.CannotSend(_logger, mail.Id, failure.Reason);
            await HandBackAsync([mail], _options.RetryBaseDelay, failure.Reason, failure.SmtpCode).ConfigureAwait(false);
            return new DispatchSummary(0, 0, 0, 1, failure.Reason) { Pause = _options.RetryBaseDelay, PausedFor = failure.Kind };
        }

        if (failure.Kind == FailureKind.ReplyLost && _transport.LostReplyPolicy == LostReplyPolicy.Hold)
        {
            Log.Unconfirmed(_logger, mail.Id, failure.Reason);
            await RecordOrKeepAsync(() => _store.MarkUnconfirmedAsync(mail, failure, CancellationToken.None)).ConfigureAwait(false);
            return new DispatchSummary(0, 0, 0, 0, null) { Unconfirmed = 1 };
        }

        if (failure.Kind == FailureKind.Permanent || _retry.IsLastAttempt(mail.AttemptCount))
        {
            Log.Failed(_logger, mail.Id, mail.AttemptCount, failure.Reason);
            await RecordOrKeepAsync(() => _store.MarkFailedAsync(mail, failure, CancellationToken.None)).ConfigureAwait(false);
            return new DispatchSummary(0, 0, 1, 0, null);
        }

        var delay = _retry.DelayAfter(mail.AttemptCount);
        var expired = false;
        await RecordOrKeepAsync(async () => expired = await _store.MarkRetryAsync(mail, failure, delay, CancellationToken.None).ConfigureAwait(false)).ConfigureAwait(false);
        if (expired)
        {
            // A retry at or after its expires_at could never go: the statement recorded it 'expired'.
            Log.ExpiredBeforeRetry(_logger, mail.Id, failure.Reason);
            return DispatchSummary.Empty with { Expired = 1 };
        }

        // The jitter's fractions of a second tell a reader of the log nothing.
        Log.Retrying(_logger, mail.Id, TimeSpan.FromSeconds(Math.Round(delay.TotalSeconds)), failure.Reason);
        return new DispatchSummary(0, 1, 0, 0, null);
    }
}
