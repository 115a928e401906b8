using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.RegularExpressions;

namespace Outbox.Tests.Oracle;

/// <summary>
/// An ADO.NET stand-in for ODP.NET (Oracle.ManagedDataAccess.Core), which cannot be restored
/// here, for every test of the Oracle path. It runs nothing; it refuses, as ODP.NET or the
/// server would, every command whose parameters are bound wrongly, and records the rest.
/// <para>
/// The rules, from ODP.NET's Developer's Guide ("OracleCommand Object: Parameter Binding",
/// "Inference of DbType, OracleDbType, and .NET Types", OracleParameter.DbType / OracleDbType,
/// OracleCommand.BindByName, "LOB Support") and Oracle's SQL and PL/SQL limits, in an AL32UTF8
/// database (the default since 12.2):
/// </para>
/// <list type="bullet">
/// <item>A parameter without an explicit OracleDbType infers it from its value's .NET type; only
/// the types of the inference table bind (string, char[], byte[], the integer and floating
/// types, decimal, DateTime, DateTimeOffset, TimeSpan). Any other value, such as a wrapper
/// object Dapper passed through as DbType.Object, is refused before the server sees it.</item>
/// <item>A DbType that maps to no OracleDbType is refused when set (OracleParameter.DbType:
/// ArgumentException); the stand-in counts Guid, Boolean (no SQL BOOLEAN before 23ai), Currency and
/// VarNumeric among them.</item>
/// <item>LOBs only with their OracleDbType: a value bound to a CLOB or BLOB column must be a
/// Clob (string) or Blob (byte[]) parameter. A string bound as VARCHAR2 holds at most 4000
/// bytes in SQL (ORA-01461) and 32767 in PL/SQL (ORA-06502); a byte[] as RAW 2000 and 32767.</item>
/// <item>A value bound to a VARCHAR2 column fits its size: "(N char)" holds N characters and at
/// most 4000 bytes, "(N)" N bytes (ORA-12899); every column an INSERT or UPDATE names exists
/// in the shipped table scripts (ORA-00904), and every table it writes too (ORA-00942).</item>
/// <item>Binding is by position unless BindByName is set (Dapper sets it): more than one
/// parameter without it is refused. Every :name the statement uses is bound (ORA-01008) and
/// every parameter bound is used (ORA-01036); an IN list holds at most 1000 values (ORA-01795).</item>
/// </list>
/// What the stand-in cannot tell: whether the server parses, resolves and runs the statement.
/// By default a command whose text returns ids ("returning id") yields one row, id 1; one that
/// returns the status it wrote ("returning status") one row, 'sending'; a query
/// of table names yields every outbox table; the rate limiter's window query one empty window,
/// its count of held connection slots none;
/// the session user is SessionUser; any other query no rows. Answer overrides that, and Fail
/// raises a server error for a command.
/// </summary>
internal sealed partial class OdpStandIn : DbDataSource
{
    public const string SessionUser = "OUTBOX_SVC";

    private static readonly ScriptCatalog Catalog = ScriptCatalog.Of("oracle");

    /// <summary>The text of every command that passed, in order.</summary>
    public List<string> Commands { get; } = [];

    /// <summary>The names of the parameters bound to each command, in the order of Commands.</summary>
    public List<IReadOnlyList<string>> Parameters { get; } = [];

    /// <summary>The parameters of each command as bound, in the order of Commands.</summary>
    public List<IReadOnlyList<OdpParameter>> Bindings { get; } = [];

    /// <summary>Rows for a command text, or null for the defaults above.</summary>
    public Func<string, DataTable?>? Answer { get; set; }

    private long _lastId;

    /// <summary>The value an output parameter of a command text gets, or null for a new id (as an OracleDecimal).</summary>
    public Func<string, object?>? Returns { get; set; }

