using System.Net;
using System.Net.Http.Headers;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Outbox.Configuration;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Dashboard;

/// <summary>Who may read and change what through the dashboard, over HTTP, against a real PostgreSQL with the real roles.</summary>
public sealed partial class DashboardSecurityTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_read_only_dashboard_refuses_retry_with_403_and_changes_nothing()
    {
        var (outbox, _, failed, _) = await DashboardHost.MailsAsync(postgres);
        await using var _ = outbox;
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, d => d.AllowActions = false);
        using var client = Client(dashboard);

        var page = await client.GetStringAsync($"/mails/{failed}", Ct);
        Assert.DoesNotContain("Retry", page, StringComparison.Ordinal);
        var token = await TokenAsync(client, "/checks");
        using var retry = await client.PostAsync($"/mails/{failed}/retry", Form(token), Ct);
        using var confirm = await client.GetAsync($"/mails/{failed}/retry", Ct);

        Assert.Equal(HttpStatusCode.Forbidden, retry.StatusCode);
        Assert.Contains("Outbox:Dashboard:AllowActions", await retry.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, confirm.StatusCode);
        await outbox.AssertStatusAsync(failed, "failed");
    }

    [Fact]
    public async Task A_read_only_dashboard_runs_check_db_but_not_check_smtp()
    {
        var (outbox, _, _, _) = await DashboardHost.MailsAsync(postgres);
        await using var _ = outbox;
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, d => d.AllowActions = false);
        using var client = Client(dashboard);
        var token = await TokenAsync(client, "/checks");

        using var smtp = await client.PostAsync("/checks/smtp", Form(token), Ct);
        using var db = await client.PostAsync("/checks/db", Form(token), Ct);
        var page = await client.GetStringAsync("/checks", Ct);

        Assert.Equal(HttpStatusCode.Forbidden, smtp.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, db.StatusCode);
        Assert.DoesNotContain("Run check smtp", page, StringComparison.Ordinal);
        Assert.DoesNotContain("check smtp (", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_change_without_the_csrf_token_is_refused_with_400_and_with_it_is_done()
    {
        var (outbox, _, failed, _) = await DashboardHost.MailsAsync(postgres);
        await using var _ = outbox;
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, d => d.AllowActions = true);
        using var client = Client(dashboard);
        var token = await TokenAsync(client, $"/mails/{failed}/retry");

        using var without = await client.PostAsync($"/mails/{failed}/retry", new FormUrlEncodedContent([]), Ct);
        using var wrong = await client.PostAsync($"/mails/{failed}/retry", Form(token[..^4] + "AAAA"), Ct);
        await outbox.AssertStatusAsync(failed, "failed");
        using var with = await client.PostAsync($"/mails/{failed}/retry", Form(token), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, without.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, with.StatusCode);
        await outbox.AssertStatusAsync(failed, "queued");
    }

    [Fact]
    public async Task A_retry_on_the_loopback_dashboard_without_a_login_is_recorded_as_that_with_the_client_address_not_as_the_service_user()
    {
        var (outbox, _, failed, _) = await DashboardHost.MailsAsync(postgres);
        await using var _ = outbox;
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, d => d.AllowActions = true);
        using var client = Client(dashboard);

        var confirm = await client.GetStringAsync($"/mails/{failed}/retry", Ct);
        using var retry = await client.PostAsync($"/mails/{failed}/retry", Form(CsrfField().Match(confirm).Groups[1].Value), Ct);
        var actor = await outbox.ScalarAsync<string>("select worker from outbox.outbox_attempt where message_id = @failed and outcome = 'retried'", new { failed });

        Assert.Equal(HttpStatusCode.SeeOther, retry.StatusCode);
        Assert.Equal("dashboard (loopback, no login) from 127.0.0.1", actor);
        Assert.Contains("as yours (dashboard (loopback, no login) from 127.0.0.1)", confirm, StringComparison.Ordinal);
        Assert.DoesNotContain(Environment.UserName, actor, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dashboard_beyond_loopback_asks_for_its_login_and_lets_the_right_one_in()
    {
        var (outbox, sent, _, _) = await DashboardHost.MailsAsync(postgres);
        await using var _ = outbox;
        var password = Path.GetTempFileName();
        await File.WriteAllTextAsync(password, DashboardHost.DashboardPassword + "\n", Ct);
        var address = OwnAddress();
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, d =>
        {
            d.UserName = "operator";
            d.PasswordFile = password;
        }, address ?? IPAddress.Any);
        var port = new Uri(dashboard.Url).Port;
        using var client = new HttpClient { BaseAddress = new Uri($"http://{address ?? IPAddress.Loopback}:{port}") };

        using var anonymous = await client.GetAsync($"/mails/{sent}", Ct);
        using var wrong = await GetAsync(client, $"/mails/{sent}", "operator", "guess");
        using var right = await GetAsync(client, $"/mails/{sent}", "operator", DashboardHost.DashboardPassword);
        File.Delete(password);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Basic", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        var page = await right.Content.ReadAsStringAsync(Ct);
        Assert.Contains("operator (dashboard)", page, StringComparison.Ordinal);
        Assert.DoesNotContain(DashboardHost.DashboardPassword, page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_logins_from_one_address_pause_it_even_for_the_right_password()
    {
        var (outbox, sent, _, _) = await DashboardHost.MailsAsync(postgres);
        await using var _ = outbox;
        var password = Path.GetTempFileName();
        await File.WriteAllTextAsync(password, DashboardHost.DashboardPassword + "\n", Ct);
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, d =>
        {
            d.UserName = "operator";
            d.PasswordFile = password;
        });
        using var client = new HttpClient { BaseAddress = new Uri(dashboard.Url) };

        using var first = await GetAsync(client, $"/mails/{sent}", "operator", DashboardHost.DashboardPassword);
        var wrong = new List<HttpStatusCode>();
        for (var i = 0; i < Outbox.Dashboard.LoginThrottle.FreeFailures; i++)
        {
            using var guess = await GetAsync(client, $"/mails/{sent}", "operator", $"guess-{i}");
            wrong.Add(guess.StatusCode);
        }

        using var paused = await GetAsync(client, $"/mails/{sent}", "operator", DashboardHost.DashboardPassword);
        File.Delete(password);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.All(wrong, code => Assert.Equal(HttpStatusCode.Unauthorized, code));
        Assert.Equal(HttpStatusCode.TooManyRequests, paused.StatusCode);
        Assert.Equal(TimeSpan.FromMinutes(1), paused.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task Without_a_login_only_loopback_host_names_are_answered()
    {
        var (outbox, _, _, _) = await DashboardHost.MailsAsync(postgres);
        await using var _ = outbox;
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, _ => { });
        using var client = Client(dashboard);
        using var rebound = new HttpRequestMessage(HttpMethod.Get, "/");
        rebound.Headers.Host = $"attacker.example:{new Uri(dashboard.Url).Port}";

        using var response = await client.SendAsync(rebound, Ct);
        using var own = await client.GetAsync("/", Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
    }

    [Fact]
    public async Task As_outbox_reader_the_dashboard_reads_every_page_and_a_retry_is_refused_by_the_database()
    {
        var (outbox, sent, failed, _) = await DashboardHost.MailsAsync(postgres);
        await using var _ = outbox;
        var reader = await outbox.LoginAsync("outbox_reader", "reader");
        var asReader = new Npgsql.NpgsqlConnectionStringBuilder(outbox.ConnectionString) { Username = reader }.ConnectionString;
        await using var dashboard = await DashboardHost.StartAsync(asReader, d => d.AllowActions = true);
        using var client = Client(dashboard);

        foreach (var path in new[] { "/", "/mails", "/mails?status=failed&to=nobody&subject=script&since=2020-01-01", $"/mails/{sent}", $"/mails/{sent}/eml", "/checks" })
        {
            using var response = await client.GetAsync(path, Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
        }

        var token = await TokenAsync(client, $"/mails/{failed}/retry");
        using var retry = await client.PostAsync($"/mails/{failed}/retry", Form(token), Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, retry.StatusCode);
        Assert.Contains("permission denied", await retry.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        await outbox.AssertStatusAsync(failed, "failed");
    }

    [Fact]
    public async Task The_eml_download_is_the_mail_as_the_server_gets_it()
    {
        var (outbox, sent, _, _) = await DashboardHost.MailsAsync(postgres);
        await using var _ = outbox;
        await using var dashboard = await DashboardHost.StartAsync(outbox.ConnectionString, _ => { });
        using var client = Client(dashboard);

        using var response = await client.GetAsync($"/mails/{sent}/eml", Ct);
        var mail = MimeKit.MimeMessage.Load(await response.Content.ReadAsStreamAsync(Ct), Ct);

        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal("Invoice 42", mail.Subject);
        using var content = new MemoryStream();
        Assert.Single(mail.Attachments.OfType<MimeKit.MimePart>()).Content?.DecodeTo(content, Ct);
        Assert.Equal(1234, content.Length);
    }

    [Theory]
    [InlineData("http://0.0.0.0:9466/", null, "Outbox:Dashboard:UserName: is required, as the dashboard would listen on 0.0.0.0, beyond this host")]
    [InlineData("http://dashboard.example:9466/", null, "Outbox:Dashboard:Url: \"dashboard.example\" is a host name")]
    [InlineData("https://127.0.0.1:9466/", null, "Outbox:Dashboard:Url: \"https://127.0.0.1:9466/\" is not http")]
    [InlineData("http://127.0.0.1/", null, "Outbox:Dashboard:Url: \"http://127.0.0.1/\" is not an http URL with a port")]
    [InlineData("http://127.0.0.1:9466/", "operator", "Outbox:Dashboard:PasswordFile: is empty, but UserName is set")]
    public void Dashboard_options_that_would_open_it_or_cannot_work_are_refused_naming_the_key(string url, string? user, string expected)
    {
        var options = new OutboxOptions { Dashboard = { Url = url, UserName = user } };

        var result = new OutboxOptionsValidator().Validate(null, options);

        Assert.Contains(result.Failures ?? [], f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    private static HttpClient Client(DashboardHost dashboard) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(dashboard.Url) };

    private static async Task<string> TokenAsync(HttpClient client, string path)
    {
        var page = await client.GetStringAsync(path, Ct);
        return CsrfField().Match(page) is { Success: true } match ? match.Groups[1].Value : throw new InvalidOperationException($"no CSRF field on {path}");
    }

    private static FormUrlEncodedContent Form(string token) => new([new("csrf", token)]);

    private static Task<HttpResponseMessage> GetAsync(HttpClient client, string path, string user, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        return client.SendAsync(request, Ct);
    }

    // An address of this host that is not loopback, to reach the dashboard as another host would; null when there is none.
    private static IPAddress? OwnAddress() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

    [GeneratedRegex("name=\"csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();
}
