using Outbox.Core.Messages;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Dashboard;

/// <summary>What an operator needs to read a situation at a glance, over plain HTTP against a real PostgreSQL.</summary>
public sealed class DashboardOperatorTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_mail_scheduled_for_later_shows_its_recipients_and_due_time_and_the_overview_says_when_it_is_due()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var later = DateTimeOffset.UtcNow.AddHours(3);
        var id = await outbox.EnqueueAsync(new MailRequest { Sender = "shop@example.com", To = ["zed@example.com", "amy@example.com"], Cc = ["cc@example.com"], Subject = "Later", TextBody = "x", SendAfter = later });
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, _ => { });
        using var client = new HttpClient { BaseAddress = new Uri(dashboard.Url) };

        var overview = await client.GetStringAsync("/", Ct);
        var list = await client.GetStringAsync("/mails", Ct);

        var due = later.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"No mail is due now; the next queued mail is due at {due}", overview, StringComparison.Ordinal);
        Assert.DoesNotContain("No mail is waiting", overview, StringComparison.Ordinal);
        var row = list.Split('\n').Single(l => l.Contains($"href=\"/mails/{id}\"", StringComparison.Ordinal));
        Assert.Matches($"<td>amy@example.com \\+2</td><td>shop@example.com</td><td>Later</td><td>{due}:\\d\\d\\.\\d{{3}}Z</td>", row);
    }

    [Fact]
    public async Task A_redirect_is_a_banner_on_every_page_and_a_copy_of_the_database_is_said_first_on_the_overview()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, _ => { }, configure: o => o.Safety.RedirectTo.Add("qa@test.example"));
        using var client = new HttpClient { BaseAddress = new Uri(dashboard.Url) };
        const string Banner = "<p class=\"banner\">Not sent as addressed: Outbox:Safety: every mail is redirected to qa@test.example, not sent to its recipients</p>";

        var original = await client.GetStringAsync("/", Ct);
        Assert.Contains(Banner, original, StringComparison.Ordinal);
        Assert.Contains(Banner, await client.GetStringAsync("/mails", Ct), StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"copy\"", original, StringComparison.Ordinal);

        // As a restore elsewhere would look: the recorded identity is not this database's.
        await outbox.ExecuteAsync("update outbox.outbox_setting set value = 'PostgreSQL system 1, database oid 1' where name = 'database_identity'");
        var copy = await client.GetStringAsync("/", Ct);
        Assert.Matches("<p class=\"error\" id=\"copy\">Not sending: this database is a copy: the outbox was installed in PostgreSQL system 1, database oid 1, and this is PostgreSQL system [0-9]+, database oid [0-9]+; it sends nothing until adopted. Run `outbox adopt --keep-queue`", copy);
    }

    [Fact]
    public async Task An_account_that_sent_after_its_last_error_shows_its_last_success_and_the_error_as_past()
    {
        var (outbox, _, _, _) = await DashboardHost.MailsAsync(postgres);
        await using var _ = outbox;
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, _ => { });
        using var client = new HttpClient { BaseAddress = new Uri(dashboard.Url) };
        var broken = await client.GetStringAsync("/", Ct);
        // The account delivers again, a minute after its last failure.
        var sentAt = await outbox.ScalarAsync<string>("""
            insert into outbox.outbox_attempt (message_id, attempt_no, attempted_at, worker, outcome, account, smtp_code, smtp_reply)
            select message_id, 2, attempted_at + interval '1 minute', 'test-worker', 'sent', account, 250, '2.0.0 Ok'
              from outbox.outbox_attempt where outcome = 'failed' order by attempted_at desc limit 1
            returning to_char(attempted_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
            """);

        var recovered = await client.GetStringAsync("/", Ct);

        Assert.Contains("<td class=\"last-error\"><span class=\"fail\">", broken, StringComparison.Ordinal);
        Assert.Contains($"<td class=\"last-sent\"><span class=\"ok\">{sentAt}</span></td>", recovered, StringComparison.Ordinal);
        Assert.Contains("<td class=\"last-error\"><span class=\"recovered\">", recovered, StringComparison.Ordinal);
        Assert.Contains("(mail went out since)", recovered, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_every_failed_mail_of_a_filter_says_how_many_before_it_is_done()
    {
        var (outbox, _, _, _) = await DashboardHost.MailsAsync(postgres);
        await using var _ = outbox;
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, d => d.AllowActions = true);
        using var client = new HttpClient { BaseAddress = new Uri(dashboard.Url) };

        var list = await client.GetStringAsync("/mails?status=failed", Ct);
        var confirm = await client.GetStringAsync("/mails/retry?status=failed", Ct);

        Assert.Contains("Retry every failed mail of this filter (2)…", list, StringComparison.Ordinal);
        Assert.Contains("<p id=\"count\">2 mails match now.</p>", confirm, StringComparison.Ordinal);
        Assert.Contains("Yes, retry these 2", confirm, StringComparison.Ordinal);
    }
}
