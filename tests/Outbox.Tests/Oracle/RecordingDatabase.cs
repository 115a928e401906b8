using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Data.Sqlite;

namespace Outbox.Tests.Oracle;

/// <summary>
/// A narrow test double: an ADO.NET data source that runs nothing and records the text of every
/// command, so the statements the store, the admin queries and the client send through the
/// Oracle dialect can be read without an Oracle server. A command whose text returns ids
/// ("returning id") yields one row, id 1, so the code goes on to its next statements; a query of
/// table names yields every outbox table, and the rate limiter's window query one empty window,
/// for the same reason; the session user is SessionUser; any other query yields no rows.
/// </summary>
internal sealed class RecordingDataSource : DbDataSource
{
    /// <summary>The text of every command, in order.</summary>
    public List<string> Commands { get; } = [];

    /// <summary>The names of the parameters bound to each command, in the order of Commands.</summary>
    public List<IReadOnlyList<string>> Parameters { get; } = [];

    public const string SessionUser = "OUTBOX_SVC";

    public override string ConnectionString => "recording";

    protected override DbConnection CreateDbConnection() => new RecordingConnection(this);

    [SuppressMessage("Security", "CA2100", Justification = "Nothing runs: the text is only recorded.")]
    private sealed class RecordingConnection(RecordingDataSource source) : DbConnection
    {
        private ConnectionState _state = ConnectionState.Closed;

        [AllowNull]
        public override string ConnectionString { get; set; } = "recording";

        public override string Database => "recording";

        public override string DataSource => "recording";

        public override string ServerVersion => "0";

        public override ConnectionState State => _state;

        public override void ChangeDatabase(string databaseName)
        {
        }

        public override void Close() => _state = ConnectionState.Closed;

        public override void Open() => _state = ConnectionState.Open;

        protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) => new RecordingTransaction(this);

        protected override DbCommand CreateDbCommand() => new RecordingCommand(source, this);
    }

    private sealed class RecordingTransaction(DbConnection connection) : DbTransaction
    {
        public override IsolationLevel IsolationLevel => IsolationLevel.ReadCommitted;

        protected override DbConnection DbConnection => connection;

        public override void Commit()
        {
        }

        public override void Rollback()
        {
        }
    }

    private sealed class RecordingCommand(RecordingDataSource source, DbConnection connection) : DbCommand
    {
        // Somewhere real to keep Dapper's parameters; nothing is sent to SQLite.
        private readonly SqliteCommand _parameters = new();

        [AllowNull]
        public override string CommandText { get; set; } = string.Empty;

        public override int CommandTimeout { get; set; }

        public override CommandType CommandType { get; set; }

        public override bool DesignTimeVisible { get; set; }

        public override UpdateRowSource UpdatedRowSource { get; set; }

        protected override DbConnection? DbConnection { get; set; } = connection;

        protected override DbParameterCollection DbParameterCollection => _parameters.Parameters;

        protected override DbTransaction? DbTransaction { get; set; }

        public override void Cancel()
        {
        }

        public override int ExecuteNonQuery()
        {
            Record();
            return 1;
        }

        // The session user is one that does not own the outbox (a worker user).
        public override object? ExecuteScalar()
        {
            Record();
            return CommandText == Outbox.Storage.Dialects.OracleDialect.SessionUserQuery ? RecordingDataSource.SessionUser : DBNull.Value;
        }

        public override void Prepare()
        {
        }

        protected override DbParameter CreateDbParameter() => _parameters.CreateParameter();

        protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior)
        {
            Record();
            var table = new DataTable();
            if (CommandText.Contains("table_name", StringComparison.OrdinalIgnoreCase))
            {
                table.Columns.Add("table_name", typeof(string));
                foreach (var name in Outbox.Storage.SchemaInstaller.RequiredTables)
                {
                    table.Rows.Add(name);
                }
            }
            else if (CommandText.Contains("as Slots", StringComparison.Ordinal))
            {
                table.Columns.Add("Slots", typeof(long));
                table.Columns.Add("OldestAgeSeconds", typeof(double));
                table.Rows.Add(0L, DBNull.Value);
            }
            else
            {
                table.Columns.Add("id", typeof(long));
                if (CommandText.Contains("returning id", StringComparison.OrdinalIgnoreCase))
                {
                    table.Rows.Add(1L);
                }
            }

            return table.CreateDataReader();
        }

        private void Record()
        {
            source.Commands.Add(CommandText);
            source.Parameters.Add(_parameters.Parameters.Cast<DbParameter>().Select(p => p.ParameterName).ToList());
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _parameters.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
