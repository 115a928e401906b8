using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Outbox.Core.Messages;
using Outbox.Tests.Infrastructure;
using Outbox.Worker;

namespace Outbox.Tests;

/// <summary>
/// What the CLI prints for a person, and what the worker logs, holds no raw control character:
/// a subject or a server reply that carries terminal escapes is shown escaped.
/// </summary>
public sealed class PrintableOutputTests : IDisposable
{
    private const string Hostile = "\u001b]0;pwned\u0007\u001b[2J\u202egnp.exe";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-printable-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task Show_list_and_status_escape_control_characters_and_json_keeps_the_value()
    {
        var database = Path.Combine(_dir.FullName, "outbox.db");
        var config = Path.Combine(_dir.FullName, "outbox.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new { Outbox = new { Database = new { Provider = "sqlite", ConnectionString = $"Data Source={database}" } } }), TestContext.Current.CancellationToken);
        await using var outbox = TestOutbox.Existing("sqlite", $"Data Source={database}");
        await new Outbox.Storage.SchemaInstaller(outbox.Database).InstallAsync(TestContext.Current.CancellationToken);
        var id = await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["to@example.com"], Subject = Hostile, TextBody = "x" });
        await outbox.ExecuteAsync("update outbox_message set status = 'failed', last_error = @error, smtp_reply = @error where id = @id", new { id, error = "550 " + Hostile });
        var idText = id.ToString(System.Globalization.CultureInfo.InvariantCulture);

        foreach (var args in new[] { new[] { "show", idText }, ["list"], ["status"] })
        {
            var (code, output) = await Cli.RunAsync([.. args, "--config", config]);
            Assert.Equal(0, code);
            Assert.DoesNotContain('\u001b', output);
            Assert.DoesNotContain('\u0007', output);
            Assert.DoesNotContain('\u202e', output);
            Assert.Contains("\\x1B]0;pwned\\x07", output, StringComparison.Ordinal);
        }

        var (_, json) = await Cli.RunAsync("show", idText, "--json", "--config", config);
        Assert.Equal(Hostile, JsonDocument.Parse(json).RootElement.GetProperty("message").GetProperty("subject").GetString());
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    [Fact]
    public void A_log_line_with_escapes_is_written_escaped_on_one_line()
    {
        using var services = new ServiceCollection().AddLogging(logging => logging.AddPrintableConsole()).BuildServiceProvider();
        var formatter = services.GetServices<ConsoleFormatter>().OfType<PrintableConsoleFormatter>().Single();
        using var output = new StringWriter();

        formatter.Write(new LogEntry<string>(LogLevel.Warning, "Outbox.Dispatch", new EventId(7), $"mail 1 failed: 550 {Hostile}\nsecond line", null, (state, _) => state), null, output);

        var line = output.ToString();
        Assert.StartsWith("warn: Outbox.Dispatch[7] mail 1 failed: 550 \\x1B]0;pwned\\x07\\x1B[2J\\u202Egnp.exe\\x0Asecond line", line, StringComparison.Ordinal);
        Assert.Equal(1, line.Count(c => c == '\n'));
    }
}
