using System.Text.Json;
using Outbox.Commands;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// With --json, stdout holds exactly one JSON document whatever happens: the result, or
/// {"ok": false, "exitCode": N, "errors": [...]} when the command could not do its work.
/// </summary>
public sealed class JsonOutputContractTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-json-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    // Every command that takes --json, with the arguments it needs.
    public static TheoryData<string[]> Commands() => new(
        ["status"],
        ["list"],
        ["show", "1"],
        ["retry", "--status", "failed"],
        ["purge", "--older-than", "30d"],
        ["send", "--from", "app@example.com", "--to", "ann@example.com", "--text", "x"],
        ["run", "--once"],
        ["check", "db"],
        ["check", "smtp"],
        ["config"]);

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task A_database_that_cannot_be_reached_still_gives_one_json_document(string[] command)
    {
        var config = Write(new
        {
            Database = new { Provider = "postgresql", ConnectionString = $"Host=127.0.0.1;Port={LoopbackPort.Free()};Username=x;Password=secret-pw-1;Timeout=2" },
            Smtp = new { Host = "127.0.0.1", Port = LoopbackPort.Free(), Security = "None", AllowInsecure = true, Timeout = "00:00:02" },
        });

        var (code, json, error) = await RunJsonAsync(command, config);

        Assert.DoesNotContain("secret-pw-1", json.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("secret-pw-1", error, StringComparison.Ordinal);
        switch (command[0])
        {
            case "config":
                Assert.Equal(0, code);
                break;
            case "check":
                // A check that ran reports its steps, whatever they found.
                Assert.Equal(ExitCodes.Failed, code);
                Assert.False(json.GetProperty("ok").GetBoolean());
                Assert.NotEmpty(json.GetProperty("steps").EnumerateArray());
                break;
            default:
                Assert.Equal(ExitCodes.Unreachable, code);
                AssertError(json, code, "database error");
                break;
        }
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task A_wrong_configuration_gives_one_json_document_naming_every_key(string[] command)
    {
        var config = Write(new { Smtp = new { Port = "abc" }, Dispatch = new { PollInterval = "10" } });

        var (code, json, _) = await RunJsonAsync(command, config);

        Assert.Equal(ExitCodes.Configuration, code);
        AssertError(json, code, "Outbox:Smtp:Port");
        Assert.Contains(json.GetProperty("errors").EnumerateArray(), e => e.GetString()!.StartsWith("Outbox:Dispatch:PollInterval", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("list", "--limit", "0")]
    [InlineData("purge", "--older-than", "soon")]
    [InlineData("show", "abc")]
    [InlineData("status", "--no-such-option")]
    public async Task A_wrong_command_line_gives_one_json_document(params string[] command)
    {
        var (code, json, _) = await RunJsonAsync(command, Write(new { }));

        Assert.Equal(ExitCodes.Usage, code);
        AssertError(json, code, string.Empty);
    }

    [Theory]
    [InlineData("show", "999")]
    [InlineData("retry", "--status", "sent")]
    public async Task A_request_the_outbox_refuses_gives_one_json_document(params string[] command)
    {
        var config = Write(new { Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" } });

        var (code, json, _) = await RunJsonAsync(command, config);

        Assert.Equal(ExitCodes.Usage, code);
        AssertError(json, code, command[0] == "show" ? "ID: there is no mail 999" : "--status");
    }

    [Fact]
    public async Task Run_once_with_the_smtp_server_down_gives_its_summary_as_json_and_logs_only_on_stderr()
    {
        var config = Write(new
        {
            Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" },
            Smtp = new { Host = "127.0.0.1", Port = LoopbackPort.Free(), Security = "None", AllowInsecure = true, Timeout = "00:00:02" },
        });
        Assert.Equal(0, (await RunJsonAsync(["send", "--from", "app@example.com", "--to", "ann@example.com", "--text", "x"], config)).Code);

        var (code, json, error) = await RunJsonAsync(["run", "--once"], config);

        Assert.Equal(ExitCodes.Unreachable, code);
        Assert.Equal(0, json.GetProperty("sent").GetInt32());
        Assert.StartsWith("outbox: mail goes by smtp to 127.0.0.1:", error, StringComparison.Ordinal);
        Assert.Contains("(None)", error, StringComparison.Ordinal);
    }

    private static void AssertError(JsonElement json, int code, string mentioned)
    {
        Assert.False(json.GetProperty("ok").GetBoolean());
        Assert.Equal(code, json.GetProperty("exitCode").GetInt32());
        var errors = json.GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.NotEmpty(errors);
        Assert.Contains(errors, e => e.Contains(mentioned, StringComparison.Ordinal));
        Assert.All(errors, e => Assert.DoesNotContain("System.", e, StringComparison.Ordinal));
    }

    private string Write(object outbox) => WorkerProcess.WriteConfig(_dir.FullName, outbox);

    // stdout must parse as one document, with nothing before or after it.
    private static async Task<(int Code, JsonElement Json, string Error)> RunJsonAsync(string[] command, string config)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await OutboxCli.RunAsync([.. command, "--json", "--config", config], output, error, Ct);
        var text = output.ToString();
        try
        {
            using var document = JsonDocument.Parse(text);
            return (code, document.RootElement.Clone(), error.ToString());
        }
        catch (JsonException ex)
        {
            Assert.Fail($"`outbox {string.Join(' ', command)} --json` (exit {code}) wrote no single JSON document to stdout ({ex.Message}):\n{text}\nstderr:\n{error}");
            throw;
        }
    }
}
