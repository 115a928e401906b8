using System.Data;
using System.Data.Common;

namespace Outbox.Storage.Content;

/// <summary>
/// A read-only, seekable view of a binary column that fetches one slice at a time
/// (substring on PostgreSQL). Memory stays at one slice whatever the attachment's size, and
/// seeking back is free, so MailKit may write the message twice (size, then data).
/// </summary>
internal sealed class SlicedBlobStream : ColumnStream
{
    /// <summary>1 MiB: large enough that a 500 MB attachment is 500 round trips, small enough to be negligible memory.</summary>
    internal const int SliceSize = 1024 * 1024;

    private readonly DbDataSource _dataSource;
    private readonly string _sliceQuery;
    private readonly long _id;
    private byte[]? _buffer;
    private int _sliceLength;
    private long _sliceStart = -1;

    /// <param name="sliceQuery">Returns the bytes from @Offset (0-based), @Count long, of row @Id.</param>
    public SlicedBlobStream(DbDataSource dataSource, string sliceQuery, long id, long length)
        : base(length)
    {
        _dataSource = dataSource;
        _sliceQuery = sliceQuery;
        _id = id;
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Position >= Length || buffer.Length == 0)
        {
            return 0;
        }

        if (Position < _sliceStart || Position >= _sliceStart + _sliceLength)
        {
            await FetchSliceAsync(Position, cancellationToken).ConfigureAwait(false);
        }

        var available = (int)(_sliceStart + _sliceLength - Position);
        var count = Math.Min(available, buffer.Length);
        _buffer.AsMemory((int)(Position - _sliceStart), count).CopyTo(buffer);
        Position += count;
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // Reads into one buffer reused for every slice, so a large attachment makes no garbage. The
    // pooled connection is held for one slice only: a mail with many attachments needs one
    // connection at a time, and a reader that waits between slices (a slow client) holds none.
    private async Task FetchSliceAsync(long start, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        _buffer ??= new byte[(int)Math.Min(SliceSize, Length)];
        var wanted = (int)Math.Min(_buffer.Length, Length - start);
        await using var command = connection.CreateCommand();
        command.CommandText = _sliceQuery;
        AddParameter(command, "Id", _id);
        AddParameter(command, "Offset", start);
        AddParameter(command, "Count", wanted);
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken).ConfigureAwait(false);
        var read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && !await reader.IsDBNullAsync(0, cancellationToken).ConfigureAwait(false)
            ? (int)reader.GetBytes(0, 0, _buffer, 0, wanted)
            : 0;
        if (read == 0)
        {
            throw new IOException($"attachment {_id} is shorter than its recorded {Length} bytes (changed or deleted while being sent)");
        }

        _sliceLength = read;
        _sliceStart = start;
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
