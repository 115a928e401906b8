using System.Text.Json;
using System.Text.RegularExpressions;
using Outbox.Commands;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// The command lines the README and docs/ show, taken from their code, checked against the
/// program: each must parse as written, and those that need neither a server nor a mail run
/// against a real SQLite file without a usage error. What the docs say the programs need is
/// checked against the builds.
/// </summary>
public sealed partial class DocumentedCommandsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-docs-");

    public void Dispose() => _dir.Delete(recursive: true);

    // Placeholders the docs write in capitals, and a value of the kind each stands for.
    private static readonly Dictionary<string, string> Placeholders = new(StringComparer.Ordinal)
    {
        ["ID"] = "42", ["NAME"] = "order_confirmation", ["ADDRESS"] = "orders@example.com", ["FILE"] = "file.txt", ["F"] = "file.txt",
        ["A"] = "a@example.com", ["B"] = "b@example.com", ["S"] = "failed", ["N"] = "5", ["T"] = "2h", ["P"] = "default", ["K"] = "key-1",
        ["L"] = "de-CH", ["TEXT"] = "x", ["URL"] = "http://127.0.0.1:9466/", ["RID"] = "linux-x64",
    };

    private static readonly HashSet<string> Commands = ["init", "run", "send", "status", "list", "show", "retry", "cancel", "purge", "check", "smtp", "db", "config", "dashboard", "template", "put", "render"];

    // Commands that read or only check: run against an empty SQLite outbox, they must get past the command line.
    private static readonly string[][] Runnable = [["status"], ["list"], ["config"], ["check", "db"], ["init"], ["template", "list"], ["purge"]];

    [Fact]
    public async Task Every_documented_command_line_is_accepted_by_the_program()
    {
        var lines = DocumentedCommandLines().ToList();
        Assert.True(lines.Count > 20, $"only {lines.Count} command lines found in the docs");

        var refused = new List<string>();
        var config = WorkerProcess.WriteConfig(_dir.FullName, new { Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")};Pooling=false" } });
        foreach (var (where, line, args) in lines)
        {
            var parse = OutboxCli.Parse(args);
            if (parse.Errors.Count > 0)
            {
                refused.Add($"{where}: `outbox {line}`: {string.Join("; ", parse.Errors.Select(CliArguments.Describe))}");
                continue;
            }

            if (Runnable.Any(r => args.Take(r.Length).SequenceEqual(r)) && !args.Contains("--help"))
            {
                var local = ReplaceConfig(args, config);
                var (code, output) = await Cli.RunAsync(local);
                if (code == ExitCodes.Usage)
                {
                    refused.Add($"{where}: `outbox {line}` exits 2: {output.Trim()}");
                }
            }
        }

        Assert.True(refused.Count == 0, string.Join('\n', refused));
    }

    [Fact]
    public void The_runtimes_the_docs_name_are_those_the_builds_need()
    {
        // The tool (and `dotnet run`) is framework-dependent: the frameworks its runtimeconfig names must be the ones the docs list.
        var runtimeConfig = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "outbox.runtimeconfig.json"))).RootElement;
        var frameworks = runtimeConfig.GetProperty("runtimeOptions").GetProperty("frameworks").EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToList();
        Assert.Equal(["Microsoft.NETCore.App", "Microsoft.AspNetCore.App"], frameworks);
        foreach (var doc in new[] { "README.md", "packaging/nuget/Outbox.Tool.md" })
        {
            var text = Flat(File.ReadAllText(Path.Combine(RepositoryRoot(), doc)));
            Assert.Contains("the .NET 10 and the ASP.NET Core 10 runtimes", text, StringComparison.Ordinal);
        }

        // Every documented dotnet publish of the program takes the release profile, which is self-contained.
        var profile = File.ReadAllText(Path.Combine(RepositoryRoot(), "src", "Outbox", "Properties", "PublishProfiles", "release.pubxml"));
        Assert.Contains("<SelfContained>true</SelfContained>", profile, StringComparison.Ordinal);
        var publishes = DocFiles().SelectMany(f => PublishCommand().Matches(File.ReadAllText(f)).Select(m => (File: Path.GetFileName(f), Line: m.Value))).ToList();
        Assert.NotEmpty(publishes);
        Assert.All(publishes, p => Assert.True(p.Line.Contains("-p:PublishProfile=release", StringComparison.Ordinal), $"{p.File}: {p.Line}"));
    }

    [Fact]
    public async Task Every_configuration_key_has_a_row_in_the_readmes_key_table()
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new { Database = new { Provider = "sqlite", ConnectionString = "Data Source=keys.db" } });
        var (code, output, _) = await Cli.RunApartAsync("config", "--config", config, "--json");
        Assert.Equal(0, code);
        var rows = File.ReadAllLines(Path.Combine(RepositoryRoot(), "README.md")).Where(l => l.StartsWith("| `Outbox:", StringComparison.Ordinal)).ToList();

        // A row names a key whole (`Outbox:Smtp:Host`), or after one of its section (`Outbox:Smtp:Host`, `Port`).
        var missing = JsonDocument.Parse(output).RootElement.EnumerateObject().Select(p => p.Name)
            .Where(key => !rows.Any(row => row.Contains($"`{key}`", StringComparison.Ordinal)
                || (row.StartsWith($"| `{key[..(key.LastIndexOf(':') + 1)]}", StringComparison.Ordinal) && row.Contains($"`{key[(key.LastIndexOf(':') + 1)..]}`", StringComparison.Ordinal))))
            .ToList();

        Assert.True(missing.Count == 0, $"README's key table has no row for {string.Join(", ", missing)}");
    }

    private static IEnumerable<(string Where, string Line, string[] Args)> DocumentedCommandLines()
    {
        foreach (var file in DocFiles())
        {
            var text = File.ReadAllText(file);
            // Inline code and the lines of fenced blocks: where the docs show what to type.
            var code = InlineCode().Matches(text).Select(m => (Inline: true, Text: m.Groups[1].Value))
                .Concat(FencedBlock().Matches(text).SelectMany(m => m.Groups[1].Value.Split('\n')).Select(l => (Inline: false, Text: l)));
            foreach (var (inline, snippet) in code)
            {
                foreach (Match command in CommandLine().Matches(snippet))
                {
                    var line = Cut(command.Groups[1].Value);
                    // A synopsis ([--cc], a | b, …) shows forms, not a line to type; so does a
                    // command named in a sentence (`outbox cancel`, `outbox purge --older-than`).
                    if (line.IndexOfAny(['[', '|', '…', '<']) >= 0 || line.Contains("...", StringComparison.Ordinal)
                        || (inline && Tokens(line).All(t => t.StartsWith("--", StringComparison.Ordinal) || Commands.Contains(t))))
                    {
                        continue;
                    }

                    var args = Tokens(line).Select(t => Placeholders.GetValueOrDefault(t, t)).ToArray();
                    yield return (Path.GetRelativePath(RepositoryRoot(), file), line, args);
                }
            }
        }
    }

    // Where the command ends: a redirection, a pipe, the next command, a line continuation.
    private static string Cut(string line)
    {
        foreach (var end in new[] { " > ", " && ", " \\", "; ", " # " })
        {
            var at = line.IndexOf(end, StringComparison.Ordinal);
            if (at >= 0)
            {
                line = line[..at];
            }
        }

        return line.Trim();
    }

    private static IEnumerable<string> Tokens(string line) =>
        ShellWord().Matches(line).Select(m => m.Groups["q"].Success ? m.Groups["q"].Value : m.Groups["s"].Success ? m.Groups["s"].Value : m.Value);

    private static string[] ReplaceConfig(string[] args, string config)
    {
        var list = args.ToList();
        var at = list.IndexOf("--config");
        if (at >= 0)
        {
            list.RemoveRange(at, Math.Min(2, list.Count - at));
        }

        return [.. list, "--config", config];
    }

    private static IEnumerable<string> DocFiles() =>
        new[] { "README.md", "sql/README.md", "packaging/nuget/Outbox.Tool.md" }.Select(f => Path.Combine(RepositoryRoot(), f))
            .Concat(Directory.GetFiles(Path.Combine(RepositoryRoot(), "docs"), "*.md"));

    private static string Flat(string text) => Regex.Replace(text, @"\s+", " ");

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Outbox.sln")))
        {
            directory = directory.Parent;
        }

        return directory!.FullName;
    }

    [GeneratedRegex(@"(?<!`)`([^`\n]+)`(?!`)")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"```(?:sh|bash|console|text)?\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex FencedBlock();

    // "outbox <command> …", or the same through `dotnet run --project src/Outbox --`.
    [GeneratedRegex(@"(?:^|[\s(])(?:outbox|src/Outbox --) ((?:init|run|send|status|list|show|retry|cancel|purge|check|config|dashboard|template)\b.*)$")]
    private static partial Regex CommandLine();

    [GeneratedRegex(@"""(?<q>[^""]*)""|'(?<s>[^']*)'|\S+")]
    private static partial Regex ShellWord();

    [GeneratedRegex(@"dotnet publish src/Outbox[^\n`]*")]
    private static partial Regex PublishCommand();
}
