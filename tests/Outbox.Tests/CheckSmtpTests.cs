using Outbox.Commands;
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

    private async Task<(int Code, string Output)> CheckAsync(TestSmtpServer smtp, string password, string? caFile)
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Transport = "smtp",
            Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" },
            Smtp = new { Host = "localhost", smtp.Port, UserName = TestSmtpServer.User, Password = password, CaFile = caFile ?? string.Empty, Timeout = "00:00:10" },
        });
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await OutboxCli.RunAsync(["check", "smtp", "--config", config], output, error, Ct);
        return (code, output + error.ToString());
    }
}
