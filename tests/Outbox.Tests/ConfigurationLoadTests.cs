using Outbox.Configuration;

namespace Outbox.Tests;

/// <summary>How the layers of configuration combine into the options a command runs with.</summary>
public sealed class ConfigurationLoadTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-config-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Theory]
    [InlineData("""{ "Outbox": { "Smtp": { "Host": "mail.example.com" } } }""", "smtp")]
    [InlineData("""{ "Outbox": { "Accounts": { "main": { "Host": "mail.example.com" } }, "Profiles": { "default": { "Accounts": [ "main" ] } } } }""", "smtp")]
    [InlineData("""{ "Outbox": { "Transport": "pickup", "Smtp": { "Host": "mail.example.com" } } }""", "pickup")]
    [InlineData("""{ "Outbox": { "Dispatch": { "BatchSize": 10 } } }""", "pickup")]
    public void An_smtp_server_configured_without_a_transport_means_smtp_not_the_pickup_directory(string json, string transport)
    {
        var file = Path.Combine(_dir.FullName, "outbox.json");
        File.WriteAllText(file, json);

        Assert.Equal(transport, OutboxConfiguration.Load(file).Transport);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_secret_file_every_user_can_read_stops_the_worker_with_one_line_naming_it()
    {
        var secret = Path.Combine(_dir.FullName, "smtp-password");
        File.WriteAllText(secret, "pw");
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var file = Write($$"""
            { "Outbox": { "Database": { "Provider": "sqlite", "ConnectionString": "Data Source={{Path.Combine(_dir.FullName, "outbox.db")}}" },
                          "Smtp": { "Host": "127.0.0.1", "Port": 9, "UserName": "app", "PasswordFile": "{{secret}}" } } }
            """);

        async Task<(int Code, string Error)> RunOnceAsync()
        {
            using var error = new StringWriter();
            var code = await Commands.OutboxCli.RunAsync(["run", "--once", "--config", file], TextWriter.Null, error, TestContext.Current.CancellationToken);
            return (code, error.ToString());
        }

        var readable = await RunOnceAsync();
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var own = await RunOnceAsync();

        Assert.Equal(Commands.ExitCodes.Configuration, readable.Code);
        Assert.Single(readable.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains($"Outbox:Smtp:PasswordFile: the file {secret} holds a secret but every user of this host can read it (mode 0644)", StringComparison.Ordinal));
        Assert.DoesNotContain("every user of this host can read it", own.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_smtp_secret_file_stops_only_the_commands_that_reach_the_server()
    {
        // As with the systemd credential while the service is stopped.
        var db = Path.Combine(_dir.FullName, "outbox.db");
        var file = Write($$"""
            { "Outbox": { "Database": { "Provider": "sqlite", "ConnectionString": "Data Source={{db}}" },
                          "Smtp": { "Host": "mail.example.com", "UserName": "app", "PasswordFile": "/run/credentials/outbox.service/smtp-password" } } }
            """);

        async Task<(int Code, string Error)> Run(params string[] args)
        {
            using var error = new StringWriter();
            var code = await Commands.OutboxCli.RunAsync([.. args, "--config", file], TextWriter.Null, error, TestContext.Current.CancellationToken);
            return (code, error.ToString());
        }

        foreach (var command in new[] { new[] { "init" }, ["status"], ["list"], ["config"], ["send", "--from", "a@example.com", "--to", "b@example.com", "--text", "x"] })
        {
            var (code, error) = await Run(command);
            Assert.True(code == 0, $"{string.Join(' ', command)}: {error}");
        }

        var run = await Run("run", "--once");
        Assert.Equal(Commands.ExitCodes.Configuration, run.Code);
        Assert.Contains("Outbox:Smtp:PasswordFile: the file /run/credentials/outbox.service/smtp-password does not exist; outbox run needs it to reach the SMTP server.", run.Error, StringComparison.Ordinal);
        var check = await Run("check", "smtp");
        Assert.Contains("outbox check smtp needs it", check.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_type_error_and_unknown_key_is_reported_at_once_in_one_line_each()
    {
        var file = Write("""
            { "Outbox": { "Smtp": { "Port": "abc", "Hostname": "x", "Timeout": "60", "Security": "Tls" },
                          "Dispach": { "BatchSize": 5 }, "Dispatch": { "BatchSize": "ten" },
                          "Accounts": { "main": { "Host": "h", "RateLimits": [ { "Messages": 3, "Per": "1 minute" } ] } },
                          "Profiles": { "default": { "Accounts": [ "main" ] } } } }
            """);

        var error = Assert.Throws<ConfigurationException>(() => OutboxConfiguration.Load(file));

        Assert.Equal(
        [
            "invalid configuration:",
            "Outbox:Accounts:main:RateLimits:0:Per: \"1 minute\" is not a duration: write 90s, 5m (or 5min: minutes), 1h, 30d, 2w, hh:mm:ss or d.hh:mm:ss",
            "Outbox:Dispach:BatchSize: there is no such key; did you mean Outbox:Dispatch?",
            "Outbox:Dispatch:BatchSize: \"ten\" is not a whole number",
            "Outbox:Smtp:Hostname: there is no such key; did you mean Outbox:Smtp:Host?",
            "Outbox:Smtp:Port: \"abc\" is not a whole number",
            "Outbox:Smtp:Security: \"Tls\" is not one of StartTls, SslOnConnect, None",
            "Outbox:Smtp:Timeout: \"60\" is ambiguous: write 60s, 60m, 60h, 60d or hh:mm:ss",
        ], error.Message.Split('\n', StringSplitOptions.TrimEntries));
        Assert.DoesNotContain("System.", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("5m", 300)]
    [InlineData("1h", 3600)]
    [InlineData("30d", 30 * 86400)]
    [InlineData("1.5h", 5400)]
    [InlineData("00:02:00", 120)]
    [InlineData("1.00:00:00", 86400)]
    public void Durations_take_the_forms_people_write(string written, int seconds)
    {
        var file = Write($$"""{ "Outbox": { "Dispatch": { "PollInterval": "{{written}}" } } }""");

        Assert.Equal(TimeSpan.FromSeconds(seconds), OutboxConfiguration.Load(file).Dispatch.PollInterval);
    }

    [Theory]
    [InlineData("""{ "Outbox": { "Smtp": """, "at line 1")]
    [InlineData("[1, 2]", "Top-level JSON element must be an object")]
    [InlineData("\u0001\u0002 binary \u00ff", "at line 1")]
    public void A_file_that_is_no_configuration_is_one_line_naming_it(string text, string detail)
    {
        var file = Write(text);

        var error = Assert.Throws<ConfigurationException>(() => OutboxConfiguration.Load(file));

        Assert.StartsWith($"{file}: not a configuration file", error.Message, StringComparison.Ordinal);
        Assert.Contains(detail, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", error.Message, StringComparison.Ordinal);
    }

    private string Write(string json)
    {
        var file = Path.Combine(_dir.FullName, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(file, json);
        return file;
    }
}
