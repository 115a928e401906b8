using Dapper;
using MimeKit;
using Npgsql;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Templates;

/// <summary>
/// Templates on PostgreSQL, from outbox_mail.send_template / set_template in SQL through the
/// worker to a real SMTP server: what the recipient gets, what is refused at enqueue, and what
/// becomes of a mail whose data does not fit its template.
/// </summary>
public sealed class PostgresTemplateTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal const string Subject = "Order {{ order.id }} confirmed";

    internal const string Text = """
        Hello {{ customer.name }},

        {% for line in order.lines %}{{ line.qty }} x {{ line.sku }} at {{ line.price }}
        {% endfor %}Total: {{ order.total }}
        """;

    internal const string Html = """
        <p>Hello {{ customer.name }},</p>
        <table>
        {% for line in order.lines %}<tr><td>{{ line.sku }}</td><td>{{ line.qty }}</td><td>{{ line.price }}</td></tr>
        {% endfor %}</table>
        <p>Total: {{ order.total }}</p>
        """;

    internal const string Data = """
        {"customer": {"name": "<script>alert(1)</script> Zoë Ångström"},
         "order": {"id": 42, "total": "31.50",
                   "lines": [{"sku": "TEA-01", "qty": 2, "price": "10.00"}, {"sku": "MUG-07", "qty": 1, "price": "11.50"}]}}
        """;

    private static async Task PutAsync(TestOutbox outbox, string name = "order_confirmation", string? locale = null, string subject = Subject, string text = Text, string html = Html) =>
        await outbox.ExecuteAsync(
            "insert into outbox.outbox_template (name, locale, subject, text_body, html_body) values (@name, @locale, @subject, @text, @html)",
            new { name, locale, subject, text, html });

    private static async Task<long> SendTemplateAsync(TestOutbox outbox, string data = Data, string recipient = "customer@example.com", string? locale = null) =>
        await outbox.ScalarAsync<long>(
            "select outbox_mail.send_template('shop@example.com', @recipient, 'order_confirmation', @data::jsonb, locale => @locale)",
            new { recipient, data, locale });

    private static MimeMessage Parse(ReceivedMail mail) => MimeMessage.Load(new MemoryStream(mail.Data));

    [Fact]
    public async Task Subject_and_both_bodies_are_rendered_with_the_order_lines_and_only_the_html_is_encoded()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        await PutAsync(outbox);
        var id = await SendTemplateAsync(outbox);

        var summary = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Sent);
        await outbox.AssertStatusAsync(id, "sent");
        var message = Parse(Assert.Single(smtp.Received));
        Assert.Equal("Order 42 confirmed", message.Subject);
        Assert.Equal("""
            Hello <script>alert(1)</script> Zoë Ångström,

            2 x TEA-01 at 10.00
            1 x MUG-07 at 11.50
            Total: 31.50
            """.ReplaceLineEndings("\n"), message.TextBody!.ReplaceLineEndings("\n").TrimEnd('\n'));
        Assert.Contains("<p>Hello &lt;script&gt;alert(1)&lt;/script&gt; Zoë Ångström,</p>", message.HtmlBody, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", message.HtmlBody, StringComparison.Ordinal);
        Assert.Contains("<tr><td>MUG-07</td><td>1</td><td>11.50</td></tr>", message.HtmlBody, StringComparison.Ordinal);
    }

    // A DBA reading outbox_failed sees what the mail went out with, not the template's Liquid.
    [Fact]
    public async Task The_failed_view_shows_a_template_mails_rendered_subject()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        await PutAsync(outbox);
        var id = await SendTemplateAsync(outbox);
        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);
        await outbox.ExecuteAsync("update outbox.outbox_message set status = 'unconfirmed' where id = @id", new { id });

        Assert.Equal("Order 42 confirmed", await outbox.ScalarAsync<string>("select subject from outbox.outbox_failed where id = @id", new { id }));
    }

    [Fact]
    public async Task A_missing_variable_fails_that_mail_naming_template_line_and_variable_and_the_other_mail_goes_out()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        await PutAsync(outbox);
        var broken = await SendTemplateAsync(outbox, Data.Replace("\"price\": \"11.50\"", "\"prize\": \"11.50\"", StringComparison.Ordinal), "first@example.com");
        var good = await SendTemplateAsync(outbox, Data, "second@example.com");

        var summary = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        Assert.Equal((1, 1), (summary.Sent, summary.Failed));
        await outbox.AssertStatusAsync(broken, "failed");
        await outbox.AssertStatusAsync(good, "sent");
        Assert.Equal(["second@example.com"], Assert.Single(smtp.Received).To);
        Assert.Equal("template order_confirmation, text body line 3: price is not in the data (looked up as order.lines[1].price). Add it to the data (null for an empty value), or fix the template",
            await outbox.ScalarAsync<string>("select last_error from outbox.outbox_message where id = @broken", new { broken }));
        Assert.Equal(1, await outbox.ScalarAsync<int>("select attempt_count from outbox.outbox_message where id = @broken", new { broken }));
    }

    [Theory]
    [InlineData("""{"order": {"total": 10, "count": 0}}""",
        "template order_confirmation, text body line 2: the filter divided_by failed: Attempted to divide by zero. Fix the template or the data")]
    [InlineData("""{"order": {"total": 10, "count": 2}, "unused": 7.93e28}""",
        "template order_confirmation, data: unused is 79300000000000000000000000000, larger than the numbers a template computes with (about 7.9e28 either way). Pass it as a string, \"79300000000000000000000000000\"")]
    public async Task Whatever_fails_while_rendering_fails_that_mail_once_naming_template_part_line_and_reason(string data, string expected)
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        await PutAsync(outbox, subject: "Order", text: "Per item:\n{{ order.total | divided_by: order.count }}", html: "<p>Order</p>");
        var id = await SendTemplateAsync(outbox, data);

        var first = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);
        var again = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        Assert.Equal((0, 1), (first.Sent, first.Failed));
        Assert.Equal((0, 0), (again.Sent, again.Failed));
        Assert.Empty(smtp.Received);
        await outbox.AssertStatusAsync(id, "failed");
        var row = (await outbox.QueryAsync<(string LastError, int AttemptCount)>(
            "select last_error, attempt_count from outbox.outbox_message where id = @id", new { id })).Single();
        Assert.Equal((expected, 1), (row.LastError, row.AttemptCount));
    }

    [Fact]
    public async Task An_unknown_template_is_refused_at_enqueue_in_the_callers_transaction()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await PutAsync(outbox);
        await using var connection = new NpgsqlConnection(outbox.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var transaction = await connection.BeginTransactionAsync(Ct);

        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync(
            "select outbox_mail.send_template('shop@example.com', 'customer@example.com', 'order_confirmaton', '{}'::jsonb)", transaction: transaction));

        Assert.Equal("22023", error.SqlState);
        Assert.Equal("template: no template named \"order_confirmaton\"", error.MessageText);
        await transaction.RollbackAsync(Ct);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message"));
    }

    [Theory]
    [InlineData("'[1, 2]'::jsonb", "data: must be a JSON object, got array")]
    [InlineData("jsonb_build_object('x', repeat('a', 300000))", "data: is 300009 bytes, more than the 262144 allowed")]
    public async Task Data_that_is_not_an_object_or_too_large_is_refused_at_enqueue(string data, string expected)
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await PutAsync(outbox);

        var error = await Assert.ThrowsAsync<PostgresException>(() => outbox.ExecuteAsync(
            $"select outbox_mail.send_template('shop@example.com', 'customer@example.com', 'order_confirmation', {data})"));

        Assert.Equal(expected, error.MessageText);
    }

    [Fact]
    public async Task A_template_changed_after_enqueue_leaves_the_queued_mail_as_it_was_enqueued()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        await PutAsync(outbox);
        var before = await SendTemplateAsync(outbox, recipient: "before@example.com");
        await outbox.ExecuteAsync("update outbox.outbox_template set subject = 'Your order {{ order.id }}' where name = 'order_confirmation'");
        var after = await SendTemplateAsync(outbox, recipient: "after@example.com");

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        var subjects = smtp.Received.ToDictionary(m => m.To.Single(), m => Parse(m).Subject);
        Assert.Equal("Order 42 confirmed", subjects["before@example.com"]);
        Assert.Equal("Your order 42", subjects["after@example.com"]);
        Assert.Equal(2, (await outbox.QueryAsync<string>("select status from outbox.outbox_message where id in (@before, @after) and status = 'sent'", new { before, after })).Count);
    }

    [Fact]
    public async Task An_update_records_who_changed_the_template_and_when()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await PutAsync(outbox);
        var editor = await outbox.LoginAsync("outbox_worker", "editor");
        await outbox.ExecuteAsync("update outbox.outbox_template set changed_at = now() - interval '1 day'");

        await using (var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(outbox.ConnectionString) { Username = editor, Pooling = false }.ConnectionString))
        {
            await connection.ExecuteAsync("update outbox.outbox_template set subject = 'New {{ order.id }}'");
        }

        var row = (await outbox.QueryAsync<(string ChangedBy, bool Recent)>(
            "select changed_by, changed_at > now() - interval '1 hour' from outbox.outbox_template")).Single();
        Assert.Equal((editor, true), row);
    }

    [Fact]
    public async Task The_row_of_the_mails_locale_is_used_then_its_language_then_the_default()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        await PutAsync(outbox);
        await PutAsync(outbox, locale: "de", subject: "Bestellung {{ order.id }} bestätigt");

        await SendTemplateAsync(outbox, recipient: "swiss@example.com", locale: "de-CH");
        await SendTemplateAsync(outbox, recipient: "french@example.com", locale: "fr");
        await SendTemplateAsync(outbox, recipient: "none@example.com");
        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        var subjects = smtp.Received.ToDictionary(m => m.To.Single(), m => Parse(m).Subject);
        Assert.Equal("Bestellung 42 bestätigt", subjects["swiss@example.com"]);
        Assert.Equal("Order 42 confirmed", subjects["french@example.com"]);
        Assert.Equal("Order 42 confirmed", subjects["none@example.com"]);
    }

    [Fact]
    public async Task The_builder_combines_a_template_with_an_attachment_and_refuses_set_body_after_it()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        await PutAsync(outbox);
        await using var connection = new NpgsqlConnection(outbox.ConnectionString);
        await connection.OpenAsync(Ct);
        var id = await connection.ExecuteScalarAsync<long>("select outbox_mail.create_mail('shop@example.com')");
        await connection.ExecuteAsync("select outbox_mail.add_recipient(@id, 'customer@example.com')", new { id });
        await connection.ExecuteAsync("select outbox_mail.set_template(@id, 'order_confirmation', @data::jsonb)", new { id, data = Data });
        await connection.ExecuteAsync("select outbox_mail.add_attachment(@id, 'invoice.pdf', '\\x25504446'::bytea, 'application/pdf')", new { id });

        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("select outbox_mail.set_body(@id, 'plain')", new { id }));
        Assert.Equal($"mail_id: mail {id} is rendered from template order_confirmation, which gives its subject and bodies", error.MessageText);

        await connection.ExecuteAsync("select outbox_mail.enqueue(@id)", new { id });
        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        var message = Parse(Assert.Single(smtp.Received));
        Assert.Equal("Order 42 confirmed", message.Subject);
        Assert.Contains("MUG-07", message.HtmlBody, StringComparison.Ordinal);
        Assert.Equal("invoice.pdf", Assert.Single(message.Attachments).ContentDisposition!.FileName);
    }

    [Fact]
    public async Task A_sender_role_may_use_templates_but_neither_read_nor_change_them()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await PutAsync(outbox);
        var sender = await outbox.LoginAsync("outbox_sender", "sender");
        var stranger = $"nobody_{Guid.NewGuid():N}"[..20];
        await outbox.ExecuteAsync($"create role {stranger} login");
        string As(string role) => new NpgsqlConnectionStringBuilder(outbox.ConnectionString) { Username = role, Pooling = false }.ConnectionString;

        await using (var connection = new NpgsqlConnection(As(sender)))
        {
            Assert.True(await connection.ExecuteScalarAsync<long>(
                "select outbox_mail.send_template('shop@example.com', 'customer@example.com', 'order_confirmation', @data::jsonb)", new { data = Data }) > 0);
            Assert.Equal("42501", Assert.IsType<PostgresException>(await Record.ExceptionAsync(() => connection.ExecuteAsync(
                "update outbox.outbox_template set subject = 'hijacked'"))).SqlState);
            Assert.Equal("42501", Assert.IsType<PostgresException>(await Record.ExceptionAsync(() => connection.ExecuteAsync(
                "select html_body from outbox.outbox_template"))).SqlState);
        }

        await using (var connection = new NpgsqlConnection(As(stranger)))
        {
            Assert.Equal("42501", Assert.IsType<PostgresException>(await Record.ExceptionAsync(() => connection.ExecuteAsync(
                "select outbox_mail.send_template('shop@example.com', 'customer@example.com', 'order_confirmation')"))).SqlState);
        }

        Assert.Equal(Subject, await outbox.ScalarAsync<string>("select subject from outbox.outbox_template"));
    }

    [Fact]
    public async Task A_sent_template_mail_is_listed_searched_and_shown_by_its_rendered_subject_with_its_template_and_data()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        await PutAsync(outbox);
        var id = await SendTemplateAsync(outbox);
        var admin = new Storage.Admin.OutboxAdmin(outbox.Database);
        Assert.Empty(await admin.ListAsync(new Storage.Admin.MailFilter { Subject = "Order 42" }, 10, Ct));

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        var listed = Assert.Single(await admin.ListAsync(new Storage.Admin.MailFilter { Subject = "order 42 CONFIRMED" }, 10, Ct));
        Assert.Equal((id, "Order 42 confirmed"), (listed.Id, listed.Subject));
        var shown = (await admin.ShowAsync(id, Ct))!.Message;
        Assert.Equal(("Order 42 confirmed", "order_confirmation", (string?)null), (shown.Subject, shown.Template, shown.TemplateLocale));
        Assert.Equal(System.Text.Json.JsonDocument.Parse(Data).RootElement.GetProperty("order").GetProperty("total").GetString(),
            System.Text.Json.JsonDocument.Parse(shown.TemplateData!).RootElement.GetProperty("order").GetProperty("total").GetString());
        // The stored template copy stays what the worker renders on any later attempt.
        Assert.Equal(Subject, await outbox.ScalarAsync<string>("select subject from outbox.outbox_message where id = @id", new { id }));

        await using var dashboard = await Dashboard.DashboardHost.StartAsync(outbox.ConnectionString, d => d.AllowActions = false);
        using var client = new HttpClient { BaseAddress = new Uri(dashboard.Url) };
        var list = await client.GetStringAsync("/mails?subject=Order+42", Ct);
        var mail = await client.GetStringAsync($"/mails/{id}", Ct);
        Assert.Contains($"<a href=\"/mails/{id}\">{id}</a>", list, StringComparison.Ordinal);
        foreach (var page in new[] { list, mail })
        {
            Assert.Contains("Order 42 confirmed", page, StringComparison.Ordinal);
            Assert.DoesNotContain("{{", page, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_schema_of_version_4_gets_the_rendered_subject_column_when_installed_again()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("drop view outbox.outbox_failed; alter table outbox.outbox_message drop column rendered_subject; update outbox.outbox_setting set value = '4' where name = 'schema_version'");

        await new Storage.SchemaInstaller(outbox.Database).InstallAsync(Ct);

        Assert.Equal(1L, await outbox.ScalarAsync<long>(
            "select count(*) from information_schema.columns where table_schema = 'outbox' and table_name = 'outbox_message' and column_name = 'rendered_subject'"));
        Assert.Equal(Storage.Admin.DatabaseCheck.ExpectedSchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), await outbox.ScalarAsync<string>("select value from outbox.outbox_setting where name = 'schema_version'"));
    }
}
