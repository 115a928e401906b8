using Outbox.Configuration;
using Outbox.Core.Sending;
using Outbox.Core.Sending.OAuth;
using Outbox.Dashboard;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Dashboard;

/// <summary>The overview's accounts show a Graph account as they show an SMTP one: where it sends (Graph's address and the mailbox), never its secret.</summary>
public sealed class DashboardGraphAccountTests(PostgresServer postgres)
{
    private const string GraphSecret = "graph-secret-never-shown-43";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_graph_account_beside_an_smtp_one_shows_its_address_and_mailbox_and_no_secret()
    {
        var (outbox, _, _, _) = await DashboardHost.MailsAsync(postgres);
        await using var _ = outbox;
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, d => d.AllowActions = false, configure: options =>
        {
            options.Accounts["m365"] = new SmtpOptions { Transport = "graph", Mailbox = "outbox@contoso.com", BaseUrl = "https://graph.microsoft.us/v1.0", OAuth2 = App() };
            options.Accounts["relay"] = new SmtpOptions { Host = "relay.example.com", Port = 587 };
            AccountsOnly(options);
        });

        var accounts = await AccountsSectionAsync(dashboard);

        Assert.Contains("<td>m365</td><td>Microsoft Graph https://graph.microsoft.us/v1.0 as outbox@contoso.com</td>", accounts, StringComparison.Ordinal);
        Assert.Contains("<td>relay</td><td>relay.example.com:587</td>", accounts, StringComparison.Ordinal);
        Assert.DoesNotContain(GraphSecret, accounts, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Transport_graph_shows_its_one_account_and_no_secret()
    {
        var (outbox, _, _, _) = await DashboardHost.MailsAsync(postgres);
        await using var _ = outbox;
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, d => d.AllowActions = false, configure: options =>
        {
            options.Transport = "graph";
            options.Smtp.Host = string.Empty;
            options.Smtp.UserName = null;
            options.Smtp.Password = null;
            options.Graph.Mailbox = "outbox@contoso.com";
            options.Graph.OAuth2 = App();
        });

        var accounts = await AccountsSectionAsync(dashboard);

        Assert.Contains("<td>default</td><td>Microsoft Graph https://graph.microsoft.com/v1.0 as outbox@contoso.com</td>", accounts, StringComparison.Ordinal);
        Assert.DoesNotContain(GraphSecret, accounts, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_smtp_on_the_dashboard_checks_a_graph_account_as_check_graph_does_and_shows_no_secret()
    {
        var (outbox, _, _, _) = await DashboardHost.MailsAsync(postgres);
        await using var _ = outbox;
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync("outbox@contoso.com", token => token == tokens.LastToken);
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, d => d.AllowActions = true, configure: options =>
        {
            options.Accounts["m365"] = GraphTests.GraphAccount(graph, tokens);
            AccountsOnly(options);
        });
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new System.Net.CookieContainer() }) { BaseAddress = new Uri(dashboard.Url) };
        var form = await client.GetStringAsync("/checks", Ct);
        var csrf = System.Text.RegularExpressions.Regex.Match(form, "name=\"csrf\" value=\"([^\"]+)\"").Groups[1].Value;

        using var run = await client.PostAsync("/checks/smtp", new FormUrlEncodedContent([new("csrf", csrf)]), Ct);
        var page = await client.GetStringAsync("/checks", Ct);

        Assert.Equal(System.Net.HttpStatusCode.SeeOther, run.StatusCode);
        Assert.Contains("check graph (m365, outbox@contoso.com)", page, StringComparison.Ordinal);
        Assert.Contains("Graph takes the app&#x27;s token and knows outbox@contoso.com; nothing was sent", page, StringComparison.Ordinal);
        Assert.Equal(0, graph.SendRequests);
        Assert.DoesNotContain(TestTokenServer.ClientSecret, page, StringComparison.Ordinal);
        Assert.DoesNotContain(tokens.LastToken, page, StringComparison.Ordinal);
    }

    [Fact]
    public void Outbox_graph_s_client_secret_is_scrubbed_from_every_page()
    {
        var options = new OutboxOptions { Transport = "graph" };
        options.Graph.OAuth2 = App();

        var page = DashboardSecrets.Of(options).Scrub($"<p>Graph said: bad request from client secret {GraphSecret}</p>");

        Assert.DoesNotContain(GraphSecret, page, StringComparison.Ordinal);
    }

    // The host's Outbox:Smtp taken out, and the default profile going through every account.
    private static void AccountsOnly(OutboxOptions options)
    {
        options.Smtp.Host = string.Empty;
        options.Smtp.UserName = null;
        options.Smtp.Password = null;
        options.Profiles["default"] = new Core.Sending.Accounts.MailProfile();
        foreach (var name in options.Accounts.Keys)
        {
            options.Profiles["default"].Accounts.Add(name);
        }
    }

    private static OAuth2Options App() => new()
    {
        Provider = OAuth2Provider.TokenEndpoint,
        TokenEndpoint = "https://login.example.com/token",
        ClientId = "app",
        ClientSecret = GraphSecret,
    };

    private static async Task<string> AccountsSectionAsync(DashboardHost dashboard)
    {
        using var client = new HttpClient { BaseAddress = new Uri(dashboard.Url) };
        var page = await client.GetStringAsync("/", Ct);
        var start = page.IndexOf("<section id=\"accounts\">", StringComparison.Ordinal);
        Assert.True(start >= 0, page);
        return page[start..page.IndexOf("</section>", start, StringComparison.Ordinal)];
    }
}
