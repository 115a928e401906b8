using System.Text.Json;
using Outbox.Commands;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// What a script relies on: a wrong command line is one line per problem on stderr (no help on
/// stdout, no .NET type names) and exit code 2; stdout holds only the result, so `--json` is one
/// JSON document even when mails fail; the exit code says what kind of failure it was.
/// </summary>
public sealed class CommandLineContractTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-cli-contract-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Delete(recursive: true);

    [Theory]
    [InlineData("--batch-size: must be from 1 to 100000, not 0", "retry", "--status", "failed", "--batch-size", "0")]
    [InlineData("--batch-size: must be from 1 to 100000, not -1", "purge", "--older-than", "1.00:00:00", "--batch-size", "-1")]
    [InlineData("--limit: \"ten\" is not a whole number", "list", "--limit", "ten")]
    [InlineData("ID: \"abc\" is not a whole number", "show", "abc")]
    [InlineData("--older-than: \"soon\" is not a duration: write 90s, 5m (or 5min: minutes), 1h, 30d, 2w, hh:mm:ss or d.hh:mm:ss", "purge", "--older-than", "soon")]
    [InlineData("--older-than: \"1mo\": months and years differ in length, so they are not a duration here: write days (30d)", "purge", "--older-than", "1mo")]
    [InlineData("--status: \"bogus\" is not one of draft, queued, sending, sent, unconfirmed, failed, cancelled, expired", "list", "--status", "bogus")]
    [InlineData("--older-than: \"30\" is ambiguous: write 30s, 30m, 30h, 30d or hh:mm:ss", "purge", "--older-than", "30")]
    [InlineData("--send-after: \"tomorrow\" is not a time: write a date (2026-12-01), a time (2026-12-01T10:00:00Z) or a delay from now (90m, 2h, 7d)", "send", "--from", "a@example.com", "--to", "b@example.com", "--send-after", "tomorrow")]
    [InlineData("--priority: must be from 1 to 5, not 9", "send", "--from", "a@example.com", "--to", "b@example.com", "--priority", "9")]
    public async Task A_wrong_command_line_is_one_line_naming_the_option_and_exit_code_2(string expected, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await OutboxCli.RunAsync(args, output, error, Ct);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal(string.Empty, output.ToString());
        var lines = error.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([$"outbox: {expected}", $"outbox: see `outbox {args[0]} --help`"], lines);
        Assert.DoesNotContain("System.", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_once_json_is_one_document_on_stdout_and_exit_code_4_when_the_server_is_down()
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" },
            Transport = "smtp",
            Smtp = new { Host = "127.0.0.1", Port = LoopbackPort.Free(), Security = "None", AllowInsecure = true, Timeout = "00:00:03" },
        });
        Assert.Equal(0, await OutboxCli.RunAsync(["send", "--config", config, "--from", "a@example.com", "--to", "b@example.com", "--text", "x"], TextWriter.Null, TextWriter.Null, Ct));

        var (code, stdout, stderr) = await RunProgramAsync("run", "--once", "--json", "--config", config);

        Assert.Equal(ExitCodes.Unreachable, code);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(1, json.RootElement.GetProperty("notTried").GetInt32());
        Assert.Contains("could not connect to 127.0.0.1", json.RootElement.GetProperty("pausedBecause").GetString(), StringComparison.Ordinal);
        Assert.Contains("fail:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Outbox_config_names_the_configuration_file_for_every_command_and_send_json_gives_the_id()
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "named.db")}" },
        });
        var environment = new Dictionary<string, string> { [CliContext.ConfigVariable] = config };

        var (sendCode, sent, _) = await RunProgramAsync(environment, "send", "--from", "a@example.com", "--to", "b@example.com", "--text", "x", "--json");
        var (_, listed, _) = await RunProgramAsync(environment, "list", "--json");

        Assert.Equal(0, sendCode);
        using var id = JsonDocument.Parse(sent);
        using var list = JsonDocument.Parse(listed);
        Assert.Equal(id.RootElement.GetProperty("id").GetInt64(), Assert.Single(list.RootElement.EnumerateArray()).GetProperty("id").GetInt64());
        Assert.True(File.Exists(Path.Combine(_dir.FullName, "named.db")));
        Assert.False(File.Exists(Path.Combine(_dir.FullName, "outbox.db")), "the embedded default's database was used");
    }

    private Task<(int Code, string Out, string Error)> RunProgramAsync(params string[] args) => RunProgramAsync(null, args);

    // The real program in a child process: console logging goes to the process's own stderr.
    private Task<(int Code, string Out, string Error)> RunProgramAsync(IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        WorkerProcess.RunToEndAsync(_dir.FullName, environment, args);
}
