using System.Text.Json;
using MimeKit;
using Outbox.Commands;

namespace Outbox.Tests.Templates;

/// <summary>`outbox template put / list / show / render` and `outbox send --template` on a SQLite file, the worker writing to a pickup folder.</summary>
public sealed class TemplateCliTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-template-cli-");
    private readonly string _config;

    public TemplateCliTests()
    {
        _config = Path.Combine(_dir.FullName, "outbox.json");
        File.WriteAllText(_config, JsonSerializer.Serialize(new
        {
            Outbox = new
            {
                Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" },
                Transport = "pickup",
                Pickup = new { Directory = Path.Combine(_dir.FullName, "pickup") },
            },
        }));
        File.WriteAllText(Path.Combine(_dir.FullName, "order.txt"), PostgresTemplateTests.Text);
        File.WriteAllText(Path.Combine(_dir.FullName, "order.html"), PostgresTemplateTests.Html);
        File.WriteAllText(Path.Combine(_dir.FullName, "order.json"), PostgresTemplateTests.Data);
    }

    private string F(string name) => Path.Combine(_dir.FullName, name);

    private async Task<(int Code, string Out, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await OutboxCli.RunAsync([.. args, "--config", _config], output, error, Ct);
        return (code, output.ToString(), error.ToString());
    }

    // The real executable in a child process: what an operator's shell sees.
    private Task<(int Code, string Out, string Error)> ProgramAsync(params string[] args) =>
        Outbox.Tests.Infrastructure.WorkerProcess.RunToEndAsync(_dir.FullName, null, [.. args, "--config", _config]);

    private Task<(int Code, string Out, string Error)> PutAsync(string html = "order.html") =>
        RunAsync("template", "put", "order_confirmation", "--subject", PostgresTemplateTests.Subject, "--text-file", F("order.txt"), "--html-file", F(html));

    [Fact]
    public async Task Put_send_by_template_and_run_deliver_the_rendered_order_confirmation()
    {
        Assert.Equal((0, "template order_confirmation added\n", ""), await PutAsync());
        Assert.Equal((0, "template order_confirmation changed\n", ""), await PutAsync());

        var send = await RunAsync("send", "--from", "shop@example.com", "--to", "customer@example.com", "--template", "order_confirmation", "--data", F("order.json"));
        Assert.Equal(0, send.Code);
        Assert.Equal(0, (await RunAsync("run", "--once")).Code);

        var message = await MimeMessage.LoadAsync(Assert.Single(Directory.GetFiles(F("pickup"), "*.eml")), Ct);
        Assert.Equal("Order 42 confirmed", message.Subject);
        Assert.Contains("1 x MUG-07 at 11.50", message.TextBody, StringComparison.Ordinal);
        Assert.Contains("Zoë Ångström", message.HtmlBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_program_lists_searches_and_shows_a_sent_template_mail_by_its_rendered_subject_naming_template_and_data()
    {
        await PutAsync();
        Assert.Equal(0, (await ProgramAsync("send", "--from", "shop@example.com", "--to", "customer@example.com", "--template", "order_confirmation", "--data", F("order.json"))).Code);
        Assert.Equal("[]", (await ProgramAsync("list", "--subject", "Order 42", "--json")).Out.Trim());

        Assert.Equal(0, (await ProgramAsync("run", "--once")).Code);

        var listed = JsonDocument.Parse((await ProgramAsync("list", "--subject", "Order 42", "--json")).Out).RootElement;
        Assert.Equal("Order 42 confirmed", Assert.Single(listed.EnumerateArray().ToList()).GetProperty("subject").GetString());
        Assert.Contains("Order 42 confirmed", (await ProgramAsync("list", "--subject", "Order 42")).Out, StringComparison.Ordinal);
        var show = await ProgramAsync("show", "1");
        Assert.Contains("  Subject:     Order 42 confirmed\n", show.Out, StringComparison.Ordinal);
        Assert.Contains("  Template:    order_confirmation\n", show.Out, StringComparison.Ordinal);
        Assert.Contains("  Data:        {\"customer\": {\"name\": \"<script>alert(1)</script> Zoë Ångström\"}", show.Out, StringComparison.Ordinal);
        var json = JsonDocument.Parse((await ProgramAsync("show", "1", "--json")).Out).RootElement.GetProperty("message");
        Assert.Equal(("Order 42 confirmed", "order_confirmation"), (json.GetProperty("subject").GetString(), json.GetProperty("template").GetString()));
        Assert.Equal(PostgresTemplateTests.Data, json.GetProperty("templateData").GetString());
    }

    [Fact]
    public async Task A_broken_template_is_refused_at_put_with_its_line_and_exit_code_2()
    {
        File.WriteAllText(F("broken.html"), "<p>Hello</p>\n<p>{{ customer.name </p>");

        var put = await PutAsync("broken.html");

        Assert.Equal(ExitCodes.Usage, put.Code);
        Assert.StartsWith("outbox: template order_confirmation, html body line 2, column ", put.Error, StringComparison.Ordinal);
        Assert.Single(put.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("[]", (await RunAsync("template", "list", "--json")).Out.Trim());
    }

    [Fact]
    public async Task List_and_show_print_the_rows_and_json_is_one_document()
    {
        await PutAsync();
        await RunAsync("template", "put", "order_confirmation", "--locale", "de", "--subject", "Bestellung {{ order.id }}", "--text-file", F("order.txt"));

        var list = await RunAsync("template", "list", "--json");
        var rows = JsonDocument.Parse(list.Out).RootElement.EnumerateArray().Select(r => (r.GetProperty("name").GetString(), r.GetProperty("locale").GetString())).ToList();
        Assert.Equal([("order_confirmation", null), ("order_confirmation", "de")], rows);
        var text = (await RunAsync("template", "list")).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, text.Length);
        Assert.Matches("^NAME +LOCALE +CHANGED \\(UTC\\) +BY +SUBJECT$", text[0]);

        var show = await RunAsync("template", "show", "order_confirmation", "--locale", "de");
        Assert.Equal(0, show.Code);
        Assert.Contains("subject:  Bestellung {{ order.id }}", show.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("--- html body", show.Out, StringComparison.Ordinal);

        // Line breaks print as line breaks (CR LF too); what could drive a terminal is escaped.
        File.WriteAllText(F("lines.txt"), "Line one\r\nLine two\u001b[2J");
        await RunAsync("template", "put", "lines", "--subject", "Lines", "--text-file", F("lines.txt"));
        var lines = await RunAsync("template", "show", "lines");
        Assert.Contains("Line one" + Environment.NewLine + "Line two\\x1B[2J", lines.Out.Replace("\n", Environment.NewLine, StringComparison.Ordinal), StringComparison.Ordinal);

        var missing = await RunAsync("template", "show", "nope");
        Assert.Equal((ExitCodes.Usage, "outbox: NAME: no template named \"nope\". outbox template list shows them\n"), (missing.Code, missing.Error));
    }

    [Fact]
    public async Task Render_previews_and_writes_the_eml_without_queueing_anything()
    {
        await PutAsync();

        var render = await RunAsync("template", "render", "order_confirmation", "--data", F("order.json"), "--eml", F("preview.eml"), "--json");

        Assert.Equal(0, render.Code);
        var json = JsonDocument.Parse(render.Out).RootElement;
        Assert.Equal("Order 42 confirmed", json.GetProperty("subject").GetString());
        Assert.Contains("&lt;script&gt;", json.GetProperty("htmlBody").GetString(), StringComparison.Ordinal);
        var eml = await MimeMessage.LoadAsync(F("preview.eml"), Ct);
        Assert.Equal("Order 42 confirmed", eml.Subject);
        Assert.Equal("recipient@example.invalid", eml.To.Mailboxes.Single().Address);
        Assert.Contains("<tr><td>TEA-01</td><td>2</td><td>10.00</td></tr>", eml.HtmlBody, StringComparison.Ordinal);
        Assert.Equal("[]", (await RunAsync("list", "--json")).Out.Trim());
    }

    [Fact]
    public async Task Render_with_data_that_lacks_a_variable_exits_1_naming_it()
    {
        await PutAsync();
        File.WriteAllText(F("short.json"), """{"customer": {"name": "A"}, "order": {"id": 1, "lines": []}}""");

        var render = await RunAsync("template", "render", "order_confirmation", "--data", F("short.json"));

        Assert.Equal(ExitCodes.Failed, render.Code);
        Assert.Equal("outbox: template order_confirmation, text body line 4: total is not in the data (looked up as order.total). Add it to the data (null for an empty value), or fix the template\n", render.Error);
    }

    [Fact]
    public async Task The_program_prints_one_line_for_a_render_that_throws_and_its_worker_fails_the_mail_once()
    {
        File.WriteAllText(F("ratio.txt"), "Per item:\n{{ order.total | divided_by: order.count }}");
        File.WriteAllText(F("zero.json"), """{"order": {"total": 10, "count": 0}}""");
        File.WriteAllText(F("huge.json"), """{"order": {"total": 10, "count": 2, "weight": 1e30}}""");
        Assert.Equal(0, (await ProgramAsync("template", "put", "ratio", "--subject", "Ratio", "--text-file", F("ratio.txt"))).Code);

        var zero = await ProgramAsync("template", "render", "ratio", "--data", F("zero.json"));
        var huge = await ProgramAsync("template", "render", "ratio", "--data", F("huge.json"));

        Assert.Equal((ExitCodes.Failed, "outbox: template ratio, text body line 2: the filter divided_by failed: Attempted to divide by zero. Fix the template or the data\n"), (zero.Code, zero.Error));
        Assert.Equal((ExitCodes.Failed, "outbox: template ratio, data: order.weight is 1e30, larger than the numbers a template computes with (about 7.9e28 either way). Pass it as a string, \"1e30\"\n"), (huge.Code, huge.Error));

        Assert.Equal(0, (await ProgramAsync("send", "--from", "shop@example.com", "--to", "customer@example.com", "--template", "ratio", "--data", F("zero.json"))).Code);
        Assert.Equal(ExitCodes.Failed, (await ProgramAsync("run", "--once")).Code);
        Assert.Equal(ExitCodes.Ok, (await ProgramAsync("run", "--once")).Code);

        var mail = JsonDocument.Parse((await ProgramAsync("show", "1", "--json")).Out).RootElement.GetProperty("message");
        Assert.Equal(("failed", 1), (mail.GetProperty("status").GetString(), mail.GetProperty("attemptCount").GetInt32()));
        Assert.Equal("template ratio, text body line 2: the filter divided_by failed: Attempted to divide by zero. Fix the template or the data", mail.GetProperty("lastError").GetString());
        Assert.False(Directory.Exists(F("pickup")) && Directory.EnumerateFiles(F("pickup")).Any());
    }

    [Fact]
    public async Task With_json_a_render_that_fails_still_gives_one_json_document()
    {
        await PutAsync();
        File.WriteAllText(F("short.json"), "{}");

        var render = await RunAsync("template", "render", "order_confirmation", "--data", F("short.json"), "--json");

        Assert.Equal(ExitCodes.Failed, render.Code);
        var json = JsonDocument.Parse(render.Out).RootElement;
        Assert.False(json.GetProperty("ok").GetBoolean());
        Assert.StartsWith("template order_confirmation, subject line 1: order is not in the data", Assert.Single(json.GetProperty("errors").EnumerateArray().ToList()).GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--subject", "x", "--subject: cannot be combined with --template")]
    [InlineData("--text", "x", "--text: cannot be combined with --template")]
    public async Task Send_refuses_a_subject_or_body_next_to_a_template(string option, string value, string expected)
    {
        var send = await RunAsync("send", "--from", "shop@example.com", "--to", "c@example.com", "--template", "order_confirmation", option, value);

        Assert.Equal(ExitCodes.Usage, send.Code);
        Assert.StartsWith($"outbox: {expected}", send.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_with_data_but_no_template_and_with_an_unknown_template_are_refused()
    {
        await PutAsync();
        var alone = await RunAsync("send", "--from", "shop@example.com", "--to", "c@example.com", "--text", "x", "--data", F("order.json"));
        Assert.Equal((ExitCodes.Usage, "outbox: --data: needs --template. Name the template, e.g. --template order_confirmation\n"), (alone.Code, alone.Error));

        var unknown = await RunAsync("send", "--from", "shop@example.com", "--to", "c@example.com", "--template", "order_confirmaton");
        Assert.Equal(ExitCodes.Usage, unknown.Code);
        Assert.StartsWith("outbox: template: no template named \"order_confirmaton\".", unknown.Error, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }
}
