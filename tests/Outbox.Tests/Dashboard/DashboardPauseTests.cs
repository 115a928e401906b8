using System.Net;
using System.Text.RegularExpressions;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Dashboard;

/// <summary>
/// The overview's "Sending" and "Workers" sections over plain HTTP against a real PostgreSQL:
/// pause and resume (AllowActions only, with the CSRF token), recorded as the dashboard's user;
/// the workers' rows with their last pass, a stale one marked.
/// </summary>
public sealed partial class DashboardPauseTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Pause_and_resume_from_the_overview_are_recorded_as_the_dashboard_user_and_refused_when_read_only()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, d => d.AllowActions = true);
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(dashboard.Url) };

        var overview = await client.GetStringAsync("/", Ct);
        Assert.Contains("Not paused: every worker sends.", overview, StringComparison.Ordinal);
        var token = CsrfField().Match(overview).Groups[1].Value;
        using var pause = await client.PostAsync("/pause", new FormUrlEncodedContent([new("csrf", token), new("profile", "bulk"), new("reason", "provider incident")]), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, pause.StatusCode);

        var paused = await client.GetStringAsync("/", Ct);
        Assert.Matches("<p class=\"fail\">profile &quot;bulk&quot; paused by dashboard \\(loopback, no login\\) from 127\\.0\\.0\\.1 at [^<]+ \\(provider incident\\)</p>", paused);
        Assert.Contains("Resume profile bulk", paused, StringComparison.Ordinal);

        using var bad = await client.PostAsync("/pause", new FormUrlEncodedContent([new("csrf", token), new("profile", "bulk; drop")]), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("<p class=\"error\">profile: &quot;bulk; drop&quot; is not a profile name", await bad.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        using var resume = await client.PostAsync("/resume", new FormUrlEncodedContent([new("csrf", token), new("profile", "bulk")]), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, resume.StatusCode);
        Assert.Contains("Not paused: every worker sends.", await client.GetStringAsync("/", Ct), StringComparison.Ordinal);
        Assert.StartsWith("dashboard (loopback", await outbox.ScalarAsync<string>("select resumed_by from outbox.outbox_pause where scope = 'bulk'"), StringComparison.Ordinal);

        await using var readOnly = await DashboardHost.StartAsync(outbox.ConnectionString, _ => { });
        using var reader = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(readOnly.Url) };
        var page = await reader.GetStringAsync("/", Ct);
        Assert.DoesNotContain("action=\"/pause\"", page, StringComparison.Ordinal);
        using var refused = await reader.PostAsync("/pause", new FormUrlEncodedContent([new("csrf", CsrfField().Match(page).Groups[1].Value)]), Ct);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_pause where resumed_at is null"));
    }

    [Fact]
    public async Task The_workers_section_lists_each_worker_with_its_last_pass_and_marks_a_stale_one()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("""
            insert into outbox.outbox_worker (name, host, pid, version, poll_seconds, started_at, last_seen_at, last_pass_at, last_result)
            values ('alive', 'host-a', 11, '0.1.0', 10, now() - interval '1 hour', now(), now(), 'sent 3, retry later 0, failed 0, not tried 0'),
                   ('gone', 'host-b', 22, '0.1.0', 10, now() - interval '2 hours', now() - interval '5 minutes', now() - interval '5 minutes', 'sent 1, retry later 0, failed 0, not tried 0')
            """);
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, _ => { });
        using var client = new HttpClient { BaseAddress = new Uri(dashboard.Url) };

        var overview = await client.GetStringAsync("/", Ct);

        Assert.Matches("<tr class=\"worker running\"><td>alive</td><td>host-a</td><td class=\"n\">11</td><td>0.1.0</td>\\s*<td class=\"ok\">running, seen [^<]+</td>\\s*<td>[^<]+</td><td>[^<]+</td><td>sent 3, retry later 0, failed 0, not tried 0</td><td>no</td></tr>", overview);
        Assert.Matches("<tr class=\"worker stale\"><td>gone</td>.*\\s*<td class=\"fail\">stale: not seen since [^<]+</td>", overview);
    }

    [GeneratedRegex("name=\"csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();
}
