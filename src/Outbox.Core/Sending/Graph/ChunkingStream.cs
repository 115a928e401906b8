namespace Outbox.Core.Sending.Graph;

/// <summary>
/// A write-only stream that gathers what is written into one buffer of a chunk's size and hands
/// each full chunk (and the last, shorter one) on with its offset: an attachment decoded into it
/// is uploaded while it is read from the database, never held whole.
/// </summary>
internal sealed class ChunkingStream(byte[] buffer, long total, Func<ReadOnlyMemory<byte>, long, CancellationToken, Task> putChunk) : Stream
{
    private int _filled;
    private long _handedOn;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _handedOn + _filled;

    public override long Position
    {
        get => Length;
        set => throw new NotSupportedException();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        while (!source.IsEmpty)
        {
            if (_handedOn + _filled + source.Length > total)
            {
                throw new InvalidDataException($"the attachment gives more than the {total:N0} bytes it measured");
            }

            var n = Math.Min(source.Length, buffer.Length - _filled);
            source[..n].CopyTo(buffer.AsMemory(_filled));
            _filled += n;
            source = source[n..];
            if (_filled == buffer.Length)
            {
                await HandOnAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("written asynchronously only");

    /// <summary>Hands on the last chunk; the bytes written must be the measured total.</summary>
    public async Task FinishAsync(CancellationToken cancellationToken)
    {
        if (_filled > 0)
        {
            await HandOnAsync(cancellationToken).ConfigureAwait(false);
        }

        if (_handedOn != total)
        {
            throw new InvalidDataException($"the attachment gave {_handedOn:N0} bytes, not the {total:N0} it measured");
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private async Task HandOnAsync(CancellationToken cancellationToken)
    {
        await putChunk(buffer.AsMemory(0, _filled), _handedOn, cancellationToken).ConfigureAwait(false);
        _handedOn += _filled;
        _filled = 0;
    }
}
