using OpenQA.Selenium;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Dashboard;

/// <summary>The dashboard in a real browser (headless Chromium) against a real PostgreSQL; each page is kept as a screenshot under TestResults/dashboard/.</summary>
public sealed class DashboardBrowserTests(PostgresServer postgres)
{
    [Fact]
    public async Task An_operator_sees_the_queue_finds_the_failed_mail_and_retries_it()
    {
        postgres.RequireAvailable();
        using var browser = Chromium.Start();
        var (outbox, sent, failed, otherFailed) = await DashboardHost.MailsAsync(postgres);
        await using var _ = outbox;
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, d => d.AllowActions = true);
        var web = browser.Web;
        var pages = new List<string>();
        void Look(string path, string screenshot)
        {
            if (path.Length > 0)
            {
                web.Navigate().GoToUrl(dashboard.Url + path);
            }

            pages.Add(web.PageSource);
            browser.Screenshot(screenshot);
        }

        Look("/", "overview");
        var queue = browser.Find("#queue").Text;
        Assert.Contains("sent 1", queue, StringComparison.Ordinal);
        Assert.Contains("failed 2", queue, StringComparison.Ordinal);
        Assert.Contains("1 sent, 2 failed in the last day", browser.Find("#totals").Text, StringComparison.Ordinal);
        Assert.Contains("5.1.1 <nobody@example.com>: user unknown", browser.Find("#accounts").Text, StringComparison.Ordinal);
        Assert.Matches(@"default localhost:1 \d{4}-\d\d-\d\dT", browser.Find("#accounts").Text);
        Assert.Equal("30", web.FindElement(By.CssSelector("meta[http-equiv=refresh]")).GetAttribute("content"));

        Look("/mails", "list");
        var list = browser.Find("#mails").Text;
        Assert.Contains($"{sent} sent", list, StringComparison.Ordinal);
        Assert.Contains("customer@example.com shop@example.com Invoice 42", list, StringComparison.Ordinal);
        Assert.Contains($"{failed} failed", list, StringComparison.Ordinal);
        // The hostile subject is text on the page, not a script that ran.
        Assert.Contains(DashboardHost.HostileSubject, list, StringComparison.Ordinal);
        Assert.Empty(web.FindElements(By.CssSelector("main script")));
        Assert.Equal("outbox", web.ExecuteScript("return document.title.split(' · ')[1]"));

        web.FindElement(By.LinkText(failed.ToString(System.Globalization.CultureInfo.InvariantCulture))).Click();
        Look(string.Empty, "mail-failed");
        Assert.Contains("nobody@example.com rejected 550 5.1.1 <nobody@example.com>: user unknown", browser.Find("#recipients").Text, StringComparison.Ordinal);
        Assert.Contains("#1", browser.Find("#attempts").Text, StringComparison.Ordinal);
        Assert.Contains("failed 550", browser.Find("#attempts").Text, StringComparison.Ordinal);
        Assert.Contains(DashboardHost.HostileSubject, browser.Find("#headers").Text, StringComparison.Ordinal);

        browser.Find("#retry").Click();
        Look(string.Empty, "confirm-retry");
        web.FindElement(By.CssSelector("main form button")).Click();
        Look(string.Empty, "mail-retried");
        Assert.Contains("queued", browser.Find("#headers").Text, StringComparison.Ordinal);
        Assert.Contains("retried", browser.Find("#attempts").Text, StringComparison.Ordinal);
        await outbox.AssertStatusAsync(failed, "queued");
        Assert.Equal([(0, "retried")], await outbox.QueryAsync<(int, string)>(
            "select attempt_no, outcome from outbox.outbox_attempt where message_id = @failed and worker = 'dashboard (loopback, no login) from 127.0.0.1' order by id", new { failed }));

        Look($"/mails/{sent}", "mail-sent");
        Assert.Contains("invoice.pdf application/pdf 1,234", browser.Find("#attachments").Text, StringComparison.Ordinal);
        Assert.Contains("customer@example.com accepted", browser.Find("#recipients").Text, StringComparison.Ordinal);
        Assert.Contains("sent 250", browser.Find("#attempts").Text, StringComparison.Ordinal);

        // Every failed mail of a filter: here the one left.
        Look("/mails?status=failed", "list-failed");
        browser.Find("#retry-all").Click();
        Look(string.Empty, "confirm-retry-all");
        Assert.Equal("1 mail matches now.", browser.Find("#count").Text);
        web.FindElement(By.CssSelector("main form button")).Click();
        Look(string.Empty, "list-retried");
        await outbox.AssertStatusAsync(otherFailed, "queued");
        Assert.Contains($"{otherFailed} queued", browser.Find("#mails").Text, StringComparison.Ordinal);

        Look("/checks", "checks-before");
        web.FindElement(By.XPath("//button[text()='Run check db']")).Click();
        Look(string.Empty, "checks");
        Assert.Contains("check db", web.FindElement(By.CssSelector("main")).Text, StringComparison.Ordinal);
        Assert.Contains("installed, version", web.FindElement(By.CssSelector("main")).Text, StringComparison.Ordinal);
        Assert.Contains("verdict: the worker can", web.FindElement(By.CssSelector("main")).Text, StringComparison.Ordinal);
        web.FindElement(By.XPath("//button[text()='Run check smtp']")).Click();
        Look(string.Empty, "checks-smtp");
        Assert.Contains("check smtp (default, localhost:1): FAIL", web.FindElement(By.CssSelector("main")).Text, StringComparison.Ordinal);
        Assert.Contains("verdict: mail would NOT go out:", web.FindElement(By.CssSelector("main")).Text, StringComparison.Ordinal);

        foreach (var page in pages)
        {
            Assert.DoesNotContain("<script", page, StringComparison.OrdinalIgnoreCase);
            foreach (var secret in DashboardHost.Secrets)
            {
                Assert.DoesNotContain(secret, page, StringComparison.Ordinal);
            }
        }
    }
}
