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
internal sealed class ReaderBlobStream : ColumnStream
{
    private readonly DbDataSource _dataSource;
    private readonly string _query;
    private readonly long _id;
    private DbConnection? _connection;
    private DbCommand? _command;
    private DbDataReader? _reader;
    private long _readerPosition;

    /// <param name="query">Returns the column as its only value, for the row whose id is the only parameter, Id.</param>
    public ReaderBlobStream(DbDataSource dataSource, string query, long id, long length)
        : base(length)
    {
        _dataSource = dataSource;
        _query = query;
        _id = id;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (Position >= Length || buffer.IsEmpty)
        {
            return 0;
        }

        if (_reader is null || Position < _readerPosition)
        {
            Open();
        }

        var count = (int)Math.Min(buffer.Length, Length - Position);
        var array = ArrayPool<byte>.Shared.Rent(count);
        try
        {
            var read = (int)_reader!.GetBytes(0, Position, array, 0, count);
            array.AsSpan(0, read).CopyTo(buffer);
            Position += read;
            _readerPosition = Position;
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
