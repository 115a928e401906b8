using Microsoft.Extensions.Logging.Abstractions;
using Outbox.Core.Messages;
using Outbox.Core.Sending;
using Outbox.Core.Sending.OAuth;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// OAuth2 end to end: tokens from a local HTTPS authorization server (a generic token endpoint,
/// and MSAL against an Entra-style authority), XOAUTH2 over STARTTLS to an SMTP server that
/// checks the user and the token.
/// </summary>
public sealed class OAuthTests : IDisposable
{
    private const string Mailbox = "outbox@example.com";

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-oauth-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task A_token_endpoint_token_logs_in_with_xoauth2_and_is_reused_while_it_is_fresh()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var smtp = ScriptedSmtpServer.StartWithOAuth((user, token) => user == Mailbox && token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var transport = new SmtpTransport(Options(smtp, tokens, OAuth2Provider.TokenEndpoint, o => o.Scope = "smtp.send"), NullLogger<SmtpTransport>.Instance);

        await EnqueueAsync(outbox, 2);
        var first = await outbox.Dispatcher(transport).DispatchDueAsync(Ct);
        await EnqueueAsync(outbox, 1);
        var second = await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        Assert.Equal((2, 1), (first.Sent, second.Sent));
        Assert.Equal(3, smtp.Received.Count);
        var request = Assert.Single(tokens.Requests);
        Assert.Equal("client_credentials", request["grant_type"]);
        Assert.Equal("smtp.send", request["scope"]);
        Assert.True(smtp.Logins.Count >= 2, "each session logs in");
        Assert.All(smtp.Logins, login => Assert.Equal(new ScriptedLogin(Mailbox, "token-1", true), login));
    }

    [Fact]
    public async Task A_token_about_to_expire_is_renewed_before_it_is_used()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        tokens.ExpiresIn = 60;
        await using var smtp = ScriptedSmtpServer.StartWithOAuth((user, token) => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var transport = new SmtpTransport(Options(smtp, tokens, OAuth2Provider.TokenEndpoint, o => o.RefreshBefore = TimeSpan.FromMinutes(2)), NullLogger<SmtpTransport>.Instance);

        await EnqueueAsync(outbox, 1);
        await outbox.Dispatcher(transport).DispatchDueAsync(Ct);
        await EnqueueAsync(outbox, 1);
        await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        Assert.Equal(2, smtp.Received.Count);
        Assert.Equal(2, tokens.Requests.Count);
        Assert.Equal(["token-1", "token-2"], smtp.Logins.Select(l => l.Token));
    }

    [Fact]
    public async Task Microsofts_provider_gets_the_token_through_msal_with_the_smtp_scope()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var smtp = ScriptedSmtpServer.StartWithOAuth((user, token) => user == Mailbox && token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var transport = new SmtpTransport(Options(smtp, tokens, OAuth2Provider.Microsoft), NullLogger<SmtpTransport>.Instance);

        await EnqueueAsync(outbox, 1);
        var summary = await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        Assert.True(summary.Sent == 1, $"not sent: {summary.PausedBecause}");
        var request = Assert.Single(tokens.Requests);
        Assert.Equal(OAuth2Options.MicrosoftSmtpScope, request["scope"]);
        Assert.Equal(TestTokenServer.ClientId, request["client_id"]);
        Assert.Equal(new ScriptedLogin(Mailbox, "token-1", true), Assert.Single(smtp.Logins));
    }

