using System.Globalization;
using System.Text.Json;
using Npgsql;
using Outbox.Commands;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>`outbox list` filters, `show --eml`, and the subject of UTL_SMTP-shaped mails.</summary>
public sealed class ListFilterTests(PostgresServer postgres) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-list-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task List_filters_by_recipient_subject_and_creation_time(string provider)
    {
        var config = await ConfigAsync(provider);
        var invoice = await SendAsync(config, "billing@example.com", "ann@customer.example", "Invoice 100% paid", "--cc", "Boss <boss@example.org>");
        var reminder = await SendAsync(config, "billing@example.com", "bob@customer.example", "Reminder_1");
        var alert = await SendAsync(config, "ops@example.com", "oncall@example.org", "Disk full");

        Assert.Equal([alert, invoice], await IdsAsync(config, "--to", "@EXAMPLE.org"));
        Assert.Equal([invoice], await IdsAsync(config, "--to", "boss@example.org"));
        Assert.Equal([reminder, invoice], await IdsAsync(config, "--to", "customer.example"));
        Assert.Equal([invoice], await IdsAsync(config, "--subject", "100%"));
        // % and _ are the caller's text, not patterns.
        Assert.Empty(await IdsAsync(config, "--subject", "1%paid"));
        Assert.Equal([reminder], await IdsAsync(config, "--subject", "r_1"));
        Assert.Empty(await IdsAsync(config, "--subject", "Invoice_100"));
        Assert.Equal([alert], await IdsAsync(config, "--subject", "disk", "--to", "oncall"));

        Assert.Equal([alert, reminder, invoice], await IdsAsync(config, "--since", "1h"));
        Assert.Equal([alert, reminder, invoice], await IdsAsync(config, "--since", DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)));
        Assert.Empty(await IdsAsync(config, "--until", "2000-01-01"));
        Assert.Empty(await IdsAsync(config, "--since", DateTimeOffset.UtcNow.AddMinutes(5).ToString("O", CultureInfo.InvariantCulture)));
        Assert.Equal([alert, reminder, invoice], await IdsAsync(config, "--since", "2000-01-01", "--until", DateTimeOffset.UtcNow.AddMinutes(5).ToString("O", CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData("--since", "yesterday", "--since: \"yesterday\" is not a time")]
    [InlineData("--until", "30", "--until: \"30\" is not a time")]
    [InlineData("--to", "", "--to: give 1 to 998 characters on one line")]
    [InlineData("--subject", "a\nb", "--subject: give 1 to 998 characters on one line")]
    public async Task A_bad_filter_is_a_usage_error_naming_the_option(string option, string value, string message)
    {
        var config = await ConfigAsync("sqlite");
        var (code, output, error) = await RunAsync("list", "--config", config, option, value);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Empty(output);
        Assert.StartsWith($"outbox: {message}", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_utl_smtp_shaped_mail_shows_the_subject_its_text_holds_in_list_and_show()
    {
        var config = await ConfigAsync("postgresql");
        long id;
        await using (var connection = new NpgsqlConnection(_connectionString))
        {
            await connection.OpenAsync(Ct);
            id = (long)(await new NpgsqlCommand("select outbox_mail.open_mail('app@example.com')", connection).ExecuteScalarAsync(Ct))!;
            foreach (var sql in new[]
            {
                $"select outbox_mail.rcpt({id}, 'ann@example.com')",
                $"select outbox_mail.write_data({id}, E'From: app@example.com\\r\\nTo: ann@example.com\\r\\n')",
                // Folded, RFC 2047-encoded, and a Subject: line in the body that must not count.
                $"select outbox_mail.write_data({id}, E'Subject: =?UTF-8?B?R3LDvMOfZQ==?=\\r\\n and more\\r\\n\\r\\nSubject: not this one\\r\\n')",
                $"select outbox_mail.close_mail({id})",
            })
            {
                await new NpgsqlCommand(sql, connection).ExecuteNonQueryAsync(Ct);
            }
        }

        var listed = await RunAsync("list", "--json", "--config", config);
        Assert.True(listed.Code == 0, listed.Error);
        var list = JsonDocument.Parse(listed.Out).RootElement;
        Assert.Equal("Grüße and more", list[0].GetProperty("subject").GetString());
        Assert.Equal([id], await IdsAsync(config, "--subject", "and more"));
        var show = JsonDocument.Parse((await RunAsync("show", id.ToString(CultureInfo.InvariantCulture), "--json", "--config", config)).Out).RootElement;
        Assert.Equal("Grüße and more", show.GetProperty("message").GetProperty("subject").GetString());
    }

    [Fact]
    public async Task Show_eml_writes_the_mail_as_the_server_receives_it()
    {
        var config = await ConfigAsync("sqlite");
        var attachment = Path.Combine(_dir.FullName, "lines.csv");
        await File.WriteAllTextAsync(attachment, "sku,qty\nA-1,2\n", Ct);
        var id = await SendAsync(config, "shop@example.com", "ann@example.com", "Ihre Bestellung", "--bcc", "audit@example.com", "--attach", attachment);

        var (code, eml, error) = await WorkerProcess.RunToEndAsync(_dir.FullName, null, "show", id.ToString(CultureInfo.InvariantCulture), "--eml", "--config", config);
        Assert.True(code == 0, error);
        Assert.Empty(error);
        Assert.Contains("Subject: Ihre Bestellung\r\n", eml, StringComparison.Ordinal);
        Assert.Contains("To: ann@example.com\r\n", eml, StringComparison.Ordinal);
        Assert.DoesNotContain("audit@example.com", eml, StringComparison.Ordinal);
        Assert.DoesNotContain("Mail ", eml, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", eml.Replace("\r\n", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        var message = await MimeKit.MimeMessage.LoadAsync(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(eml)), Ct);
        var part = Assert.Single(message.Attachments.OfType<MimeKit.MimePart>());
        using var content = new MemoryStream();
        await part.Content!.DecodeToAsync(content, Ct);
        Assert.Equal("sku,qty\nA-1,2\n", System.Text.Encoding.UTF8.GetString(content.ToArray()));
        Assert.Equal("Body text", message.TextBody?.Trim());

        var missing = await RunAsync("show", "999", "--eml", "--config", config);
        Assert.Equal((ExitCodes.Usage, "outbox: ID: there is no mail 999. See `outbox list` for the ids"), (missing.Code, missing.Error.Trim()));
    }

    private string? _connectionString;

    private async Task<string> ConfigAsync(string provider)
    {
        _connectionString = provider == "postgresql"
            ? await postgres.CreateDatabaseAsync()
            : $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}";
        var path = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Database = new { Provider = provider, ConnectionString = _connectionString },
            Transport = "pickup",
            Pickup = new { Directory = Path.Combine(_dir.FullName, "pickup") },
        });
        if (provider == "sqlite")
        {
            Assert.Equal(0, (await RunAsync("init", "--config", path)).Code);
        }

        return path;
    }

    private static async Task<long> SendAsync(string config, string from, string to, string subject, params string[] more)
    {
        var (code, output, error) = await RunAsync(["send", "--config", config, "--from", from, "--to", to, "--subject", subject, "--text", "Body text", .. more]);
        Assert.True(code == 0, error);
        return long.Parse(output.Trim(), CultureInfo.InvariantCulture);
    }

    private static async Task<long[]> IdsAsync(string config, params string[] filter)
    {
        var (code, output, error) = await RunAsync(["list", "--json", "--config", config, .. filter]);
        Assert.True(code == 0, error);
        return JsonDocument.Parse(output).RootElement.EnumerateArray().Select(e => e.GetProperty("id").GetInt64()).ToArray();
    }

    private static Task<(int Code, string Out, string Error)> RunAsync(params string[] args) => Cli.RunApartAsync(args);
}
