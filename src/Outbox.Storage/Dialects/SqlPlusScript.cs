using System.Text;

namespace Outbox.Storage.Dialects;

/// <summary>
/// Splits one of the shipped Oracle scripts (written for SQL*Plus and SQLcl) into the
/// statements ADO.NET can run. The scripts end every statement with a line holding only "/",
/// so that is the rule here; the SQL*Plus commands between statements (whenever, define, show,
/// prompt, @@) are for those tools and are left out.
/// </summary>
public static class SqlPlusScript
{
    private static readonly string[] ToolCommands = ["whenever ", "define ", "undefine ", "show ", "prompt", "set ", "@", "rem ", "spool "];

    public static IReadOnlyList<string> Split(string script)
    {
        ArgumentNullException.ThrowIfNull(script);
        var statements = new List<string>();
        var current = new StringBuilder();
        foreach (var rawLine in script.ReplaceLineEndings("\n").Split('\n'))
        {
            var line = rawLine.TrimEnd();
            if (line == "/")
            {
                AddStatement(statements, current);
                continue;
            }

            // Between statements only: inside one, these words can start an ordinary line of SQL.
            if (current.ToString().Trim().Length == 0
                && (line.TrimStart().StartsWith("--", StringComparison.Ordinal)
                    || ToolCommands.Any(c => line.TrimStart().StartsWith(c, StringComparison.OrdinalIgnoreCase))))
            {
                continue;
            }

            current.Append(line).Append('\n');
        }

        if (current.ToString().Trim().Length > 0)
        {
            throw new FormatException($"the script ends with a statement that has no \"/\" line after it: {Abbreviate(current.ToString())}");
        }

        return statements;
    }

    private static void AddStatement(List<string> statements, StringBuilder current)
    {
        var statement = current.ToString().Trim();
        current.Clear();
        if (statement.Length > 0)
        {
            statements.Add(statement);
        }
    }

    private static string Abbreviate(string text)
    {
        var trimmed = text.Trim();
        return trimmed.Length <= 60 ? trimmed : trimmed[..60] + "...";
    }
}