    /// <summary>What ODP.NET gives for an output NUMBER: OracleDecimal, which no cast makes a long; its text does.</summary>
    internal readonly record struct OdpDecimal(long Value)
    {
        public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>An error the server would raise for a command text (a failed check in a script), or null.</summary>
    public Func<string, DbException?>? Fail { get; set; }

    public override string ConnectionString => "odp.net stand-in";

    protected override DbConnection CreateDbConnection() => new OdpConnection(this);

    /// <summary>What ODP.NET's OracleException is to the code: a DbException with an ORA- message.</summary>
    internal sealed class OdpException(string message) : DbException(message);

    /// <summary>ODP.NET's OracleDbType members that matter here, by the names OracleClob sets by reflection.</summary>
    internal enum OdpDbType
    {
        Blob,
        Byte,
        Char,
        Clob,
        Date,
        Decimal,
        Double,
        Int16,
        Int32,
        Int64,
        IntervalDS,
        NClob,
        NVarchar2,
        Raw,
        Single,
        TimeStamp,
        TimeStampTZ,
        Varchar2,
    }

    internal sealed class OdpParameter : DbParameter
    {
        private DbType _dbType = DbType.String;
        private OdpDbType _oracleDbType = OdpDbType.Varchar2;

        /// <summary>True once OracleDbType was set, not inferred.</summary>
        public bool ExplicitOracleDbType { get; private set; }

        public OdpDbType OracleDbType
        {
            get => _oracleDbType;
            set
            {
                _oracleDbType = value;
                ExplicitOracleDbType = true;
            }
        }

        // OracleParameter.DbType: "ArgumentException - The DbType value specified is invalid".
        public override DbType DbType
        {
            get => _dbType;
            set
            {
                if (value is DbType.Guid or DbType.Boolean or DbType.Currency or DbType.VarNumeric)
                {
                    throw new ArgumentException($"ODP.NET: DbType.{value} has no OracleDbType (parameter {ParameterName})", nameof(value));
                }

                _dbType = value;
                ExplicitOracleDbType = false;
            }
        }

        public override ParameterDirection Direction { get; set; } = ParameterDirection.Input;

        public override bool IsNullable { get; set; }

        [AllowNull]
        public override string ParameterName { get; set; } = string.Empty;

        public override int Size { get; set; }

        [AllowNull]
        public override string SourceColumn { get; set; } = string.Empty;

        public override bool SourceColumnNullMapping { get; set; }

        public override object? Value { get; set; }

        public string Name => ParameterName.TrimStart(':');

        public override void ResetDbType()
        {
            _dbType = DbType.String;
            _oracleDbType = OdpDbType.Varchar2;
            ExplicitOracleDbType = false;
        }
    }

    [SuppressMessage("Security", "CA2100", Justification = "Nothing runs: the text is only checked and recorded.")]
    private sealed class OdpConnection(OdpStandIn source) : DbConnection
    {
        private ConnectionState _state = ConnectionState.Closed;

        [AllowNull]
        public override string ConnectionString { get; set; } = "odp.net stand-in";

        public override string Database => "FREEPDB1";

        public override string DataSource => "stand-in";

        public override string ServerVersion => "23.0.0.0.0";

        public override ConnectionState State => _state;

        public override void ChangeDatabase(string databaseName)
        {
        }

        public override void Close() => _state = ConnectionState.Closed;

        public override void Open() => _state = ConnectionState.Open;

        protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) => new OdpTransaction(this);

        protected override DbCommand CreateDbCommand() => new OdpCommand(source, this);
    }

    private sealed class OdpTransaction(DbConnection connection) : DbTransaction
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

    private sealed class OdpParameterCollection : DbParameterCollection
    {
        private readonly List<OdpParameter> _items = [];

        public override int Count => _items.Count;

        public override object SyncRoot => _items;

        public List<OdpParameter> Items => _items;

        public override int Add(object value)
        {
            _items.Add(value as OdpParameter ?? throw new InvalidCastException($"ODP.NET takes OracleParameter objects, not {value?.GetType().Name}"));
            return _items.Count - 1;
        }

        public override void AddRange(Array values)
        {
            foreach (var value in values)
            {
                Add(value);
            }
        }

        public override void Clear() => _items.Clear();

        public override bool Contains(object value) => _items.Contains(value);

        public override bool Contains(string value) => IndexOf(value) >= 0;

        public override void CopyTo(Array array, int index) => ((System.Collections.ICollection)_items).CopyTo(array, index);

        public override System.Collections.IEnumerator GetEnumerator() => _items.GetEnumerator();

        public override int IndexOf(object value) => value is OdpParameter p ? _items.IndexOf(p) : -1;

