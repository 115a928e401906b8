namespace Outbox.Core.Dispatch;

/// <summary>
/// Writes the lanes' sent mails to the database behind their backs: a lane hands each accepted
/// mail over and goes on to the next, while one writer records everything that piled up
/// meanwhile, from every lane, in a single write (group commit). A failed write is rethrown to
/// the next lane that hands over or flushes; the mails it held stay leased and are taken over
/// as unconfirmed.
/// </summary>
internal sealed class SentRecorder(IDispatchStore store)
{
    private const int MaxGroup = 100;
    private readonly object _gate = new();
    private readonly List<SentMail> _waiting = [];
    private Task _writer = Task.CompletedTask;
    private bool _writing;

    public void Add(SentMail mail)
    {
        lock (_gate)
        {
            if (_writer.IsFaulted)
            {
                _writer.GetAwaiter().GetResult();
            }

            _waiting.Add(mail);
            if (!_writing)
            {
                _writing = true;
                _writer = Task.Run(DrainAsync);
            }
        }
    }

    /// <summary>Waits until everything handed over is written, surfacing a failed write.</summary>
    public async Task FlushAsync()
    {
        while (true)
        {
            Task writer;
            lock (_gate)
            {
                writer = _writer;
                if (!_writing && _waiting.Count == 0)
                {
                    break;
                }
            }

            await writer.ConfigureAwait(false);
        }

        await _writer.ConfigureAwait(false);
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
            catch
            {
                lock (_gate)
                {
                    _writing = false;
                }

                throw;
            }
        }
    }
}
