using System.Text.Json;
using Outbox.Commands;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// Outbox:Safety outside production: a real SMTP server sees only the safe addresses in the
/// envelope, the original To and Cc travel in a header (Bcc only counted), every original
/// recipient is accounted for, and the worker, status and check say so loudly.
/// </summary>
public sealed class SafetyRedirectTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-safety-");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task Redirect_puts_only_the_safe_address_in_the_envelope_and_keeps_the_originals_in_a_header()
    {
        await using var smtp = ScriptedSmtpServer.Start();
        var config = Config(smtp, new { RedirectTo = new[] { "qa@test.example" } });
        var id = await SendAsync(config, "--to", "customer@bank.example", "--cc", "Branch <branch@bank.example>", "--bcc", "auditor@bank.example");

        var run = await RunAsync("run", "--once", "--config", config);
        Assert.Equal((0, "sent 1, retry later 0, failed 0, not tried 0"), (run.Code, run.Out.Trim()));
        Assert.Equal($"outbox: mail goes by smtp to 127.0.0.1:{smtp.Port} (None); NOT AS ADDRESSED: Outbox:Safety: every mail is redirected to qa@test.example, not sent to its recipients", run.Error.Trim());

        var mail = Assert.Single(smtp.Received);
        Assert.Equal(["qa@test.example"], mail.To);
        var received = Parse(mail);
        Assert.Equal("To: customer@bank.example; Cc: branch@bank.example; Bcc: 1 not shown", received.Headers["X-Outbox-Original-Recipients"]);
        Assert.Equal(["qa@test.example"], received.To.Mailboxes.Select(m => m.Address));
        Assert.Empty(received.Cc);
        Assert.DoesNotContain("auditor", mail.Data, StringComparison.Ordinal);

        // The attempt names who it went to instead; every original recipient is accounted for.
        var show = JsonDocument.Parse((await RunAsync("show", id, "--json", "--config", config)).Out).RootElement;
        var attempt = show.GetProperty("attempts")[0];
        Assert.Equal("sent", attempt.GetProperty("outcome").GetString());
        Assert.EndsWith("(Outbox:Safety sent it to qa@test.example instead of customer@bank.example, branch@bank.example, auditor@bank.example)", attempt.GetProperty("smtpReply").GetString(), StringComparison.Ordinal);
        Assert.All(show.GetProperty("recipients").EnumerateArray(), r => Assert.Equal("accepted", r.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task Allowed_domains_go_through_and_the_others_are_dropped_and_recorded_rejected()
    {
        await using var smtp = ScriptedSmtpServer.Start();
        var config = Config(smtp, new { AllowedDomains = new[] { "ourcompany.example" } });
        var mixed = await SendAsync(config, "--to", "colleague@ourcompany.example", "--to", "customer@bank.example");
        var outside = await SendAsync(config, "--to", "customer@bank.example");

        var run = await RunAsync("run", "--once", "--config", config);
        Assert.Equal("sent 1, retry later 0, failed 1, not tried 0", run.Out.Trim());
        Assert.Contains("NOT AS ADDRESSED: Outbox:Safety: only recipients in ourcompany.example get mail; every other recipient is dropped (recorded rejected)", run.Error, StringComparison.Ordinal);

        var mail = Assert.Single(smtp.Received);
        Assert.Equal(["colleague@ourcompany.example"], mail.To);
        Assert.Equal("To: colleague@ourcompany.example, customer@bank.example", Parse(mail).Headers["X-Outbox-Original-Recipients"]);
        Assert.Equal(["colleague@ourcompany.example"], Parse(mail).To.Mailboxes.Select(m => m.Address));

        var recipients = JsonDocument.Parse((await RunAsync("show", mixed, "--json", "--config", config)).Out).RootElement.GetProperty("recipients").EnumerateArray()
            .ToDictionary(r => r.GetProperty("address").GetString()!, r => (r.GetProperty("status").GetString(), r.GetProperty("smtpReply").GetString()));
        Assert.Equal("accepted", recipients["colleague@ourcompany.example"].Item1);
        Assert.Equal(("rejected", "550 not sent: Outbox:Safety sends only to ourcompany.example, and Outbox:Safety:RedirectTo is empty"), recipients["customer@bank.example"]);

        var failed = JsonDocument.Parse((await RunAsync("show", outside, "--json", "--config", config)).Out).RootElement.GetProperty("message");
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        Assert.Contains("not sent: Outbox:Safety sends only to ourcompany.example", failed.GetProperty("lastError").GetString(), StringComparison.Ordinal);
    }

    // The server's refusal of the redirect address is the answer for the recipients it replaced.
    [Fact]
    public async Task A_refused_redirect_address_is_recorded_for_the_recipients_it_replaced()
    {
        await using var smtp = ScriptedSmtpServer.Start(step => step.Phase == "RCPT" && step.Line.Contains("qa@", StringComparison.Ordinal)
            ? SmtpFault.Reply("550 5.1.1 <qa@test.example>: mailbox unavailable") : null);
        var config = Config(smtp, new { RedirectTo = new[] { "qa@test.example" }, AllowedDomains = new[] { "ourcompany.example" } });
        var id = await SendAsync(config, "--to", "colleague@ourcompany.example", "--cc", "customer@bank.example");

        Assert.Equal("sent 1, retry later 0, failed 0, not tried 0", (await RunAsync("run", "--once", "--config", config)).Out.Trim());

        Assert.Equal(["colleague@ourcompany.example"], Assert.Single(smtp.Received).To);
        var recipients = JsonDocument.Parse((await RunAsync("show", id, "--json", "--config", config)).Out).RootElement.GetProperty("recipients").EnumerateArray()
            .ToDictionary(r => r.GetProperty("address").GetString()!, r => (r.GetProperty("status").GetString(), r.GetProperty("smtpReply").GetString()));
        Assert.Equal("accepted", recipients["colleague@ourcompany.example"].Item1);
        Assert.Equal(("rejected", "550 redirected by Outbox:Safety to qa@test.example, which was refused: 5.1.1 <qa@test.example>: mailbox unavailable"), recipients["customer@bank.example"]);
    }

    [Fact]
    public async Task Status_says_loudly_where_mail_goes_and_a_bad_safety_value_is_one_line_naming_the_key()
    {
        await using var smtp = ScriptedSmtpServer.Start();
        var config = Config(smtp, new { RedirectTo = new[] { "qa@test.example" } });
        var status = await RunAsync("status", "--config", config);
        Assert.StartsWith("NOT AS ADDRESSED: Outbox:Safety: every mail is redirected to qa@test.example, not sent to its recipients", status.Out, StringComparison.Ordinal);
        Assert.Equal("Outbox:Safety: every mail is redirected to qa@test.example, not sent to its recipients",
            JsonDocument.Parse((await RunAsync("status", "--json", "--config", config)).Out).RootElement.GetProperty("safety").GetString());

        var bad = Config(smtp, new { RedirectTo = new[] { "qa@test.example\nBcc: x@y" }, AllowedDomains = new[] { "*.example.com" } });
        var run = await RunAsync("run", "--once", "--config", bad);
        Assert.Equal(ExitCodes.Configuration, run.Code);
        Assert.Equal(
            [
                "outbox: invalid configuration:",
                "outbox: Outbox:Safety:RedirectTo:0: \"qa@test.example?Bcc: x@y\" is not a mail address; write it as qa@test.example.com.",
                "outbox: Outbox:Safety:AllowedDomains:0: \"*.example.com\" is not a domain; write it as example.com (no @, no wildcard; an internationalized domain in its xn-- form).",
            ],
            run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Empty(smtp.Received);
    }

    private string Config(ScriptedSmtpServer smtp, object safety) => WorkerProcess.WriteConfig(_dir.FullName, new
    {
        Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" },
        Transport = "smtp",
        Smtp = new { Host = "127.0.0.1", smtp.Port, Security = "None", AllowInsecure = true, Timeout = "00:00:10" },
        Safety = safety,
    });

    // The message as a mail client reads it (headers unfolded).
    private static MimeKit.MimeMessage Parse(ScriptedMail mail) => MimeKit.MimeMessage.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(mail.Data)));

    private static async Task<string> SendAsync(string config, params string[] recipients)
    {
        var send = await RunAsync(["send", "--config", config, "--from", "app@ourcompany.example", "--subject", "Your invoice", "--text", "Attached.", .. recipients]);
        Assert.True(send.Code == 0, send.Error);
        return send.Out.Trim();
    }

    private static Task<(int Code, string Out, string Error)> RunAsync(params string[] args) => Cli.RunApartAsync(args);
}
