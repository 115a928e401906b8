using System.Text.RegularExpressions;
using Outbox.Storage;
using Outbox.Storage.Dialects;

namespace Outbox.Tests.Oracle;

/// <summary>
/// What the PL/SQL compiler resolves, checked in the text of the shipped scripts, without an
/// Oracle server: a grammar parses a body that does not compile. A SQL statement inside PL/SQL
/// is run by the SQL engine, which sees the package's specification and schema-level objects
/// but not the subprograms private to the body (PLS-00231); every table and column a statement
/// names must exist in the table scripts (PL/SQL: ORA-00942 / ORA-00904 at compile time). And the
/// byte semantics of VARCHAR2: a length check counts bytes, with the limits OutboxClient has.
/// </summary>
public sealed partial class PlSqlNameResolutionTests
{
    private static readonly ScriptCatalog Oracle = ScriptCatalog.Of("oracle");
    private static readonly string Body = Code(SchemaInstaller.ReadScript("sql/oracle/04_outbox_mail_body.sql"));

    [Fact]
    public void Every_routine_a_sql_statement_of_the_body_calls_is_declared_in_the_specification_or_the_schema()
    {
        var spec = Oracle.OracleSubprograms().Select(s => s.Name).ToHashSet();
        var privates = Subprogram().Matches(Body).Select(m => m.Groups[1].Value.ToLowerInvariant()).Where(name => !spec.Contains(name)).ToHashSet();
        Assert.Contains("raw_subject", privates);
        Assert.Contains("check_address", privates);

        var statements = SqlStatements(Body);
        Assert.True(statements.Count > 20, $"only {statements.Count} SQL statements found in the body");
        var offending = statements
            .SelectMany(statement => Call().Matches(statement).Select(call => (Name: call.Groups[1].Value.ToLowerInvariant(), Statement: statement)))
            .Where(call => privates.Contains(call.Name))
            .Select(call => $"{call.Name} (PLS-00231: private to the body, so not visible to SQL) in:\n{call.Statement}")
            .ToList();

        Assert.True(offending.Count == 0, string.Join("\n\n", offending));
    }

