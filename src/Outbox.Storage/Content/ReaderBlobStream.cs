using System.Buffers;
using System.Data;
using System.Data.Common;

namespace Outbox.Storage.Content;

/// <summary>
/// A read-only, seekable view of one binary column read through a data reader in sequential
/// access mode (DbDataReader.GetBytes from a growing offset), the ADO.NET way to stream a LOB
/// whatever the driver: on Oracle, ODP.NET fetches the LOB locator and reads each piece from the
/// server as GetBytes asks for it. Seeking forward skips; seeking back (MailKit writes the
/// message twice: size, then data) runs the query again from the start.
/// </summary>
internal sealed class ReaderBlobStream : Stream
{
    private readonly DbDataSource _dataSource;
    private readonly string _query;
    private readonly long _id;
    private readonly long _length;
    private DbConnection? _connection;
    private DbCommand? _command;
    private DbDataReader? _reader;
    private long _readerPosition;
    private long _position;

    /// <param name="query">Returns the column as its only value, for the row whose id is the only parameter, Id.</param>
    public ReaderBlobStream(DbDataSource dataSource, string query, long id, long length)
    {
        _dataSource = dataSource;
        _query = query;
        _id = id;
        _length = length;
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_position >= _length || buffer.IsEmpty)
        {
            return 0;
        }

        if (_reader is null || _position < _readerPosition)
        {
            Open();
        }

        var count = (int)Math.Min(buffer.Length, _length - _position);
        var array = ArrayPool<byte>.Shared.Rent(count);
        try
        {
            var read = (int)_reader!.GetBytes(0, _position, array, 0, count);
            array.AsSpan(0, read).CopyTo(buffer);
            _position += read;
            _readerPosition = _position;
            return read;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    // GetBytes is synchronous in ADO.NET; ODP.NET's own async methods run synchronously too.
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => _length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Close(ref _reader, ref _command, ref _connection);
        }

        base.Dispose(disposing);
    }

    private void Open()
    {
        Close(ref _reader, ref _command, ref _connection);
        _connection = _dataSource.OpenConnection();
        _command = _connection.CreateCommand();
        _command.CommandText = _query;
        var id = _command.CreateParameter();
        id.ParameterName = "Id";
        id.Value = _id;
        _command.Parameters.Add(id);
        _reader = _command.ExecuteReader(CommandBehavior.SequentialAccess | CommandBehavior.SingleRow);
        if (!_reader.Read())
        {
            throw new InvalidOperationException($"attachment {_id} is gone (deleted while its mail was being sent?)");
        }

        _readerPosition = 0;
    }

    private static void Close(ref DbDataReader? reader, ref DbCommand? command, ref DbConnection? connection)
    {
        reader?.Dispose();
        command?.Dispose();
        connection?.Dispose();
        (reader, command, connection) = (null, null, null);
    }
}
