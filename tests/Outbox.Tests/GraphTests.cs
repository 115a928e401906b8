using Microsoft.Extensions.Logging.Abstractions;
using Outbox.Configuration;
using Outbox.Core.Dispatch;
using Outbox.Core.Messages;
using Outbox.Core.Sending;
using Outbox.Core.Sending.Accounts;
using Outbox.Core.Sending.Graph;
using Outbox.Core.Sending.OAuth;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;
using Outbox.Worker;

namespace Outbox.Tests;

/// <summary>
/// Microsoft Graph sendMail end to end: tokens from the local HTTPS token endpoint, requests to a
/// stand-in Graph over HTTPS (own CA) that checks the bearer token, the URL, the text/plain
/// base64 MIME body and the size, and answers as Graph does (202 with request-id, 403, 429 with
/// Retry-After, 503, a connection reset).
/// </summary>
public sealed class GraphTests
{
    private const string Mailbox = "outbox@contoso.com";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_mail_goes_to_sendMail_as_its_mime_in_base64_with_the_bearer_token_and_its_request_id_is_stored()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(new MailRequest
        {
            Sender = Mailbox,
            To = ["to@example.com"],
            Cc = ["cc@example.com"],
            Bcc = ["hidden@example.com"],
            Subject = "invoice 42",
            TextBody = "attached",
            Attachments = [new MailAttachment { FileName = "invoice.pdf", Content = new MemoryStream(new byte[100_000]), MimeType = "application/pdf" }],
        });

