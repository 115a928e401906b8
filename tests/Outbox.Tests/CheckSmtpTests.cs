using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>`outbox check smtp` against servers that show each failure an operator meets.</summary>
public sealed class CheckSmtpTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-check-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task A_working_server_is_reported_step_by_step_and_exits_zero()
    {
        await using var smtp = TestSmtpServer.Start();

        var (code, output) = await CheckAsync(smtp, TestSmtpServer.Password, TestCertificates.CaFile);

        Assert.Equal(0, code);
        Assert.Contains("STARTTLS", output, StringComparison.Ordinal);
        Assert.Matches(@"ok   tls +Tls1[23], ", output);
        Assert.Contains("CN=localhost (issued by CN=Outbox Test CA", output, StringComparison.Ordinal);
        Assert.Contains("SHA-256", output, StringComparison.Ordinal);
        Assert.Contains("logged in as \"outbox\"", output, StringComparison.Ordinal);
        Assert.Contains($"verdict: mail would go out through localhost:{smtp.Port}", output, StringComparison.Ordinal);
        Assert.DoesNotContain(TestSmtpServer.Password, output, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Failures => new()
    {
        { "no-starttls", "no STARTTLS, so nothing would be sent" },
        { "unknown-ca", "a CA that neither the system store (and Outbox:Smtp:CaFile is not set) trusts" },
        { "wrong-name", "not for \"localhost\"" },
        { "expired", "expired on" },
        { "bad-password", "refused the login of \"outbox\"" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Each_failure_is_named_with_its_fix_and_exits_non_zero(string failure, string expected)
    {
        await using var smtp = TestSmtpServer.Start(s =>
        {
            s.Certificate = failure switch
            {
                "no-starttls" => null,
                "wrong-name" => TestCertificates.ServerNamed("mail.example.test"),
                "expired" => TestCertificates.ExpiredServer(),
                _ => s.Certificate,
            };
            s.RequireAuthentication = failure != "no-starttls";
        });
        var password = failure == "bad-password" ? "wrong-password-123" : TestSmtpServer.Password;

        var (code, output) = await CheckAsync(smtp, password, failure == "unknown-ca" ? null : TestCertificates.CaFile);

        Assert.Equal(1, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
        Assert.Contains("verdict: mail would NOT go out: ", output, StringComparison.Ordinal);
        Assert.DoesNotContain(password, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_accepts_only_old_tls_versions_is_named_as_a_protocol_version_problem()
    {
#pragma warning disable SYSLIB0039, CA5397 // TLS 1.0 / 1.1 on purpose: the server an old appliance would be.
        await using var smtp = TestSmtpServer.Start(s => s.SslProtocols = System.Security.Authentication.SslProtocols.Tls | System.Security.Authentication.SslProtocols.Tls11);
#pragma warning restore SYSLIB0039, CA5397

        var (code, output) = await CheckAsync(smtp, TestSmtpServer.Password, TestCertificates.CaFile);

        Assert.Equal(1, code);
        Assert.Contains("failed before the certificate could be checked", output, StringComparison.Ordinal);
        Assert.Contains("only TLS versions this machine refuses (TLS 1.0 or 1.1)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_421_greeting_is_reported_as_a_server_refusing_sessions_for_now()
    {
        await using var smtp = ScriptedSmtpServer.Start(step => step.Phase == "connect" ? SmtpFault.Reply("421 4.3.2 Service not available, closing transmission channel") : null);

        var (code, output) = await CheckWithAsync(new { Host = "127.0.0.1", smtp.Port, Security = "None", AllowInsecure = true, Timeout = "00:00:05" });

        Assert.Equal(1, code);
        Assert.Contains("answered 421 4.3.2 Service not available", output, StringComparison.Ordinal);
        Assert.Contains("refuses sessions for now", output, StringComparison.Ordinal);
        Assert.Contains("verdict: mail would NOT go out", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_530_must_issue_starttls_at_mail_from_names_the_security_setting()
    {
        await using var smtp = ScriptedSmtpServer.Start(step => step.Phase == "MAIL" ? SmtpFault.Reply("530 5.7.0 Must issue a STARTTLS command first") : null);

        var (code, output) = await CheckWithAsync(new { Host = "127.0.0.1", smtp.Port, Security = "None", AllowInsecure = true, Timeout = "00:00:05" }, "--from", "app@example.com");

        Assert.Equal(1, code);
        Assert.Contains("FAIL mail from", output, StringComparison.Ordinal);
        Assert.Contains("requires TLS before mail (530 5.7.0 Must issue a STARTTLS command first). Set Outbox:Smtp:Security to StartTls", output, StringComparison.Ordinal);
        Assert.Contains("MAIL FROM:<app@example.com>", smtp.Commands);
        Assert.DoesNotContain("DATA", smtp.Commands);
    }

    [Fact]
    public async Task The_sender_probe_sends_mail_from_then_rset_and_no_message()
    {
        await using var smtp = TestSmtpServer.Start();

        var (code, output) = await CheckAsync(smtp, TestSmtpServer.Password, TestCertificates.CaFile, "--from", "orders@example.com");

        Assert.Equal(0, code);
        Assert.Contains("ok   mail from        the server takes mail from orders@example.com (250", output, StringComparison.Ordinal);
        Assert.Empty(smtp.Received);
    }

    [Fact]
    public async Task A_server_silent_at_auth_keeps_the_steps_that_passed_and_names_the_timeout()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var smtp = ScriptedSmtpServer.StartWithOAuth((_, _) => true, step => step.Phase == "AUTH" ? SmtpFault.Silence : null);

        var (code, output) = await CheckWithAsync(new
        {
            Host = "localhost", smtp.Port, Security = "StartTls", UserName = "app@example.com", CaFile = TestCertificates.CaFile, Timeout = "00:00:02",
            OAuth2 = new { Provider = "TokenEndpoint", tokens.TokenEndpoint, TestTokenServer.ClientId, TestTokenServer.ClientSecret },
        });

        Assert.Equal(1, code);
        Assert.Matches(@"ok   tls +Tls1[23], ", output);
        Assert.Contains("ok   ehlo", output, StringComparison.Ordinal);
        Assert.True(output.Contains("FAIL auth", StringComparison.Ordinal), output);
        Assert.True(output.Contains("did not answer, or did not finish its reply, within Outbox:Smtp:Timeout", StringComparison.Ordinal), output);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        // While it waited, it said what for (on stderr), once.
        Assert.Single(output.Split('\n'), line => line == "outbox: waiting for the answer to AUTH… (gives up after Outbox:Smtp:Timeout, 00:00:02)");
        Assert.DoesNotContain("waiting for the TLS handshake", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_hangs_up_at_ehlo_is_a_failed_step_not_a_stack_trace()
    {
        await using var smtp = ScriptedSmtpServer.Start(step => step.Phase == "EHLO" ? SmtpFault.Drop : null);

        var (code, output) = await CheckWithAsync(new { Host = "127.0.0.1", smtp.Port, Security = "None", AllowInsecure = true, Timeout = "00:00:05" });

        Assert.Equal(1, code);
        Assert.Contains("FAIL connect", output, StringComparison.Ordinal);
        Assert.Contains("unexpectedly disconnected", output, StringComparison.Ordinal);
        Assert.Contains("verdict: mail would NOT go out", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    private async Task<(int Code, string Output)> CheckWithAsync(object smtp, params string[] arguments)
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Transport = "smtp",
            Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" },
            Smtp = smtp,
        });
        return await Cli.RunAsync(["check", "smtp", "--config", config, .. arguments]);
    }

    private async Task<(int Code, string Output)> CheckAsync(TestSmtpServer smtp, string password, string? caFile, params string[] arguments)
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Transport = "smtp",
            Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" },
            Smtp = new { Host = "localhost", smtp.Port, UserName = TestSmtpServer.User, Password = password, CaFile = caFile ?? string.Empty, Timeout = "00:00:10" },
        });
        return await Cli.RunAsync(["check", "smtp", "--config", config, .. arguments]);
    }
}
