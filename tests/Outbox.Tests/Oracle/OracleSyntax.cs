using System.Text.RegularExpressions;

namespace Outbox.Tests.Oracle;

/// <summary>
/// The mistakes that would make a statement fail on Oracle and that a reader can see without
/// Oracle: PostgreSQL or SQLite syntax, @ bind markers, a stray semicolon, a carriage return.
/// </summary>
internal static partial class OracleSyntax
{
    public static void AssertRunnable(string statement, string where)
    {
        var plsql = PlSqlStart().IsMatch(statement);
        var code = Literal().Replace(LineComment().Replace(statement, string.Empty), "''");
        Assert.False(statement.Contains('\r', StringComparison.Ordinal), $"{where}: carriage return (ODP.NET rejects it in PL/SQL)\n{statement}");
        Assert.False(AtBind().IsMatch(code), $"{where}: @ bind marker; Oracle binds :Name\n{statement}");
        Assert.DoesNotMatch(PostgresOnly(), code);
        if (plsql)
        {
            Assert.True(statement.TrimEnd().EndsWith(';'), $"{where}: a PL/SQL block must end with ';'\n{statement}");
        }
        else
        {
            Assert.False(statement.TrimEnd().EndsWith(';'), $"{where}: a SQL statement sent through ADO.NET must not end with ';'\n{statement}");
            Assert.False(code.Contains(';', StringComparison.Ordinal), $"{where}: two statements in one command need a PL/SQL block\n{statement}");
            Assert.False(SqlLimit().IsMatch(code), $"{where}: LIMIT is not Oracle; use FETCH FIRST n ROWS ONLY\n{statement}");
            Assert.False(Regex.IsMatch(code, @"\breturning\b", RegexOptions.IgnoreCase), $"{where}: RETURNING to the client needs a PL/SQL block\n{statement}");
        }

        Assert.False(ReservedAlias().IsMatch(code), $"{where}: an Oracle reserved word as an unquoted alias\n{statement}");
    }

    [GeneratedRegex(@"^\s*(declare|begin|create\s+or\s+replace\s+(package|procedure|function|trigger))\b", RegexOptions.IgnoreCase)]
    private static partial Regex PlSqlStart();

    [GeneratedRegex("--[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"q'\[.*?\]'|'(?:[^']|'')*'", RegexOptions.Singleline)]
    private static partial Regex Literal();

    [GeneratedRegex(@"(?<![\w@])@\w")]
    private static partial Regex AtBind();

    [GeneratedRegex(@"\bon conflict\b|\bnow\(\)|::|\bilike\b|\bserial\b|\bbytea\b|\btimestamptz\b|\bstrftime\b|\bif not exists\b", RegexOptions.IgnoreCase)]
    private static partial Regex PostgresOnly();

    // The reserved words of Oracle SQL most likely to be chosen as column aliases.
    [GeneratedRegex(@"\bas\s+(size|level|mode|file|row|rows|uid|user|comment|session|number|date|access|start|share|resource|successful|option|order|group)\b(?!\s*\))", RegexOptions.IgnoreCase)]
    private static partial Regex ReservedAlias();

    [GeneratedRegex(@"\blimit\s+[:@\d]", RegexOptions.IgnoreCase)]
    private static partial Regex SqlLimit();
}