    [Fact]
    public async Task Microsofts_provider_can_sign_in_the_app_with_its_certificate_instead_of_a_secret()
    {
        using var certificate = TestCertificates.ClientApplication();
        var pfx = Path.Combine(_dir.FullName, "app.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pfx, "pfx-password"), Ct);
        await using var tokens = await TestTokenServer.StartAsync();
        tokens.ClientCertificate = certificate;
        await using var smtp = ScriptedSmtpServer.StartWithOAuth((user, token) => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var transport = new SmtpTransport(Options(smtp, tokens, OAuth2Provider.Microsoft, o =>
        {
            o.ClientSecret = null;
            o.CertificateFile = pfx;
            o.CertificatePassword = "pfx-password";
        }), NullLogger<SmtpTransport>.Instance);

        await EnqueueAsync(outbox, 1);
        var summary = await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        Assert.True(summary.Sent == 1, $"not sent: {summary.PausedBecause}");
        var request = Assert.Single(tokens.Requests);
        Assert.False(request.ContainsKey("client_secret"));
        Assert.True(request.ContainsKey("client_assertion"));
    }

    [Theory]
    [InlineData(OAuth2Provider.TokenEndpoint, "gave no token (HTTP 401, invalid_client: AADSTS7000215: Invalid client secret provided.)")]
    [InlineData(OAuth2Provider.Microsoft, "gave no token (invalid_client: AADSTS7000215: Invalid client secret provided.)")]
    public async Task A_refused_client_secret_stops_sending_with_the_providers_reason_and_charges_no_attempt(OAuth2Provider provider, string expected)
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var smtp = ScriptedSmtpServer.StartWithOAuth((_, _) => true);
        await using var outbox = await TestOutbox.SqliteAsync();
        var transport = new SmtpTransport(Options(smtp, tokens, provider, o => o.ClientSecret = "wrong"), NullLogger<SmtpTransport>.Instance);
        var id = (await EnqueueAsync(outbox, 1)).Single();

        var summary = await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        Assert.Equal(0, summary.Sent);
        Assert.Contains(expected, summary.PausedBecause, StringComparison.Ordinal);
        var row = (await outbox.QueryAsync<(string Status, long AttemptCount, string LastError)>(
            "select status, attempt_count, last_error from outbox_message where id = @id", new { id })).Single();
        Assert.Equal(("queued", 0L), (row.Status, row.AttemptCount));
        Assert.Contains("Check Outbox:Smtp:OAuth2:", row.LastError, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong", row.LastError, StringComparison.Ordinal);
        Assert.Empty(smtp.Logins);
    }

    [Theory]
    [InlineData(OAuth2Provider.TokenEndpoint)]
    [InlineData(OAuth2Provider.Microsoft)]
    public async Task A_token_endpoint_that_repeats_the_client_secret_does_not_put_it_in_the_reason(OAuth2Provider provider)
    {
        const string secret = "echoed-secret-4711";
        await using var tokens = await TestTokenServer.StartAsync();
        tokens.EchoSecret = true;
        await using var smtp = ScriptedSmtpServer.StartWithOAuth((_, _) => true);
        await using var outbox = await TestOutbox.SqliteAsync();
        var transport = new SmtpTransport(Options(smtp, tokens, provider, o => o.ClientSecret = secret), NullLogger<SmtpTransport>.Instance);
        var id = (await EnqueueAsync(outbox, 1)).Single();

        var summary = await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        Assert.Contains("Invalid client secret provided: (secret removed)", summary.PausedBecause, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, summary.PausedBecause, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, await outbox.ScalarAsync<string>("select last_error from outbox_message where id = @id", new { id }), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_the_smtp_server_refuses_names_the_mailbox_and_where_the_token_came_from()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var smtp = ScriptedSmtpServer.StartWithOAuth((_, _) => false);
        await using var outbox = await TestOutbox.SqliteAsync();
        var transport = new SmtpTransport(Options(smtp, tokens, OAuth2Provider.TokenEndpoint), NullLogger<SmtpTransport>.Instance);
        await EnqueueAsync(outbox, 1);

        var summary = await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        Assert.Equal(0, summary.Sent);
        Assert.Contains($"refused the OAuth2 token for \"{Mailbox}\"", summary.PausedBecause, StringComparison.Ordinal);
        Assert.Contains($"from the token endpoint {tokens.TokenEndpoint}", summary.PausedBecause, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_smtp_says_the_login_used_a_token_and_shows_neither_token_nor_secret()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var smtp = ScriptedSmtpServer.StartWithOAuth((user, token) => token == tokens.LastToken);
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Transport = "smtp",
            Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" },
            Smtp = new
            {
                Host = "localhost",
                smtp.Port,
                UserName = Mailbox,
                CaFile = TestCertificates.CaFile,
                OAuth2 = new { Provider = "TokenEndpoint", tokens.TokenEndpoint, ClientId = TestTokenServer.ClientId, ClientSecret = TestTokenServer.ClientSecret },
            },
        });
        var (code, output) = await Cli.RunAsync("check", "smtp", "--config", config);

        Assert.True(code == 0, output);
        Assert.Contains($"logged in as \"{Mailbox}\" with an OAuth2 token (XOAUTH2) from the token endpoint {tokens.TokenEndpoint}", output, StringComparison.Ordinal);
        Assert.Contains("AUTH XOAUTH2", output, StringComparison.Ordinal);
        Assert.DoesNotContain(TestTokenServer.ClientSecret, output, StringComparison.Ordinal);
        Assert.DoesNotContain("token-1", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oauth2_configuration_mistakes_are_all_reported_at_once_naming_their_keys()
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Transport = "smtp",
            Smtp = new
            {
                Host = "smtp.office365.com",
                Password = "not-with-oauth",
                OAuth2 = new { Provider = "TokenEndpoint", TokenEndpoint = "http://idp.example.com/token" },
            },
        });
        var (code, output) = await Cli.RunAsync("status", "--config", config);

        Assert.Equal(Outbox.Commands.ExitCodes.Configuration, code);
        foreach (var expected in new[]
        {
            "Outbox:Smtp:UserName: is empty; with OAuth2 it names the mailbox",
            "Outbox:Smtp:Password: is not used with OAuth2",
            "Outbox:Smtp:OAuth2:ClientId: is empty",
            "Outbox:Smtp:OAuth2:TokenEndpoint: \"http://idp.example.com/token\" is not an https URL",
            "Outbox:Smtp:OAuth2:ClientSecret: is empty",
        })
        {
            Assert.Contains(expected, output, StringComparison.Ordinal);
        }
    }

    private static SmtpOptions Options(ScriptedSmtpServer smtp, TestTokenServer tokens, OAuth2Provider provider, Action<OAuth2Options>? change = null) =>
        tokens.SmtpOptions(smtp, provider, Mailbox, change);

    private static async Task<List<long>> EnqueueAsync(TestOutbox outbox, int count)
    {
        var ids = new List<long>();
        await using var connection = await outbox.OpenAsync();
        for (var i = 0; i < count; i++)
        {
            ids.Add(await OutboxClient.For(connection).EnqueueAsync(connection, null,
                new MailRequest { Sender = Mailbox, To = ["someone@example.com"], Subject = $"oauth {i}", TextBody = "hello" }, Ct));
        }

        return ids;
    }
}