        public override int IndexOf(string parameterName) => _items.FindIndex(p => string.Equals(p.Name, parameterName.TrimStart(':'), StringComparison.OrdinalIgnoreCase));

        public override void Insert(int index, object value) => _items.Insert(index, (OdpParameter)value);

        public override void Remove(object value) => _items.Remove((OdpParameter)value);

        public override void RemoveAt(int index) => _items.RemoveAt(index);

        public override void RemoveAt(string parameterName) => _items.RemoveAt(IndexOf(parameterName));

        protected override DbParameter GetParameter(int index) => _items[index];

        protected override DbParameter GetParameter(string parameterName) => _items[IndexOf(parameterName)];

        protected override void SetParameter(int index, DbParameter value) => _items[index] = (OdpParameter)value;

        protected override void SetParameter(string parameterName, DbParameter value) => _items[IndexOf(parameterName)] = (OdpParameter)value;
    }

    [SuppressMessage("Security", "CA2100", Justification = "Nothing runs: the text is only checked and recorded.")]
    internal sealed class OdpCommand(OdpStandIn source, DbConnection connection) : DbCommand
    {
        private readonly OdpParameterCollection _parameters = new();

        /// <summary>OracleCommand.BindByName: false by default, parameters then bind by position. Dapper sets it.</summary>
        public bool BindByName { get; set; }

        [AllowNull]
        public override string CommandText { get; set; } = string.Empty;

        public override int CommandTimeout { get; set; }

        public override CommandType CommandType { get; set; }

        public override bool DesignTimeVisible { get; set; }

        public override UpdateRowSource UpdatedRowSource { get; set; }

        protected override DbConnection? DbConnection { get; set; } = connection;

        protected override DbParameterCollection DbParameterCollection => _parameters;

        protected override DbTransaction? DbTransaction { get; set; }

        public override void Cancel()
        {
        }

        public override int ExecuteNonQuery()
        {
            Check();
            // ODP.NET gives an output NUMBER as an OracleDecimal; each call's out value is a new id.
            foreach (var output in _parameters.Items.Where(p => p.Direction is ParameterDirection.Output or ParameterDirection.InputOutput or ParameterDirection.ReturnValue))
            {
                output.Value = source.Returns?.Invoke(CommandText) is { } value ? value : new OdpDecimal(++source._lastId);
            }

            return 1;
        }

        public override object? ExecuteScalar()
        {
            Check();
            if (CommandText == Outbox.Storage.Dialects.OracleDialect.SessionUserQuery)
            {
                return SessionUser;
            }

            var rows = source.Answer?.Invoke(CommandText);
            return rows is { Rows.Count: > 0 } ? rows.Rows[0][0] : DBNull.Value;
        }

        public override void Prepare()
        {
        }

        protected override DbParameter CreateDbParameter() => new OdpParameter();

        protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior)
        {
            Check();
            return (source.Answer?.Invoke(CommandText) ?? DefaultRows(CommandText)).CreateDataReader();
        }

        private static DataTable DefaultRows(string text)
        {
            var table = new DataTable();
            if (text.Contains("table_name", StringComparison.OrdinalIgnoreCase))
            {
                table.Columns.Add("table_name", typeof(string));
                foreach (var name in Outbox.Storage.SchemaInstaller.RequiredTables)
                {
                    table.Rows.Add(name);
                }
            }
            else if (text.Contains("as Used", StringComparison.Ordinal))
            {
                table.Columns.Add("Used", typeof(decimal));
                table.Columns.Add("OldestAgeSeconds", typeof(double));
                table.Rows.Add(0m, DBNull.Value);
            }
            else if (text.Contains("as Held", StringComparison.Ordinal))
            {
                table.Columns.Add("Held", typeof(decimal));
                table.Rows.Add(0m);
            }
            else if (text.Contains("returning status", StringComparison.OrdinalIgnoreCase))
            {
                table.Columns.Add("status", typeof(string));
                table.Rows.Add("sending");
            }
            else
            {
                table.Columns.Add("id", typeof(long));
                if (text.Contains("returning id", StringComparison.OrdinalIgnoreCase))
                {
                    table.Rows.Add(1L);
                }
            }

            return table;
        }

