using Microsoft.Extensions.Logging.Abstractions;
using Outbox.Configuration;
using Outbox.Core.Messages;
using Outbox.Core.Sending;
using Outbox.Core.Sending.Accounts;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;
using Outbox.Worker;

namespace Outbox.Tests;

/// <summary>
/// Several accounts and profiles against several local SMTP servers: failover when an account
/// is down, routing by profile and by sender domain, the account recorded per attempt, and rate
/// limits that hold across workers sharing one database.
/// </summary>
public sealed class AccountsTests(PostgresServer postgres) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-accounts-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task A_profile_fails_over_to_its_next_account_when_the_first_refuses_service_and_lets_it_rest()
    {
        await using var primary = ScriptedSmtpServer.Start(step => step.Phase == "connect" ? SmtpFault.Reply("421 4.3.2 Service not available") : null);
        await using var backup = ScriptedSmtpServer.Start();
        await using var outbox = await TestOutbox.SqliteAsync();
        var options = Options(("primary", primary), ("backup", backup));
        options.Profiles["default"] = Profile(["primary", "backup"]);
        var transport = Transport(options, outbox);

        var first = await EnqueueAsync(outbox, "app@example.com");
        await outbox.Dispatcher(transport).DispatchDueAsync(Ct);
        var second = await EnqueueAsync(outbox, "app@example.com");
        await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        await outbox.AssertStatusAsync(first, "sent");
        await outbox.AssertStatusAsync(second, "sent");
        Assert.Equal(2, backup.Received.Count);
        Assert.Equal(1, primary.Connections);
        Assert.Equal(["backup"], await outbox.QueryAsync<string>($"select distinct account from outbox_attempt"));
    }

    [Fact]
    public async Task An_unreachable_first_account_is_passed_over_and_when_all_are_down_the_mail_waits_uncharged()
    {
        await using var backup = ScriptedSmtpServer.Start();
        await using var outbox = await TestOutbox.SqliteAsync();
        var options = Options(("primary", null), ("backup", backup));
        options.Profiles["default"] = Profile(["primary", "backup"]);
        options.Profiles["primary-only"] = Profile(["primary"]);

        var routed = await EnqueueAsync(outbox, "app@example.com");
        var stuck = await EnqueueAsync(outbox, "app@example.com", profile: "primary-only");
        await outbox.Dispatcher(Transport(options, outbox)).DispatchDueAsync(Ct);

        await outbox.AssertStatusAsync(routed, "sent");
        var row = (await outbox.QueryAsync<(string Status, long AttemptCount, string LastError)>(
            "select status, attempt_count, last_error from outbox_message where id = @stuck", new { stuck })).Single();
        Assert.Equal(("queued", 0L), (row.Status, row.AttemptCount));
        Assert.Contains("no account of profile \"primary-only\" can take mail now", row.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_senders_domain_picks_a_profile_and_a_named_profile_wins()
    {
        await using var primary = ScriptedSmtpServer.Start();
        await using var bulk = ScriptedSmtpServer.Start();
        await using var outbox = await TestOutbox.SqliteAsync();
        var options = Options(("primary", primary), ("bulk", bulk));
        options.Profiles["default"] = Profile(["primary"]);
        options.Profiles["newsletter"] = Profile(["bulk"], "news.example.com");

        await EnqueueAsync(outbox, "orders@example.com");
        await EnqueueAsync(outbox, "Editor <editor@NEWS.example.com>");
        await EnqueueAsync(outbox, "orders@example.com", profile: "newsletter");
        await outbox.Dispatcher(Transport(options, outbox)).DispatchDueAsync(Ct);

        Assert.Equal(["orders@example.com"], primary.Received.Select(m => m.From));
        Assert.Equal(["editor@NEWS.example.com", "orders@example.com"], bulk.Received.Select(m => m.From).Order(StringComparer.Ordinal));
        Assert.Equal(["bulk", "bulk", "primary"], (await outbox.QueryAsync<string>("select account from outbox_attempt")).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_mail_naming_an_unknown_profile_waits_alone_and_the_others_go_out()
    {
        await using var primary = ScriptedSmtpServer.Start();
        await using var outbox = await TestOutbox.SqliteAsync();
        var options = Options(("primary", primary));
        var before = await EnqueueAsync(outbox, "app@example.com");
        var unroutable = await EnqueueAsync(outbox, "app@example.com", profile: "marketing");
        var after = await EnqueueAsync(outbox, "app@example.com");
        var dispatcher = outbox.Dispatcher(Transport(options, outbox));

        var first = await dispatcher.DispatchDueAsync(Ct);
        var second = await dispatcher.DispatchDueAsync(Ct);

        Assert.Equal((2, 1, null), (first.Sent, first.Released, first.PausedBecause));
        Assert.Equal(0, second.Sent + second.Released);
        await outbox.AssertStatusAsync(before, "sent");
        await outbox.AssertStatusAsync(after, "sent");
        await outbox.AssertStatusAsync(unroutable, "queued");
        var row = (await outbox.QueryAsync<(int Attempts, string Error)>("select attempt_count, last_error from outbox_message where id = @unroutable", new { unroutable })).Single();
        Assert.Equal(0, row.Attempts);
        Assert.Contains("the mail names the profile \"marketing\", which Outbox:Profiles does not have", row.Error, StringComparison.Ordinal);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox_message where last_error is not null and id <> @unroutable", new { unroutable }));
        Assert.Equal(2, primary.Received.Count);
    }

    [Fact]
    public async Task Outbox_send_refuses_a_profile_its_configuration_does_not_have()
    {
        var dir = Directory.CreateTempSubdirectory("outbox-profile-");
        try
        {
            var config = WorkerProcess.WriteConfig(dir.FullName, new
            {
                Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(dir.FullName, "outbox.db")}" },
                Transport = "smtp",
                Accounts = new { primary = new { Host = "127.0.0.1", Port = 2525, Security = "None", AllowInsecure = true } },
                Profiles = new { @default = new { Accounts = new[] { "primary" } }, billing = new { Accounts = new[] { "primary" } } },
            });

            var typo = await Cli.RunAsync("send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--text", "x", "--profile", "biling");
            var known = await Cli.RunAsync("send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--text", "x", "--profile", "Billing");

            Assert.Equal(Outbox.Commands.ExitCodes.Usage, typo.Code);
            Assert.Contains("--profile: \"biling\" is not one of the profiles of Outbox:Profiles (billing, default)", typo.Output, StringComparison.Ordinal);
            Assert.Equal(0, known.Code);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_rate_limit_holds_in_every_window_across_two_workers_sharing_the_database()
    {
        var limit = new RateLimit { Messages = 3, Per = TimeSpan.FromSeconds(2) };
        await using var smtp = ScriptedSmtpServer.Start();
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var options = Options(("limited", smtp));
        options.Accounts["limited"].RateLimits.Add(limit);
        for (var i = 0; i < 10; i++)
        {
            await EnqueueAsync(outbox, "app@example.com");
        }

        // Two workers, each with its own transport and limiter: only the database is shared.
        var workers = new[] { "worker-a", "worker-b" }.Select(name => outbox.Dispatcher(Transport(options, outbox), worker: name)).ToList();
        var deadline = DateTime.UtcNow.AddSeconds(40);
        while (smtp.Received.Count < 10 && DateTime.UtcNow < deadline)
        {
            await Task.WhenAll(workers.Select(w => w.DispatchDueAsync(Ct)));
            await Task.Delay(200, Ct);
        }

        var times = smtp.Received.Select(m => m.ReceivedAt).Order().ToList();
        Assert.Equal(10, times.Count);
        foreach (var start in times)
        {
            var inWindow = times.Count(t => t >= start && t < start + limit.Per);
            Assert.True(inWindow <= limit.Messages, $"{inWindow} mails within {limit.Per} from {start:HH:mm:ss.fff}: {string.Join(", ", times.Select(t => t.ToString("ss.fff", System.Globalization.CultureInfo.InvariantCulture)))}");
        }

        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message where attempt_count > 1"));
        Assert.True(times[^1] - times[0] >= TimeSpan.FromSeconds(5), "10 mails at 3 per 2 s take at least three windows");
    }

    [Fact]
    public async Task An_account_at_its_rate_limit_is_passed_over_to_the_next_and_when_all_are_the_mail_waits()
    {
        await using var first = ScriptedSmtpServer.Start();
        await using var second = ScriptedSmtpServer.Start();
        await using var outbox = await TestOutbox.SqliteAsync();
        var options = Options(("first", first), ("second", second));
        options.Profiles["default"] = Profile(["first", "second"]);
        options.Accounts["first"].RateLimits.Add(new RateLimit { Messages = 2, Per = TimeSpan.FromMinutes(10) });
        options.Accounts["second"].RateLimits.Add(new RateLimit { Messages = 1, Per = TimeSpan.FromMinutes(10) });
        var ids = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await EnqueueAsync(outbox, "app@example.com"));
        }

        var summary = await outbox.Dispatcher(Transport(options, outbox)).DispatchDueAsync(Ct);

        Assert.Equal((2, 1), (first.Received.Count, second.Received.Count));
        Assert.Equal(3, summary.Sent);
        Assert.Contains("every usable account of profile \"default\" is at its rate limit", summary.PausedBecause, StringComparison.Ordinal);
        var waiting = (await outbox.QueryAsync<(string Status, long AttemptCount, double DueInSeconds)>(
            "select status, attempt_count, (julianday(due_at) - julianday('now')) * 86400 from outbox_message where id = @id", new { id = ids[^1] })).Single();
        Assert.Equal(("queued", 0L), (waiting.Status, waiting.AttemptCount));
        Assert.InRange(waiting.DueInSeconds, 60, 600);
    }

    [Fact]
    public async Task A_profile_at_its_rate_limit_holds_up_only_its_own_mails_and_the_batch_goes_on()
    {
        await using var bulk = ScriptedSmtpServer.Start();
        await using var main = ScriptedSmtpServer.Start();
        await using var outbox = await TestOutbox.SqliteAsync();
        var options = Options(("bulk", bulk), ("main", main));
        options.Profiles["newsletter"] = Profile(["bulk"]);
        options.Profiles["default"] = Profile(["main"]);
        options.Accounts["bulk"].RateLimits.Add(new RateLimit { Messages = 1, Per = TimeSpan.FromHours(1) });
        var newsletters = new[] { await EnqueueAsync(outbox, "news@example.com", "newsletter"), await EnqueueAsync(outbox, "news@example.com", "newsletter") };
        var others = new List<long>();
        for (var i = 0; i < 10; i++)
        {
            others.Add(await EnqueueAsync(outbox, "app@example.com"));
        }

        var summary = await outbox.Dispatcher(Transport(options, outbox)).DispatchDueAsync(Ct);

        Assert.Equal((1, 10), (bulk.Received.Count, main.Received.Count));
        Assert.Equal(11, summary.Sent);
        foreach (var id in others)
        {
            await outbox.AssertStatusAsync(id, "sent");
        }

        var waiting = (await outbox.QueryAsync<(string Status, long AttemptCount, string LastError)>(
            "select status, attempt_count, last_error from outbox_message where id = @id", new { id = newsletters[1] })).Single();
        Assert.Equal(("queued", 0L), (waiting.Status, waiting.AttemptCount));
        Assert.Contains("profile \"newsletter\" is at its rate limit", waiting.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_profile_whose_only_account_is_down_holds_up_only_its_own_mails()
    {
        await using var main = ScriptedSmtpServer.Start();
        await using var outbox = await TestOutbox.SqliteAsync();
        var options = Options(("dead", null), ("main", main));
        options.Profiles["partner"] = Profile(["dead"]);
        options.Profiles["default"] = Profile(["main"]);
        var partner = new[] { await EnqueueAsync(outbox, "app@example.com", "partner"), await EnqueueAsync(outbox, "app@example.com", "partner") };
        for (var i = 0; i < 10; i++)
        {
            await EnqueueAsync(outbox, "app@example.com");
        }

        var summary = await outbox.Dispatcher(Transport(options, outbox)).DispatchDueAsync(Ct);

        Assert.Equal(10, main.Received.Count);
        Assert.Equal(10, summary.Sent);
        foreach (var id in partner)
        {
            var row = (await outbox.QueryAsync<(string Status, long AttemptCount, string LastError)>(
                "select status, attempt_count, last_error from outbox_message where id = @id", new { id })).Single();
            Assert.Equal(("queued", 0L), (row.Status, row.AttemptCount));
            Assert.Contains("no account of profile \"partner\" can take mail now", row.LastError, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_rate_limit_slot_that_cannot_be_given_back_leaves_an_accepted_mail_sent()
    {
        await using var server = ScriptedSmtpServer.Start();
        await using var outbox = await TestOutbox.SqliteAsync();
        var options = Options(("only", server));
        options.Profiles["default"] = Profile(["only"]);
        options.Accounts["only"].RateLimits.Add(new RateLimit { Messages = 100, Per = TimeSpan.FromMinutes(1) });
        // The write that ends a used slot fails, as it would with the database gone at that moment.
        await outbox.ExecuteAsync("create trigger slot_end_fails before update on outbox_rate_slot begin select raise(fail, 'disk I/O error'); end");
        var id = await EnqueueAsync(outbox, "app@example.com");

        var summary = await outbox.Dispatcher(Transport(options, outbox)).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Sent);
        await outbox.AssertStatusAsync(id, "sent");
        Assert.Single(server.Received);
    }

    [Fact]
    public async Task Accounts_and_profiles_mistakes_are_reported_at_once_naming_their_keys()
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Transport = "smtp",
            Smtp = new { Host = "smtp.example.com" },
            Accounts = new
            {
                primary = new { Host = "", RateLimits = new[] { new { Messages = 0, Per = "00:01:00" } } },
                backup = new { Host = "backup.example.com" },
            },
            Profiles = new { news = new { Accounts = new[] { "primary", "missing" } } },
        });
        var (code, output) = await Cli.RunAsync("status", "--config", config);

        Assert.Equal(Outbox.Commands.ExitCodes.Configuration, code);
        foreach (var expected in new[]
        {
            "Outbox:Smtp: is not used when Outbox:Accounts is set",
            "Outbox:Accounts:primary:Host: is empty",
            "Outbox:Accounts:primary:RateLimits: \"0 per 00:01:00\" is not a limit",
            "Outbox:Profiles:default: is missing",
            "Outbox:Profiles:news:Accounts: \"missing\" is not an account",
        })
        {
            Assert.Contains(expected, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Check_smtp_checks_the_named_account()
    {
        await using var smtp = ScriptedSmtpServer.Start();
        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Transport = "smtp",
            Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" },
            Accounts = new
            {
                primary = new { Host = "127.0.0.1", smtp.Port, Security = "None", AllowInsecure = true },
                backup = new { Host = "127.0.0.1", Port = LoopbackPort.Free(), Security = "None", AllowInsecure = true, Timeout = "00:00:03" },
            },
            Profiles = new { @default = new { Accounts = new[] { "primary", "backup" } } },
        });

        var (primary, _) = await CheckAsync(config, "--account", "primary");
        var (backup, backupOutput) = await CheckAsync(config, "--account", "backup");
        var (neither, neitherOutput) = await CheckAsync(config);

        Assert.Equal(0, primary);
        Assert.Equal(1, backup);
        Assert.Contains("could not connect to 127.0.0.1", backupOutput, StringComparison.Ordinal);
        Assert.Equal(Outbox.Commands.ExitCodes.Usage, neither);
        Assert.Contains("--account: is required: Outbox:Accounts has several accounts. Name one of ", neitherOutput, StringComparison.Ordinal);
        Assert.Contains("backup", neitherOutput, StringComparison.Ordinal);
    }

    private static Task<(int Code, string Output)> CheckAsync(string config, params string[] arguments) =>
        Cli.RunAsync(["check", "smtp", "--config", config, .. arguments]);

    private static OutboxOptions Options(params (string Name, ScriptedSmtpServer? Server)[] accounts)
    {
        // Only the accounts' rest comes from these: the tests' dispatchers retry at once.
        // An account rests for a minute after a failure, longer than any of these tests.
        var options = new OutboxOptions { Transport = "smtp" };
        options.Dispatch.RetryBaseDelay = TimeSpan.FromMinutes(1);
        options.Dispatch.ConfigurationErrorPause = TimeSpan.FromMinutes(5);
        foreach (var (name, server) in accounts)
        {
            // No server: a port nothing listens on.
            options.Accounts[name] = server?.Options() ?? new SmtpOptions
            {
                Host = "127.0.0.1", Port = LoopbackPort.Free(), Security = SmtpSecurity.None, AllowInsecure = true, Timeout = TimeSpan.FromSeconds(3),
            };
        }

        return options;
    }

    private static MailProfile Profile(string[] accounts, params string[] senderDomains)
    {
        var profile = new MailProfile();
        foreach (var account in accounts)
        {
            profile.Accounts.Add(account);
        }

        foreach (var domain in senderDomains)
        {
            profile.SenderDomains.Add(domain);
        }

        return profile;
    }

    private static RoutedTransport Transport(OutboxOptions options, TestOutbox outbox) =>
        OutboxRuntime.CreateRoutedTransport(options, new DatabaseRateLimiter(outbox.Database, "test-worker"), NullLoggerFactory.Instance);

    private static async Task<long> EnqueueAsync(TestOutbox outbox, string sender, string? profile = null)
    {
        return await outbox.EnqueueAsync(
            new MailRequest { Sender = sender, To = ["someone@example.com"], Subject = "routed", TextBody = "hello", Profile = profile });
    }
}