    [Theory]
    [InlineData("sql/oracle/04_outbox_mail_body.sql")]
    [InlineData("sql/oracle/02_views.sql")]
    [InlineData("sql/oracle/06_schema_version.sql")]
    public void Every_table_and_column_a_statement_names_exists_in_the_table_scripts(string script)
    {
        var code = Code(SchemaInstaller.ReadScript(script));
        var problems = new List<string>();
        foreach (var statement in SqlStatements(code))
        {
            var aliases = TableAlias().Matches(statement)
                .Select(m => (Table: m.Groups[1].Value.ToLowerInvariant(), Alias: m.Groups[2].Value.ToLowerInvariant()))
                .ToList();
            foreach (Match name in OutboxName().Matches(statement))
            {
                if (!Oracle.Tables.ContainsKey(name.Value.ToLowerInvariant()) && !Oracle.Views.ContainsKey(name.Value.ToLowerInvariant()) && name.Value != "outbox_mail_session")
                {
                    problems.Add($"no table {name.Value} (ORA-00942) in:\n{statement}");
                }
            }

            foreach (Match qualified in Qualified().Matches(statement))
            {
                var tables = aliases.Where(a => string.Equals(a.Alias, qualified.Groups[1].Value, StringComparison.OrdinalIgnoreCase)).Select(a => a.Table).Where(Oracle.Tables.ContainsKey).ToList();
                var column = qualified.Groups[2].Value.ToLowerInvariant();
                if (tables.Count > 0 && !tables.Any(t => Oracle.ColumnTypes[t].ContainsKey(column)))
                {
                    problems.Add($"no column {column} in {string.Join(" or ", tables)} (ORA-00904) in:\n{statement}");
                }
            }

            foreach (Match insert in InsertColumns().Matches(statement))
            {
                var table = insert.Groups[1].Value.ToLowerInvariant();
                problems.AddRange(insert.Groups[2].Value.Split(',').Select(c => c.Trim().ToLowerInvariant())
                    .Where(c => Oracle.ColumnTypes.TryGetValue(table, out var columns) && !columns.ContainsKey(c))
                    .Select(c => $"no column {c} in {table} (ORA-00904) in:\n{statement}"));
            }
        }

        foreach (Match anchored in AnchoredType().Matches(code))
        {
            var table = anchored.Groups[1].Value.ToLowerInvariant();
            if (!Oracle.ColumnTypes.TryGetValue(table, out var columns) || (anchored.Groups[2].Success && !columns.ContainsKey(anchored.Groups[2].Value.ToLowerInvariant())))
            {
                problems.Add($"{anchored.Value} names no column of the table scripts (PLS-00302)");
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n\n", problems));
    }

    // A check that counted characters let 1,500 CJK characters (4,500 bytes) past a 2,000
    // character limit into a column that holds at most 4,000 bytes.
    [Fact]
    public void Check_length_counts_bytes()
    {
        var checkLength = SubprogramText("check_length");

        Assert.Contains("lengthb(p_value) > p_max", checkLength, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(?<!\w)length\(", checkLength);
    }

    // The same limits in both, so OutboxClient and OUTBOX_MAIL refuse the same values.
    [Theory]
    [InlineData("check_address", null, OracleDialect.AddressBytes)]
    [InlineData("check_file_name", null, OracleDialect.FileNameBytes)]
    [InlineData("check_mime_type", null, OracleDialect.MimeTypeBytes)]
    [InlineData("new_message", "subject", OracleDialect.SubjectBytes)]
    [InlineData("store_attachment", "content_id", OracleDialect.ContentIdBytes)]
    public void The_package_checks_the_byte_limits_outbox_client_checks(string subprogram, string? parameter, int bytes)
    {
        var calls = CheckLengthCall().Matches(SubprogramText(subprogram))
            .Where(m => parameter is null || m.Groups[1].Value == $"'{parameter}'")
            .Select(m => int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture))
            .ToList();

        Assert.Equal([bytes], calls);
    }

    // raw_subject reads the header as Latin-1, one character per byte; a character takes up to
    // four bytes in the database character set, and the text must fit a VARCHAR2(32767).
    [Fact]
    public void Raw_subject_reads_no_more_than_its_variable_holds_in_any_character_set()
    {
        var rawSubject = SubprogramText("raw_subject");
        var read = int.Parse(Regex.Match(rawSubject, @"c_read\s+constant\s+pls_integer\s*:=\s*(\d+);").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

        Assert.InRange(read * 4, 1, 32767);
        Assert.Matches(@"dbms_lob\.substr\(r\.content, least\(2000, v_room\), 1\)", rawSubject);
        Assert.Contains("v_head varchar2(32767);", rawSubject, StringComparison.Ordinal);
    }

    // JSON_OBJECT_T.parse takes Oracle's lax JSON (unquoted keys, single quotes), which the
    // worker's parser refuses when it renders the mail: the data is checked strictly first.
    [Fact]
    public void Template_data_is_checked_as_strict_json()
    {
        var check = SubprogramText("check_template_data");
        var strict = check.IndexOf("is json strict", StringComparison.Ordinal);

        Assert.True(strict > 0, "check_template_data must test the data with IS JSON STRICT");
        Assert.True(strict < check.IndexOf("json_object_t.parse", StringComparison.Ordinal), "the strict test must come before the lax parse");
    }

    // The SQL statements of PL/SQL text: from SELECT / INSERT / UPDATE / DELETE / MERGE to the ";"
    // that ends it, or, for a subquery or a cursor FOR loop's query, to its closing parenthesis.
    private static List<string> SqlStatements(string code)
    {
        var statements = new List<string>();
        var at = 0;
        while (SqlStart().Match(code, at) is { Success: true } start)
        {
            var before = code[..start.Index].TrimEnd();
            int end;
            if (before.EndsWith('('))
            {
                end = start.Index;
                for (var depth = 1; depth > 0 && end < code.Length; end++)
                {
                    depth += code[end] switch { '(' => 1, ')' => -1, _ => 0 };
                }
            }
            else
            {
                end = code.IndexOf(';', start.Index);
                end = end < 0 ? code.Length : end + 1;
            }

            statements.Add(code[start.Index..end]);
            at = end;
        }

        return statements;
    }

    // One subprogram of the body as written, comments and literals included.
    private static string SubprogramText(string name)
    {
        var text = SchemaInstaller.ReadScript("sql/oracle/04_outbox_mail_body.sql");
        var start = Regex.Match(text, $@"\b(?:procedure|function) {name}\b").Index;
        return text[start..text.IndexOf($"end {name};", start, StringComparison.Ordinal)];
    }

    // Without comments and with every literal emptied: only code is read.
    private static string Code(string text) =>
        Regex.Replace(Regex.Replace(text, "--[^\n]*", string.Empty), @"q'\[.*?\]'|'(?:[^']|'')*'", "''", RegexOptions.Singleline);

    [GeneratedRegex(@"\b(?:procedure|function)\s+(\w+)", RegexOptions.IgnoreCase)]
    private static partial Regex Subprogram();

    [GeneratedRegex(@"\b(select|insert|update|delete|merge)\b(?!\s*(?:nowait|skip|of)\b)(?<!for\s+update)", RegexOptions.IgnoreCase)]
    private static partial Regex SqlStart();

    // A call: a name and "(", not after "." (a package's or an object's member) and not "in (".
    [GeneratedRegex(@"(?<![\w.%])(\w+)\s*\(", RegexOptions.IgnoreCase)]
    private static partial Regex Call();

    [GeneratedRegex(@"\boutbox_\w+\b", RegexOptions.IgnoreCase)]
    private static partial Regex OutboxName();

    [GeneratedRegex(@"\b(outbox_\w+)\s+(?!where\b|set\b|for\b|order\b|group\b|on\b|values\b|select\b|union\b|using\b)([a-z]\w*)\b", RegexOptions.IgnoreCase)]
    private static partial Regex TableAlias();

    [GeneratedRegex(@"(?<![\w.])([a-z]\w*)\.([a-z_]\w*)\b(?!\s*\()", RegexOptions.IgnoreCase)]
    private static partial Regex Qualified();

    [GeneratedRegex(@"\binsert\s+into\s+(outbox_\w+)\s*\(([^)]*)\)", RegexOptions.IgnoreCase)]
    private static partial Regex InsertColumns();

    [GeneratedRegex(@"\b(outbox_\w+)(?:\.(\w+))?%(?:row)?type\b", RegexOptions.IgnoreCase)]
    private static partial Regex AnchoredType();

    [GeneratedRegex(@"check_length\(\s*([^,]+),\s*[^,]+,\s*(\d+)")]
    private static partial Regex CheckLengthCall();
}