        private void Check()
        {
            var text = CommandText;
            OracleSyntax.AssertRunnable(text, "sent to ODP.NET");
            // DDL (the install scripts) names no binds; ":new" in a trigger is not one.
            if (!Ddl().IsMatch(text))
            {
                var plsql = PlSql().IsMatch(text);
                var code = Code(text);
                CheckNames(code);
                foreach (var parameter in _parameters.Items)
                {
                    CheckValue(parameter, plsql);
                }

                CheckInLists(code);
                CheckColumns(code);
                if (plsql)
                {
                    CheckPackageCalls(code);
                }
            }

            if (source.Fail?.Invoke(text) is { } error)
            {
                throw error;
            }

            source.Commands.Add(text);
            source.Parameters.Add(_parameters.Items.Select(p => p.ParameterName).ToList());
            source.Bindings.Add(_parameters.Items.ToList());
        }

        private void CheckNames(string code)
        {
            var used = Bind().Matches(code).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.OrdinalIgnoreCase);
            if (_parameters.Count > 1 && !BindByName)
            {
                throw new InvalidOperationException($"ODP.NET binds by position unless BindByName is set: {_parameters.Count} parameters would be bound in the order added\n{CommandText}");
            }

            foreach (var name in used.Where(name => _parameters.IndexOf(name) < 0))
            {
                throw new OdpException($"ORA-01008: not all variables bound (:{name})\n{CommandText}");
            }