        var summary = await outbox.Dispatcher(Transport(graph, tokens)).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Sent);
        var mail = Assert.Single(graph.Received);
        Assert.Equal($"/v1.0/users/{Uri.EscapeDataString(Mailbox)}/sendMail", mail.Path);
        Assert.Equal($"Bearer {tokens.LastToken}", mail.Authorization);
        Assert.Equal("text/plain", mail.ContentType);
        Assert.Equal($"{graph.BaseUrl[..graph.BaseUrl.IndexOf("/v1.0", StringComparison.Ordinal)]}/.default", Assert.Single(tokens.Requests)["scope"]);
        var stored = await outbox.ScalarAsync<string>("select mime_message_id from outbox_message where id = @id", new { id });
        Assert.Equal(stored.Trim('<', '>'), mail.Message.MessageId);
        Assert.Equal("invoice 42", mail.Message.Subject);
        Assert.Equal(["hidden@example.com"], mail.Message.Bcc.Mailboxes.Select(m => m.Address));
        Assert.Equal(100_000, DecodedLength(mail.Message));
        var row = (await outbox.QueryAsync<(string Status, long SmtpCode, string SmtpReply)>(
            "select status, smtp_code, smtp_reply from outbox_message where id = @id", new { id })).Single();
        Assert.Equal(("sent", 202L), (row.Status, row.SmtpCode));
        Assert.Contains($"request-id {mail.RequestId}", row.SmtpReply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_mark_that_data_may_reach_the_server_is_written_before_the_request_reaches_graph()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(new MailRequest { Sender = Mailbox, To = ["to@example.com"], Subject = "marked", TextBody = "x" });
        string? markSeen = null;
        graph.OnSendMail = async _ => markSeen = await outbox.ScalarAsync<string?>("select data_started_at from outbox_message where id = @id", new { id });

        await outbox.Dispatcher(Transport(graph, tokens)).DispatchDueAsync(Ct);

        Assert.False(string.IsNullOrEmpty(markSeen), "the request reached Graph before the mail's mark was written");
        await outbox.AssertStatusAsync(id, "sent");
    }

    [Fact]
    public async Task A_429_with_retry_after_is_waited_out_uncharged_and_the_mail_then_goes()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(new MailRequest { Sender = Mailbox, To = ["to@example.com"], Subject = "busy", TextBody = "x" });
        graph.Then(GraphBehaviour.Throttle);
        var transport = Transport(graph, tokens);

        var first = await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        Assert.Equal(FailureKind.RateLimited, first.PausedFor);
        Assert.Equal(TimeSpan.FromSeconds(2), first.Pause);
        Assert.Contains("ApplicationThrottled", first.PausedBecause, StringComparison.Ordinal);
        var row = (await outbox.QueryAsync<(string Status, long Attempts)>("select status, attempt_count from outbox_message where id = @id", new { id })).Single();
        Assert.Equal(("queued", 0L), row);
        Assert.Equal(0, (await outbox.Dispatcher(transport).DispatchDueAsync(Ct)).Sent);

        await Task.Delay(first.Pause, Ct);
        var second = await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        Assert.Equal(1, second.Sent);
        Assert.Equal(2, graph.SendRequests);
    }

    [Fact]
    public async Task A_403_is_a_configuration_error_that_names_the_permission_and_the_access_policy_and_charges_nothing()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(new MailRequest { Sender = Mailbox, To = ["to@example.com"], Subject = "denied", TextBody = "x" });
        graph.Always = GraphBehaviour.Forbid;

        var summary = await outbox.Dispatcher(Transport(graph, tokens)).DispatchDueAsync(Ct);

        Assert.Equal(FailureKind.Configuration, summary.PausedFor);
        var reason = summary.PausedBecause!;
        Assert.Contains("ErrorAccessDenied", reason, StringComparison.Ordinal);
        Assert.Contains("Mail.Send", reason, StringComparison.Ordinal);
        Assert.Contains("application access policy", reason, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', reason);
        Assert.DoesNotContain(TestTokenServer.ClientSecret, reason, StringComparison.Ordinal);
        var row = (await outbox.QueryAsync<(string Status, long Attempts)>("select status, attempt_count from outbox_message where id = @id", new { id })).Single();
        Assert.Equal(("queued", 0L), row);
    }

    [Fact]
    public async Task A_connection_reset_after_the_whole_request_leaves_the_mail_unconfirmed_under_hold()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(new MailRequest { Sender = Mailbox, To = ["to@example.com"], Subject = "lost", TextBody = "x" });
        graph.Then(GraphBehaviour.ResetAfterBody);

        var summary = await outbox.Dispatcher(Transport(graph, tokens, o => o.LostReplyPolicy = LostReplyPolicy.Hold)).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Unconfirmed);
        await outbox.AssertStatusAsync(id, "unconfirmed");
        var error = await outbox.ScalarAsync<string>("select last_error from outbox_message where id = @id", new { id });
        Assert.Contains("after the whole request was sent", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_graph_silent_after_the_body_is_cut_off_at_the_timeout_and_the_mail_is_unconfirmed()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(new MailRequest { Sender = Mailbox, To = ["to@example.com"], Subject = "silence", TextBody = "x" });
        graph.Then(GraphBehaviour.SilentAfterBody);
        var transport = Transport(graph, tokens, o => (o.LostReplyPolicy, o.Timeout) = (LostReplyPolicy.Hold, TimeSpan.FromSeconds(2)));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(15));
        await outbox.AssertStatusAsync(id, "unconfirmed");
        var error = await outbox.ScalarAsync<string>("select last_error from outbox_message where id = @id", new { id });
        Assert.Contains("no reply within 00:00:02, Outbox:Graph:Timeout", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_secret_graph_repeats_in_its_error_is_scrubbed_from_the_recorded_reason()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var echoed = await outbox.EnqueueAsync(new MailRequest { Sender = Mailbox, To = ["to@example.com"], Subject = "echo", TextBody = "x" });
        graph.EchoedSecret = TestTokenServer.ClientSecret;
        graph.Then(GraphBehaviour.EchoSecret);

        var summary = await outbox.Dispatcher(Transport(graph, tokens)).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Failed);
        var echoError = await outbox.ScalarAsync<string>("select last_error from outbox_message where id = @echoed", new { echoed });
        Assert.StartsWith("Microsoft Graph refused the mail (HTTP 400 ErrorInvalidRequest", echoError, StringComparison.Ordinal);
        Assert.DoesNotContain(TestTokenServer.ClientSecret, echoError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_mail_whose_text_alone_passes_graphs_4_MB_request_fails_with_one_line_and_nothing_reaches_graph()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(new MailRequest
        {
            Sender = Mailbox, To = ["to@example.com"], Subject = "big", TextBody = new string('x', 3_200_000),
            Attachments = [new MailAttachment { FileName = "small.bin", Content = new MemoryStream(new byte[1000]) }],
        });

        var summary = await outbox.Dispatcher(Transport(graph, tokens)).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Failed);
        await outbox.AssertStatusAsync(id, "failed");
        var error = await outbox.ScalarAsync<string>("select last_error from outbox_message where id = @id", new { id });
        Assert.Contains("without its attachments the message is still", error, StringComparison.Ordinal);
        Assert.Contains("more than the 4,194,304 bytes (4 MB) Microsoft Graph takes for its draft", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
        Assert.Empty(graph.Log);
    }

    [Fact]
    public async Task A_profile_fails_over_from_a_graph_account_that_is_down_to_an_smtp_account()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var smtp = ScriptedSmtpServer.Start();
        await using var outbox = await TestOutbox.SqliteAsync();
        graph.Always = GraphBehaviour.Unavailable;
        var options = new OutboxOptions { Transport = "smtp" };
        options.Dispatch.RetryBaseDelay = TimeSpan.FromMinutes(1);
        options.Accounts["m365"] = GraphAccount(graph, tokens);
        options.Accounts["relay"] = smtp.Options();
        options.Profiles["default"] = new MailProfile();
        options.Profiles["default"].Accounts.Add("m365");
        options.Profiles["default"].Accounts.Add("relay");
        Assert.False(new OutboxOptionsValidator(null).Validate(null, options).Failed, string.Join(" | ", new OutboxOptionsValidator(null).Validate(null, options).Failures ?? []));
        var transport = OutboxRuntime.CreateRoutedTransport(options, new DatabaseRateLimiter(outbox.Database, "test-worker"), NullLoggerFactory.Instance);

        var first = await outbox.EnqueueAsync(new MailRequest { Sender = Mailbox, To = ["to@example.com"], Subject = "one", TextBody = "x" });
        var second = await outbox.EnqueueAsync(new MailRequest { Sender = Mailbox, To = ["to@example.com"], Subject = "two", TextBody = "x" });
        await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        await outbox.AssertStatusAsync(first, "sent");
        await outbox.AssertStatusAsync(second, "sent");
        Assert.Equal(2, smtp.Received.Count);
        Assert.Equal(1, graph.SendRequests);
        Assert.Equal(["relay"], await outbox.QueryAsync<string>("select distinct account from outbox_attempt"));
    }

    [Fact]
    public async Task A_throttled_graph_account_is_passed_over_until_its_retry_after_while_the_profiles_smtp_account_sends()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var smtp = ScriptedSmtpServer.Start();
        await using var outbox = await TestOutbox.SqliteAsync();
        graph.Then(GraphBehaviour.Throttle);
        var options = new OutboxOptions { Transport = "smtp" };
        options.Accounts["m365"] = GraphAccount(graph, tokens);
        options.Accounts["relay"] = smtp.Options();
        options.Profiles["default"] = new MailProfile();
        options.Profiles["default"].Accounts.Add("m365");
        options.Profiles["default"].Accounts.Add("relay");
        options.Profiles["graph-only"] = new MailProfile();
        options.Profiles["graph-only"].Accounts.Add("m365");
        var transport = OutboxRuntime.CreateRoutedTransport(options, new DatabaseRateLimiter(outbox.Database, "test-worker"), NullLoggerFactory.Instance);

        var first = await outbox.EnqueueAsync(new MailRequest { Sender = Mailbox, To = ["to@example.com"], Subject = "one", TextBody = "x" });
        var second = await outbox.EnqueueAsync(new MailRequest { Sender = Mailbox, To = ["to@example.com"], Subject = "two", TextBody = "x" });
        var waiting = await outbox.EnqueueAsync(new MailRequest { Sender = Mailbox, To = ["to@example.com"], Subject = "three", TextBody = "x", Profile = "graph-only" });
        await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        await outbox.AssertStatusAsync(first, "sent");
        await outbox.AssertStatusAsync(second, "sent");
        Assert.Equal(2, smtp.Received.Count);
        Assert.Equal(1, graph.SendRequests);
        var row = (await outbox.QueryAsync<(string Status, long Attempts, string LastError)>("select status, attempt_count, last_error from outbox_message where id = @waiting", new { waiting })).Single();
        Assert.Equal(("queued", 0L), (row.Status, row.Attempts));
        // Waiting for the time Graph named, not resting as after an outage.
        Assert.StartsWith("every usable account of profile \"graph-only\" is at its rate limit (Microsoft Graph throttles mailbox", row.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_graph_gets_a_token_and_finds_the_mailbox_without_sending_or_showing_a_secret()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        using var dir = new TempDirectory();
        var (code, output) = await Cli.RunAsync("check", "graph", "--config", GraphConfig(dir.Path, graph, tokens, Mailbox));
        var (wrongCode, wrongOutput) = await Cli.RunAsync("check", "graph", "--config", GraphConfig(dir.Path, graph, tokens, "nobody@contoso.com"));

        Assert.True(code == 0, output);
        Assert.Contains($"ok   token            from the token endpoint {tokens.TokenEndpoint}", output, StringComparison.Ordinal);
        Assert.Contains($"ok   mailbox          {graph.BaseUrl} knows {Mailbox} (user {Mailbox})", output, StringComparison.Ordinal);
        Assert.Contains("nothing was sent", output, StringComparison.Ordinal);
        Assert.Equal(0, graph.SendRequests);
        Assert.DoesNotContain(TestTokenServer.ClientSecret, output, StringComparison.Ordinal);
        Assert.DoesNotContain(tokens.LastToken, output, StringComparison.Ordinal);
        Assert.Equal(1, wrongCode);
        Assert.Contains("verdict: mail would NOT go out: Graph has no mailbox nobody@contoso.com (HTTP 404 ErrorInvalidUser", wrongOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Graph_configuration_mistakes_are_reported_at_once_one_line_each_naming_their_keys()
    {
        using var dir = new TempDirectory();
        var config = WorkerProcess.WriteConfig(dir.Path, new
        {
            Transport = "graph",
            Graph = new { BaseUrl = "http://graph.example.com/v1.0", SaveToSentItems = false },
            Accounts = new { m365 = new { Transport = "graph", Mailbox = "a@contoso.com", OAuth2 = new { Provider = "Microsoft", TenantId = "contoso", ClientId = "app", ClientSecret = "s" } } },
        });
        var accounts = WorkerProcess.WriteConfig(dir.Path, new
        {
            Transport = "smtp",
            Accounts = new { m365 = new { Transport = "graph", Host = "smtp.office365.com", Mailbox = "a@contoso.com", OAuth2 = new { Provider = "Microsoft", TenantId = "contoso", ClientId = "app" } } },
        });
        var (code, output) = await Cli.RunAsync("status", "--config", config);
        var (accountsCode, accountsOutput) = await Cli.RunAsync("status", "--config", accounts);
        output += accountsOutput;

        Assert.Equal((Outbox.Commands.ExitCodes.Configuration, Outbox.Commands.ExitCodes.Configuration), (code, accountsCode));
        foreach (var expected in new[]
        {
            "Outbox:Graph:Mailbox: is empty; name the mailbox mail goes out as",
            "Outbox:Graph:BaseUrl: \"http://graph.example.com/v1.0\" is not an https URL",
            "Outbox:Graph:SaveToSentItems: false cannot be honoured: a MIME sendMail always saves a copy in Sent Items",
            "Outbox:Graph:OAuth2:Provider: is None; Graph takes only the app's own token",
            "Outbox:Accounts: is used with Outbox:Transport smtp",
            "Outbox:Accounts:m365:Host: is not used with Transport graph",
            "Outbox:Accounts:m365:OAuth2:ClientSecret: give exactly one of ClientSecret",
        })
        {
            Assert.Contains(expected, output, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    private static string GraphConfig(string dir, TestGraphServer graph, TestTokenServer tokens, string mailbox) =>
        WorkerProcess.WriteConfig(dir, new
        {
            Transport = "graph",
            Database = new { Provider = "sqlite", ConnectionString = $"Data Source={System.IO.Path.Combine(dir, "outbox.db")}" },
            Graph = new
            {
                Mailbox = mailbox,
                graph.BaseUrl,
                CaFile = TestCertificates.CaFile,
                OAuth2 = new { Provider = "TokenEndpoint", tokens.TokenEndpoint, ClientId = TestTokenServer.ClientId, ClientSecret = TestTokenServer.ClientSecret },
            },
        });

    private sealed class TempDirectory : IDisposable
    {
        private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-graph-");

        public string Path => _dir.FullName;

        public void Dispose() => _dir.Delete(recursive: true);
    }

    internal static GraphTransport Transport(TestGraphServer graph, TestTokenServer tokens, Action<GraphOptions>? change = null)
    {
        var options = new GraphOptions
        {
            Mailbox = graph.Mailbox,
            BaseUrl = graph.BaseUrl,
            CaFile = TestCertificates.CaFile,
            Timeout = TimeSpan.FromSeconds(10),
            OAuth2 = OAuth(tokens),
        };
        change?.Invoke(options);
        return new GraphTransport(options);
    }

    internal static SmtpOptions GraphAccount(TestGraphServer graph, TestTokenServer tokens) => new()
    {
        Transport = "graph",
        Mailbox = graph.Mailbox,
        BaseUrl = graph.BaseUrl,
        CaFile = TestCertificates.CaFile,
        Timeout = TimeSpan.FromSeconds(10),
        OAuth2 = OAuth(tokens),
    };

    private static OAuth2Options OAuth(TestTokenServer tokens) => new()
    {
        Provider = OAuth2Provider.TokenEndpoint,
        TokenEndpoint = tokens.TokenEndpoint,
        ClientId = TestTokenServer.ClientId,
        ClientSecret = TestTokenServer.ClientSecret,
    };

    private static long DecodedLength(MimeKit.MimeMessage message)
    {
        using var decoded = new MemoryStream();
        message.Attachments.OfType<MimeKit.MimePart>().Single().Content!.DecodeTo(decoded);
        return decoded.Length;
    }
}
