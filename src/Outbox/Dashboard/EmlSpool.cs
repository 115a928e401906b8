using Outbox.Core.Messages;
using Outbox.Storage;

namespace Outbox.Dashboard;

/// <summary>
/// A mail's .eml written to a temporary file (deleted when closed) while the dashboard holds the
/// database, so the client then reads it from the file at its own pace and holds no connection.
/// Attachments pass through in slices, so memory stays bounded; the file is bounded by MaxDownloadBytes.
/// </summary>
public static class EmlSpool
{
    /// <summary>The file, at its start; null when there is no such mail. Larger than maxBytes: <see cref="TooLargeException"/>.</summary>
    public static async Task<FileStream?> WriteAsync(OutboxDatabase database, long id, long maxBytes, CancellationToken cancellationToken)
    {
        var file = new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 81920,
            FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            var store = new OutboxStore(database, "outbox dashboard");
            var mail = await store.ReadAsync(id, cancellationToken).ConfigureAwait(false);
            if (mail is null)
            {
                await file.DisposeAsync().ConfigureAwait(false);
                return null;
            }

            await using (var limited = new LimitedStream(file, maxBytes))
            {
                await new MimeMessageFactory(store.Content, TimeProvider.System).WriteAsync(mail, limited, cancellationToken).ConfigureAwait(false);
            }

            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            file.Position = 0;
            return file;
        }
        catch
        {
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The .eml would be larger than the bound; nothing was sent to the client.</summary>
    public sealed class TooLargeException(long maxBytes) : Exception($"larger than {maxBytes} bytes")
    {
        public long MaxBytes { get; } = maxBytes;
    }

    // Writes through to the file until the bound, then refuses; it leaves the file open.
    private sealed class LimitedStream(Stream inner, long maxBytes) : Stream
    {
        private long _written;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _written;

        public override long Position
        {
            get => _written;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Count(count);
            inner.Write(buffer, offset, count);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Count(buffer.Length);
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        private void Count(int bytes)
        {
            _written += bytes;
            if (_written > maxBytes)
            {
                throw new TooLargeException(maxBytes);
            }
        }
    }
}
