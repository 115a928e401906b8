using System.Text.RegularExpressions;
using Outbox.Storage;

namespace Outbox.Tests.Oracle;

/// <summary>
/// Reads the shipped install scripts (as embedded, byte for byte) into what they create: tables
/// with their columns, views with theirs, and the API's subprograms with their parameters. Just
/// enough parsing for the scripts this project writes, so the three databases can be compared.
/// </summary>
internal sealed partial class ScriptCatalog
{
    private static readonly string[] NotColumns = ["constraint", "primary", "unique", "foreign", "check"];

    private ScriptCatalog(string text)
    {
        Text = text;
        var code = LineComment().Replace(text, string.Empty);
        foreach (Match table in CreateTable().Matches(code))
        {
            var body = Parenthesized(code, table.Index + table.Length - 1);
            var columns = TopLevelItems(body)
                .Select(item => item.Split((char[])[' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries))
                .Where(words => !NotColumns.Contains(words[0].ToLowerInvariant()))
                .ToList();
            var name = table.Groups[1].Value.ToLowerInvariant();
            Tables[name] = columns.Select(words => words[0].ToLowerInvariant()).ToList();
            ColumnTypes[name] = columns.ToDictionary(words => words[0].ToLowerInvariant(), words => ColumnType(words));
        }

        // Oracle's 01_tables.sql adds later columns with add_column('table', 'column', 'type').
        foreach (Match added in AddColumn().Matches(code))
        {
            var name = added.Groups[1].Value.ToLowerInvariant();
            if (ColumnTypes.TryGetValue(name, out var types))
            {
                types.TryAdd(added.Groups[2].Value.ToLowerInvariant(), ColumnType(["-", .. added.Groups[3].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)]));
            }
        }

        foreach (Match view in CreateView().Matches(code))
        {
            Views[view.Groups[1].Value.ToLowerInvariant()] = TopLevelItems(view.Groups[2].Value)
                .Select(item => OutputName().Match(item.Trim()).Groups[1].Value.ToLowerInvariant())
                .ToList();
        }
    }

    public string Text { get; }

    /// <summary>Table name to its columns, in order.</summary>
    public Dictionary<string, List<string>> Tables { get; } = [];

    /// <summary>
    /// Table name to each column's type as declared, lower case ("varchar2(2000 char)", "clob"):
    /// the columns of its CREATE TABLE and those added to it later.
    /// </summary>
    public Dictionary<string, Dictionary<string, string>> ColumnTypes { get; } = [];

    /// <summary>View name to its columns, in order.</summary>
    public Dictionary<string, List<string>> Views { get; } = [];

    public static ScriptCatalog Of(string folder) =>
        new(string.Join("\n", SchemaInstaller.ScriptsOf(folder).Select(SchemaInstaller.ReadScript)));

    /// <summary>PostgreSQL's outbox_mail functions: name to the parameter lists of its overloads.</summary>
    public Dictionary<string, HashSet<string>> PostgresApi()
    {
        var api = new Dictionary<string, HashSet<string>>();
        var code = LineComment().Replace(Text, string.Empty);
        foreach (Match function in PostgresFunction().Matches(code))
        {
            var parameters = Parenthesized(code, function.Index + function.Length - 1);
            Add(api, function.Groups[1].Value, TopLevelItems(parameters).Select(p => p.Trim().Split(' ')[0]));
        }

        return api;
    }

    /// <summary>The OUTBOX_MAIL package specification's subprograms: name to the parameter lists of its overloads.</summary>
    public Dictionary<string, HashSet<string>> OracleApi() =>
        OracleSubprograms().GroupBy(s => s.Name).ToDictionary(
            g => g.Key,
            g => g.Select(s => string.Join(",", s.Parameters.Select(p => p.Split(' ')[0]))).ToHashSet());

    /// <summary>Each subprogram of the OUTBOX_MAIL specification with its parameters as written ("name in type default x"), lower case.</summary>
    public List<(string Name, List<string> Parameters)> OracleSubprograms()
    {
        var code = LineComment().Replace(Text, string.Empty);
        var start = code.IndexOf("create or replace package outbox_mail authid definer as", StringComparison.Ordinal);
        var end = code.IndexOf("end outbox_mail;", start, StringComparison.Ordinal);
        var spec = code[start..end];
        var result = new List<(string, List<string>)>();
        foreach (Match subprogram in OracleSubprogram().Matches(spec))
        {
            var after = subprogram.Index + subprogram.Length;
            while (char.IsWhiteSpace(spec[after]))
            {
                after++;
            }

            var parameters = spec[after] == '('
                ? TopLevelItems(Parenthesized(spec, after)).Select(p => Regex.Replace(p.Trim(), @"\s+", " ").ToLowerInvariant()).ToList()
                : [];
            result.Add((subprogram.Groups[1].Value.ToLowerInvariant(), parameters));
        }

        return result;
    }

    // The words after the column's name up to the first constraint word: "varchar2(1000 char)", "number(19)".
    private static string ColumnType(string[] words)
    {
        if (words.Length < 2)
        {
            return string.Empty;
        }

        var type = words[1];
        if (type.Contains('(', StringComparison.Ordinal) && !type.Contains(')', StringComparison.Ordinal) && words.Length > 2)
        {
            type += " " + words[2];
        }

        return type.ToLowerInvariant();
    }

    private static void Add(Dictionary<string, HashSet<string>> api, string name, IEnumerable<string> parameters)
    {
        if (!api.TryGetValue(name.ToLowerInvariant(), out var overloads))
        {
            api[name.ToLowerInvariant()] = overloads = [];
        }

        overloads.Add(string.Join(",", parameters.Select(p => p.ToLowerInvariant())));
    }

    // The text between the parenthesis at open and its match, skipping quoted strings.
    private static string Parenthesized(string text, int open)
    {
        var depth = 0;
        var quoted = false;
        for (var i = open; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\'')
            {
                quoted = !quoted;
            }
            else if (!quoted && c == '(')
            {
                depth++;
            }
            else if (!quoted && c == ')' && --depth == 0)
            {
                return text[(open + 1)..i];
            }
        }

        throw new FormatException($"unbalanced parenthesis at {open}");
    }

    private static List<string> TopLevelItems(string list)
    {
        var items = new List<string>();
        var depth = 0;
        var quoted = false;
        var start = 0;
        for (var i = 0; i < list.Length; i++)
        {
            var c = list[i];
            if (c == '\'')
            {
                quoted = !quoted;
            }
            else if (!quoted && c == '(')
            {
                depth++;
            }
            else if (!quoted && c == ')')
            {
                depth--;
            }
            else if (!quoted && depth == 0 && c == ',')
            {
                items.Add(list[start..i]);
                start = i + 1;
            }
        }

        items.Add(list[start..]);
        return items.Where(item => item.Trim().Length > 0).ToList();
    }

    [GeneratedRegex("--[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"\badd_column\('(\w+)', '(\w+)', (?:q'\[|')([^'\]]*)")]
    private static partial Regex AddColumn();

    [GeneratedRegex(@"create table (?:if not exists )?(?:outbox\.)?(\w+)\s*\(", RegexOptions.IgnoreCase)]
    private static partial Regex CreateTable();

    [GeneratedRegex(@"create (?:or replace )?view (?:if not exists )?(?:outbox\.)?(\w+) as\s+select\s+(.*?)\n\s*from\s", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex CreateView();

    // The name a select-list item comes out as: its alias, or the column after the table's alias.
    [GeneratedRegex(@"(?:.*\bas\s+|(?:\w+\.)?)(\w+)$", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex OutputName();

    [GeneratedRegex(@"create or replace function outbox_mail\.(\w+)\s*\(", RegexOptions.IgnoreCase)]
    private static partial Regex PostgresFunction();

    [GeneratedRegex(@"\b(?:procedure|function)\s+(\w+)", RegexOptions.IgnoreCase)]
    private static partial Regex OracleSubprogram();
}
