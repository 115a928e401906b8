using Outbox.Core.Messages;

namespace Outbox.Core.Dispatch;

/// <summary>
/// Writes the lanes' marks before their mails' SMTP transactions: a lane asks and waits, and the
/// marks asked for while one is being written go together in the next write (group commit), so
/// eight lanes pay about one round trip and one commit between them instead of one each.
/// </summary>
internal sealed class MarkRecorder(IDispatchStore store)
{
    private readonly object _gate = new();
    private readonly List<(ClaimedMessage Mail, TaskCompletionSource<bool> Done)> _waiting = [];
    private bool _writing;

    /// <summary>True once the mark is written; false when this worker's lease on the mail is gone. Throws when the write failed.</summary>
    public Task<bool> MarkAsync(ClaimedMessage mail)
    {
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _waiting.Add((mail, done));
            if (!_writing)
            {
                _writing = true;
                _ = Task.Run(DrainAsync);
            }
        }

        return done.Task;
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            List<(ClaimedMessage Mail, TaskCompletionSource<bool> Done)> group;
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _writing = false;
                    return;
                }

                group = [.. _waiting];
                _waiting.Clear();
            }

            try
            {
                var marked = await store.MarkDataStartingAsync(group.Select(g => g.Mail).ToList(), CancellationToken.None).ConfigureAwait(false);
                foreach (var (mail, done) in group)
                {
                    done.SetResult(marked.Contains(mail.Id));
                }
            }
#pragma warning disable CA1031 // Each lane gets the failure of its own mark.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                foreach (var (_, done) in group)
                {
                    done.SetException(ex);
                }
            }
        }
    }
}
