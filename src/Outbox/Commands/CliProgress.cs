namespace Outbox.Commands;

/// <summary>
/// Progress of a long operation on stderr, rewritten in place ("queued 2000…"), so stdout keeps
/// only the result a script reads. Written at once (Progress&lt;T&gt; would post it later, after
/// the result); ends its line when disposed.
/// </summary>
internal sealed class CliProgress(TextWriter error, string verb) : IProgress<long>, IDisposable
{
    private bool _written;

    public void Report(long value)
    {
        error.Write($"\r{verb} {value}…");
        _written = true;
    }

    public void Dispose()
    {
        if (_written)
        {
            error.WriteLine();
        }
    }
}
