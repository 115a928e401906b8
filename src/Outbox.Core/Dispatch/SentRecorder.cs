namespace Outbox.Core.Dispatch;

/// <summary>
/// Writes the lanes' sent mails to the database behind their backs: a lane hands each accepted
/// mail over and goes on to the next, while one writer records everything that piled up
/// meanwhile, from every lane, in a single write (group commit).
/// A failed write stops the recorder: the lanes stop sending (mail whose outcome cannot be
/// written would only end up unconfirmed), and the failure is rethrown by
/// <see cref="FlushAsync"/> at the end of the pass. Every mail it was given and could not write
/// (those handed over after the failure too) stays leased and is kept in
/// <see cref="Unwritten"/>; the dispatcher writes them first on its next pass. Only a worker
/// that dies before then leaves them to be taken over as unconfirmed.
/// </summary>
internal sealed class SentRecorder(IDispatchStore store)
{
    private const int MaxGroup = 100;
    private readonly object _gate = new();
    private readonly List<SentMail> _waiting = [];
    private readonly List<SentMail> _unwritten = [];
    private Task _writer = Task.CompletedTask;
    private bool _writing;
    private Exception? _failure;

    /// <summary>Sent mails a failed write did not record, for the next pass to write first.</summary>
    public IReadOnlyList<SentMail> Unwritten
    {
        get
        {
            lock (_gate)
            {
                return _unwritten.ToList();
            }
        }
    }

    /// <summary>The reason the recorder stopped, once a write failed.</summary>
    public string? FailedBecause
    {
        get
        {
            lock (_gate)
            {
                return _failure?.Message;
            }
        }
    }

    /// <summary>
    /// Hands a sent mail over. Once a write has failed the mail is kept with the unwritten ones
    /// (the next pass writes it first) and false says to send nothing more.
    /// </summary>
    public bool Add(SentMail mail)
    {
        lock (_gate)
        {
            if (_failure is not null)
            {
                _unwritten.Add(mail);
                return false;
            }

            _waiting.Add(mail);
            if (!_writing)
            {
                _writing = true;
                _writer = Task.Run(DrainAsync);
            }

            return true;
        }
    }

    /// <summary>Waits until everything handed over is written, then rethrows a failed write.</summary>
    public async Task FlushAsync()
    {
        Task writer;
        lock (_gate)
        {
            writer = _writer;
        }

        // The writer runs until nothing waits; nothing is handed over once the lanes are done.
        await writer.ConfigureAwait(false);
        lock (_gate)
        {
            if (_failure is not null)
            {
                throw new OutcomesNotRecordedException(
                    $"the outcome of sent mails could not be written ({_failure.Message}); the worker writes it before it sends anything else", _failure);
            }
        }
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            List<SentMail> group;
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _writing = false;
                    return;
                }

                group = _waiting.Take(MaxGroup).ToList();
                _waiting.RemoveRange(0, group.Count);
            }

            try
            {
                await store.MarkSentAsync(group, CancellationToken.None).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Any failure stops the recorder; FlushAsync rethrows it.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                lock (_gate)
                {
                    _failure = ex;
                    _unwritten.AddRange(group);
                    _unwritten.AddRange(_waiting);
                    _waiting.Clear();
                    _writing = false;
                }

                return;
            }
        }
    }
}