            foreach (var parameter in _parameters.Items.Where(p => !used.Contains(p.Name)))
            {
                throw new OdpException($"ORA-01036: illegal variable name/number ({parameter.Name} is bound, the statement has no :{parameter.Name})\n{CommandText}");
            }
        }

        private static void CheckValue(OdpParameter parameter, bool plsql)
        {
            var value = parameter.Value;
            if (value is null or DBNull)
            {
                return;
            }

            if (parameter.ExplicitOracleDbType)
            {
                var fits = parameter.OracleDbType switch
                {
                    OdpDbType.Clob or OdpDbType.NClob => value is string or char[],
                    OdpDbType.Blob => value is byte[],
                    _ => Inferred(value) is not null,
                };
                if (!fits)
                {
                    throw new InvalidCastException($"ODP.NET: parameter {parameter.Name} is OracleDbType.{parameter.OracleDbType} but holds a {value.GetType().Name}");
                }

                if (parameter.OracleDbType is OdpDbType.Clob or OdpDbType.NClob or OdpDbType.Blob)
                {
                    return;
                }
            }

            switch (Inferred(value))
            {
                case null:
                    throw new ArgumentException($"ODP.NET: Value does not fall within the expected range: parameter {parameter.Name} holds a {value.GetType().FullName}, "
                        + "a type ODP.NET infers no OracleDbType from (a wrapper object needs its own OracleDbType and the value it wraps)");
                case OdpDbType.Varchar2 when Encoding.UTF8.GetByteCount(value as string ?? new string((char[])value)) is var bytes && bytes > (plsql ? 32767 : 4000):
                    throw new OdpException(plsql
                        ? $"ORA-06502: PL/SQL: numeric or value error: character string buffer too small ({parameter.Name}: {bytes} bytes as VARCHAR2; bind it as a Clob)"
                        : $"ORA-01461: can bind a LONG value only for insert into a LONG column ({parameter.Name}: {bytes} bytes as VARCHAR2; bind it as a Clob)");
                case OdpDbType.Raw when ((byte[])value).Length > (plsql ? 32767 : 2000):
                    throw new OdpException($"ORA-01461: can bind a LONG value only for insert into a LONG column ({parameter.Name}: {((byte[])value).Length} bytes as RAW; bind it as a Blob)");
            }
        }

        // "Inference of OracleDbType from Value": the .NET types ODP.NET binds without being told.
        private static OdpDbType? Inferred(object value) => value switch
        {
            string or char or char[] => OdpDbType.Varchar2,
            byte[] => OdpDbType.Raw,
            byte or sbyte => OdpDbType.Byte,
            short or ushort => OdpDbType.Int16,
            int or uint => OdpDbType.Int32,
            long or ulong => OdpDbType.Int64,
            decimal => OdpDbType.Decimal,
            double => OdpDbType.Double,
            float => OdpDbType.Single,
            DateTime => OdpDbType.TimeStamp,
            DateTimeOffset => OdpDbType.TimeStampTZ,
            TimeSpan => OdpDbType.IntervalDS,
            _ => null,
        };

        // PL/SQL resolves a call of OUTBOX_MAIL against its specification when the block compiles:
        // an unknown subprogram is PLS-00302, an argument name no overload has and a parameter
        // without a default left out are PLS-00306.
        private static void CheckPackageCalls(string code)
        {
            foreach (Match call in PackageCall().Matches(code))
            {
                var name = call.Groups[1].Value.ToLowerInvariant();
                var overloads = Catalog.OracleSubprograms().Where(s => s.Name == name).ToList();
                if (overloads.Count == 0)
                {
                    throw new OdpException($"PLS-00302: component '{name.ToUpperInvariant()}' must be declared\n{code}");
                }

                var named = NamedArgument().Matches(Parenthesized(code, call.Index + call.Length - 1)).Select(m => m.Groups[1].Value.ToLowerInvariant()).ToHashSet();
                var fits = overloads.Any(overload =>
                {
                    var formals = overload.Parameters.Select(p => (Name: p.Split(' ')[0], Required: !p.Contains(" default ", StringComparison.Ordinal))).ToList();
                    return named.All(n => formals.Any(f => f.Name == n)) && formals.Where(f => f.Required).All(f => named.Contains(f.Name));
                });
                if (!fits)
                {
                    throw new OdpException($"PLS-00306: wrong number or types of arguments in call to '{name.ToUpperInvariant()}' ({string.Join(", ", named)})\n{code}");
                }
            }
        }

        private static string Parenthesized(string code, int open)
        {
            var depth = 0;
            for (var i = open; i < code.Length; i++)
            {
                depth += code[i] switch { '(' => 1, ')' => -1, _ => 0 };
                if (depth == 0)
                {
                    return code[(open + 1)..i];
                }
            }

            return code[(open + 1)..];
        }

        private static void CheckInLists(string code)
        {
            foreach (Match list in InList().Matches(code))
            {
                var items = list.Groups[1].Value.Split(',');
                if (items.Length > 1000 && items.All(item => Bind().IsMatch(item)))
                {
                    throw new OdpException($"ORA-01795: maximum number of expressions in a list is 1000 (this one has {items.Length})");
                }
            }
        }

        private void CheckColumns(string code)
        {
            foreach (Match insert in Insert().Matches(code))
            {
                var table = Table(insert.Groups[1].Value);
                var columns = insert.Groups[2].Value.Split(',').Select(c => c.Trim().ToLowerInvariant()).ToList();
                columns.ForEach(column => Column(table, column));
                if (insert.Groups[3].Success)
                {
                    var values = TopLevel(code, insert.Index + insert.Length - 1);
                    for (var i = 0; i < Math.Min(values.Count, columns.Count); i++)
                    {
                        CheckBoundColumn(table, columns[i], values[i]);
                    }
                }
            }

            foreach (Match update in Update().Matches(code))
            {
                var table = Table(update.Groups[1].Value);
                foreach (var assignment in SplitTopLevel(update.Groups[2].Value))
                {
                    var set = Assignment().Match(assignment);
                    if (set.Success)
                    {
                        var column = set.Groups[1].Value.ToLowerInvariant();
                        Column(table, column);
                        CheckBoundColumn(table, column, set.Groups[2].Value);
                    }
                }
            }
        }

        private static string Table(string name)
        {
            var table = name.ToLowerInvariant();
            return Catalog.Tables.ContainsKey(table) ? table : throw new OdpException($"ORA-00942: table or view does not exist ({name}: not made by sql/oracle/01_tables.sql)");
        }

        private static void Column(string table, string column)
        {
            if (!Catalog.ColumnTypes[table].ContainsKey(column))
            {
                throw new OdpException($"ORA-00904: \"{column.ToUpperInvariant()}\": invalid identifier (no such column in {table}, sql/oracle/01_tables.sql)");
            }
        }

        private void CheckBoundColumn(string table, string column, string expression)
        {
            var bind = Bind().Match(expression.Trim());
            if (!bind.Success || bind.Length != expression.Trim().Length)
            {
                return;
            }

            var parameter = _parameters.Items[_parameters.IndexOf(bind.Groups[1].Value)];
            if (parameter.Value is null or DBNull)
            {
                return;
            }

            var type = Catalog.ColumnTypes[table][column];
            var lob = type switch
            {
                "clob" => OdpDbType.Clob,
                "blob" => OdpDbType.Blob,
                _ => (OdpDbType?)null,
            };
            if (lob is { } needed && (!parameter.ExplicitOracleDbType || parameter.OracleDbType != needed))
            {
                throw new InvalidOperationException($"ODP.NET stand-in: {parameter.Name} goes into {table}.{column}, a {type.ToUpperInvariant()}: "
                    + $"bind it with OracleDbType.{needed} (it is {(parameter.ExplicitOracleDbType ? parameter.OracleDbType.ToString() : $"inferred from a {parameter.Value.GetType().Name}")})");
            }

            var size = VarcharSize().Match(type);
            if (size.Success && parameter.Value is string text)
            {
                var max = int.Parse(size.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                var chars = size.Groups[2].Success;
                var bytes = Encoding.UTF8.GetByteCount(text);
                var (actual, limit) = chars
                    ? (text.Length > max ? (text.Length, max) : (bytes, 4000))
                    : (bytes, max);
                if (actual > limit)
                {
                    throw new OdpException($"ORA-12899: value too large for column \"{table.ToUpperInvariant()}\".\"{column.ToUpperInvariant()}\" (actual: {actual}, maximum: {limit})");
                }
            }
        }

        // The items of the parenthesized list that starts at open.
        private static List<string> TopLevel(string code, int open)
        {
            var depth = 0;
            for (var i = open; i < code.Length; i++)
            {
                if (code[i] == '(')
                {
                    depth++;
                }
                else if (code[i] == ')' && --depth == 0)
                {
                    return SplitTopLevel(code[(open + 1)..i]);
                }
            }

            return [];
        }

        private static List<string> SplitTopLevel(string list)
        {
            var items = new List<string>();
            var depth = 0;
            var start = 0;
            for (var i = 0; i < list.Length; i++)
            {
                depth += list[i] switch { '(' => 1, ')' => -1, _ => 0 };
                if (depth == 0 && list[i] == ',')
                {
                    items.Add(list[start..i]);
                    start = i + 1;
                }
            }

            items.Add(list[start..]);
            return items;
        }
    }

    // The statement without comments and with every literal emptied, so that only code is read.
    private static string Code(string text) => Literal().Replace(LineComment().Replace(text, string.Empty), "''");

    [GeneratedRegex(@"^\s*create\b", RegexOptions.IgnoreCase)]
    private static partial Regex Ddl();

    [GeneratedRegex(@"^\s*(declare|begin)\b", RegexOptions.IgnoreCase)]
    private static partial Regex PlSql();

    [GeneratedRegex(@"\boutbox_mail\.(\w+)\s*\(", RegexOptions.IgnoreCase)]
    private static partial Regex PackageCall();

    [GeneratedRegex(@"(\w+)\s*=>")]
    private static partial Regex NamedArgument();

    [GeneratedRegex("--[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"q'\[.*?\]'|'(?:[^']|'')*'", RegexOptions.Singleline)]
    private static partial Regex Literal();

    // :Name, but not ":=" and not the second colon of "::".
    [GeneratedRegex(@"(?<![\w:]):([A-Za-z]\w*)")]
    private static partial Regex Bind();

    [GeneratedRegex(@"\bin\s*\(([^()]*)\)", RegexOptions.IgnoreCase)]
    private static partial Regex InList();

    [GeneratedRegex(@"\binsert\s+into\s+(?:\w+\.)?(\w+)\s*\(([^)]*)\)\s*(?:(values)\s*\(|select\b)", RegexOptions.IgnoreCase)]
    private static partial Regex Insert();

    [GeneratedRegex(@"\bupdate\s+(?:\w+\.)?(\w+)(?:\s+(?!set\b)\w+)?\s+set\s+(.*?)(?=\bwhere\b|\breturning\b|;|$)", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex Update();

    [GeneratedRegex(@"^\s*(?:\w+\.)?(\w+)\s*=\s*(.+?)\s*$", RegexOptions.Singleline)]
    private static partial Regex Assignment();

    [GeneratedRegex(@"^varchar2\((\d+)( char)?\)$")]
    private static partial Regex VarcharSize();
}
