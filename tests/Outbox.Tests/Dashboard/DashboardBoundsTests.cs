using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Dashboard;

/// <summary>
/// Whatever the database holds (written past the enqueue limits, as by a mail stored before
/// them), every dashboard page stays bounded: long values are cut with a visible "… (N more)".
/// </summary>
public sealed class DashboardBoundsTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ten_mails_with_a_megabyte_subject_and_three_thousand_recipients_make_small_pages()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("update outbox.outbox_setting set value = '0' where name in ('max_header_chars', 'max_recipients')");
        const int SubjectChars = 1_000_000;
        for (var i = 0; i < 10; i++)
        {
            await outbox.ExecuteAsync($"select outbox_mail.create_mail('a@example.com', subject => repeat('s', {SubjectChars}))");
        }

        var id = await outbox.ScalarAsync<long>(
            "select outbox_mail.send('a@example.com', (select string_agg('r' || i || '@example.com', ',') from generate_series(1, 3000) i), subject => repeat('t', 1000000))");
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, d => d.AllowActions = false);
        using var client = new HttpClient { BaseAddress = new Uri(dashboard.Url) };

        var list = await client.GetStringAsync("/mails", Ct);
        var mail = await client.GetStringAsync($"/mails/{id}", Ct);

        // Ten cut subjects and the page around them; the whole subjects would be 10 MB. ("…" is encoded as &#x2026;.)
        Assert.InRange(list.Length, 1, 200_000);
        Assert.Contains($" ({SubjectChars - 2000} more)", list, StringComparison.Ordinal);
        Assert.InRange(mail.Length, 1, 400_000);
        Assert.Contains("r1000@example.com", mail, StringComparison.Ordinal);
        Assert.DoesNotContain("r1001@example.com", mail, StringComparison.Ordinal);
        Assert.Contains("… (2000 more)", mail, StringComparison.Ordinal);
    }
}
