using System.Text;
using System.Text.Json;
using Outbox.Core.Secrets;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// No secret leaves: connection-string passwords under every spelling the provider's builder
/// accepts are redacted by `outbox config` (text and JSON; the worker logs the same lines), and
/// a server's echo of a password or token, plain or in the base64 blob it was sent in, is removed.
/// </summary>
public sealed class SecretsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-secrets-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Theory]
    [InlineData("postgresql", "Host=db.example;Username=app;Psw=pw-psw-1234")]
    [InlineData("postgresql", "Host=db.example;Username=app;SSL Password=pw-ssl-1234;Password=pw-main-1234")]
    [InlineData("postgresql", "Host=db.example;Username=app;PASSWORD=pw-upper-1234")]
    [InlineData("sqlite", "Data Source=db.example.sqlite;Password=pw-sqlite-1234")]
    [InlineData("sqlite", "Data Source=db.example.sqlite;Mode=ReadWrite;Password=pw-sqlite-5678")]
    [InlineData("oracle", "User Id=app;Password=pw-ora-1234;Proxy User Id=p;Proxy Password=pw-proxy-1234;Data Source=db.example:1521/FREEPDB1")]
    public async Task Outbox_config_shows_the_connection_string_without_any_password(string provider, string connectionString)
    {
        var config = Path.Combine(_dir.FullName, "outbox.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new { Outbox = new { Database = new { Provider = provider, ConnectionString = connectionString } } }), TestContext.Current.CancellationToken);

        foreach (var args in new[] { new[] { "config", "--config", config }, ["config", "--json", "--config", config] })
        {
            var (_, output) = await Cli.RunAsync(args);
            Assert.Contains("db.example", output, StringComparison.Ordinal);
            Assert.DoesNotContain("pw-", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_server_that_repeats_the_refused_password_does_not_get_it_into_the_reason()
    {
        const string password = "wrong-pass-echo-1";
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = TestSmtpServer.Start(settings => settings.EchoRefusedPassword = true);
        var id = await outbox.EnqueueAsync(new Core.Messages.MailRequest { Sender = "app@example.com", To = ["to@example.com"], TextBody = "x" });

        var summary = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp, o => o.Password = password)).DispatchDueAsync(TestContext.Current.CancellationToken);

        Assert.Contains("refused the login", summary.PausedBecause, StringComparison.Ordinal);
        Assert.Contains(SecretScrubber.Mask, summary.PausedBecause, StringComparison.Ordinal);
        Assert.DoesNotContain(password, summary.PausedBecause, StringComparison.Ordinal);
        Assert.DoesNotContain(password, await outbox.ScalarAsync<string>("select last_error from outbox_message where id = @id", new { id }), StringComparison.Ordinal);
    }

    [Fact]
    public void An_echoed_password_is_removed_plain_url_encoded_and_inside_any_base64_blob()
    {
        const string password = "s3cret/pa+ss word";
        var scrubber = new SecretScrubber([password]);
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0outbox\0{password}"));
        var login = Convert.ToBase64String(Encoding.UTF8.GetBytes(password));
        var xoauth2 = Convert.ToBase64String(Encoding.UTF8.GetBytes($"user=outbox@example.com\u0001auth=Bearer {password}\u0001\u0001"));

        foreach (var echo in new[] { password, Uri.EscapeDataString(password), plain, login, xoauth2 })
        {
            var reply = scrubber.Scrub($"535 5.7.8 Authentication failed for {echo}, try again")!;
            Assert.DoesNotContain(echo, reply, StringComparison.Ordinal);
            Assert.Contains(SecretScrubber.Mask, reply, StringComparison.Ordinal);
            Assert.StartsWith("535 5.7.8 Authentication failed for ", reply, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Text_without_a_secret_is_unchanged_and_tiny_secrets_are_ignored()
    {
        Assert.Equal("535 5.7.8 bad credentials", new SecretScrubber(["longer-secret", null, "", "ab"]).Scrub("535 5.7.8 bad credentials"));
        Assert.Null(new SecretScrubber(["longer-secret"]).Scrub(null));
    }
}
