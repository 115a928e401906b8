using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Data.Sqlite;
using MimeKit;
using Outbox.Core.Messages;
using Outbox.Core.Templates;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Storage.Templates;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Templates;

/// <summary>Templates on SQLite, where .NET code enqueues with OutboxClient: put, enqueue in the caller's transaction, rendered by the worker.</summary>
public sealed partial class SqliteTemplateTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static TemplateSource Order => new("order_confirmation", null, PostgresTemplateTests.Subject, PostgresTemplateTests.Text, PostgresTemplateTests.Html);

    private static MailRequest ByTemplate(string to, string data = PostgresTemplateTests.Data) => new()
    {
        Sender = "shop@example.com",
        To = [to],
        Template = "order_confirmation",
        TemplateData = data,
    };

    private static async Task PutAsync(TestOutbox outbox, TemplateSource template)
    {
        await using var connection = await outbox.OpenAsync();
        await new TemplateStore(outbox.Database.Dialect).PutAsync(connection, template, "dba", Ct);
    }

    [Fact]
    public async Task OutboxClient_enqueues_by_template_and_the_worker_sends_it_rendered_next_to_a_mail_that_cannot_render()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = TestSmtpServer.Start();
        await PutAsync(outbox, Order);
        var broken = await outbox.EnqueueAsync(ByTemplate("first@example.com", """{"customer": {"name": "A"}, "order": {"id": 7, "lines": []}}"""));
        var good = await outbox.EnqueueAsync(ByTemplate("second@example.com"));

        var summary = await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        Assert.Equal((1, 1), (summary.Sent, summary.Failed));
        await outbox.AssertStatusAsync(good, "sent");
        await outbox.AssertStatusAsync(broken, "failed");
        Assert.Equal("template order_confirmation, text body line 4: total is not in the data (looked up as order.total). Add it to the data (null for an empty value), or fix the template",
            await outbox.ScalarAsync<string>("select last_error from outbox_message where id = @broken", new { broken }));
        var message = MimeMessage.Load(new MemoryStream(Assert.Single(smtp.Received).Data), Ct);
        Assert.Equal("Order 42 confirmed", message.Subject);
        Assert.Contains("2 x TEA-01 at 10.00", message.TextBody, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", message.HtmlBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_template_is_refused_in_the_callers_transaction_and_nothing_is_written()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await PutAsync(outbox, Order);
        await using var connection = await outbox.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync(Ct);

        var unknown = await Assert.ThrowsAsync<MailValidationException>(() => OutboxClient.For(connection).EnqueueAsync(connection, transaction,
            new MailRequest { Sender = "shop@example.com", To = ["c@example.com"], Template = "nope", Locale = "de" }, Ct));
        Assert.Equal("template", unknown.Field);
        Assert.Equal("template: no template named \"nope\" for locale de nor a default one. Put it first (outbox template put, or an INSERT into outbox_template); outbox template list shows them", unknown.Message);
        await transaction.CommitAsync(Ct);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox_message"));
    }

    [Theory]
    [InlineData("subject")]
    [InlineData("text_body")]
    public async Task A_subject_or_body_next_to_a_template_is_refused_naming_it(string field)
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        var request = new MailRequest
        {
            Sender = "shop@example.com",
            To = ["c@example.com"],
            Template = "order_confirmation",
            Subject = field == "subject" ? "mine" : null,
            TextBody = field == "text_body" ? "mine" : null,
        };

        var error = await Assert.ThrowsAsync<MailValidationException>(() => outbox.EnqueueAsync(request));

        Assert.Equal(field, error.Field);
        Assert.Equal($"{field}: comes from template order_confirmation. Leave Subject, TextBody and HtmlBody out of a mail made from a template", error.Message);
    }

    [Fact]
    public async Task A_broken_template_is_refused_at_put_and_the_stored_one_stays()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await PutAsync(outbox, Order);

        var error = await Assert.ThrowsAsync<MailValidationException>(() => PutAsync(outbox, Order with { HtmlBody = "<p>\n{% for line in order.lines %}{{ line.sku }}" }));

        Assert.StartsWith("template order_confirmation, html body line 2, column ", error.Message, StringComparison.Ordinal);
        Assert.Equal(PostgresTemplateTests.Html, await outbox.ScalarAsync<string>("select html_body from outbox_template"));
    }

    [Fact]
    public async Task Put_again_changes_the_row_and_records_who_and_when()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await PutAsync(outbox, Order);
        await outbox.ExecuteAsync("update outbox_template set changed_at = '2020-01-01T00:00:00.000Z'");
        await using (var connection = await outbox.OpenAsync())
        {
            Assert.False(await new TemplateStore(outbox.Database.Dialect).PutAsync(connection, Order with { Subject = "Changed {{ order.id }}" }, "editor", Ct));
        }

        var row = (await outbox.QueryAsync<(string Subject, string CreatedBy, string ChangedBy, string ChangedAt)>(
            "select subject, created_by, changed_by, changed_at from outbox_template")).Single();
        Assert.Equal(("Changed {{ order.id }}", "dba", "editor"), (row.Subject, row.CreatedBy, row.ChangedBy));
        Assert.NotEqual("2020-01-01T00:00:00.000Z", row.ChangedAt);
    }

    [Fact]
    public async Task A_file_made_at_schema_version_2_gets_the_template_table_and_columns()
    {
        var file = Path.Combine(Path.GetTempPath(), $"outbox-v2-{Guid.NewGuid():N}.db");
        var version2 = TemplateParts().Replace(SchemaInstaller.ReadScript("sql/sqlite/01_tables.sql"), string.Empty)
            .Replace("'3'", "'2'", StringComparison.Ordinal);
        await using (var old = new SqliteConnection($"Data Source={file};Pooling=False"))
        {
            await old.OpenAsync(Ct);
            await old.ExecuteAsync(version2);
            Assert.DoesNotContain("template", await old.ExecuteScalarAsync<string>("select sql from sqlite_master where name = 'outbox_message'"), StringComparison.Ordinal);
        }

        await using var outbox = TestOutbox.Existing("sqlite", $"Data Source={file}");
        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);
        await using var smtp = TestSmtpServer.Start();
        await PutAsync(outbox, Order);
        var id = await outbox.EnqueueAsync(ByTemplate("customer@example.com"));
        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        await outbox.AssertStatusAsync(id, "sent");
        Assert.Equal(Storage.Admin.DatabaseCheck.ExpectedSchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), await outbox.ScalarAsync<string>("select value from outbox_setting where name = 'schema_version'"));
        await DeleteAsync(outbox, file);
    }

    [Fact]
    public async Task A_file_of_schema_version_4_gets_the_rendered_subject_and_records_it_when_the_mail_is_sent()
    {
        var file = Path.Combine(Path.GetTempPath(), $"outbox-v4-{Guid.NewGuid():N}.db");
        await using (var old = new SqliteConnection($"Data Source={file};Pooling=False"))
        {
            await old.OpenAsync(Ct);
            await old.ExecuteAsync(SchemaInstaller.ReadScript("sql/sqlite/01_tables.sql"));
            await old.ExecuteAsync("drop view outbox_failed; alter table outbox_message drop column rendered_subject; update outbox_setting set value = '4' where name = 'schema_version'");
        }

        await using var outbox = TestOutbox.Existing("sqlite", $"Data Source={file}");
        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);
        await using var smtp = TestSmtpServer.Start();
        await PutAsync(outbox, Order);
        var id = await outbox.EnqueueAsync(ByTemplate("customer@example.com"));
        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);

        Assert.Equal(("Order 42 confirmed", PostgresTemplateTests.Subject), (await outbox.QueryAsync<(string, string)>(
            "select rendered_subject, subject from outbox_message where id = @id", new { id })).Single());
        Assert.Equal(Storage.Admin.DatabaseCheck.ExpectedSchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), await outbox.ScalarAsync<string>("select value from outbox_setting where name = 'schema_version'"));
        await DeleteAsync(outbox, file);
    }

    // outbox_failed of schema version 6 showed a template mail's Liquid subject; SQLite cannot
    // replace a view, so the upgrade makes it again, and it shows what the mail went out with.
    [Fact]
    public async Task A_file_of_schema_version_6_gets_the_failed_view_with_the_rendered_subject()
    {
        var file = Path.Combine(Path.GetTempPath(), $"outbox-v6-{Guid.NewGuid():N}.db");
        await using (var old = new SqliteConnection($"Data Source={file};Pooling=False"))
        {
            await old.OpenAsync(Ct);
            await old.ExecuteAsync(SchemaInstaller.ReadScript("sql/sqlite/01_tables.sql"));
            await old.ExecuteAsync("""
                drop view outbox_failed;
                create view outbox_failed as
                select m.id, m.status, m.sender, m.subject, m.attempt_count, m.last_attempt_at, m.smtp_code, m.smtp_reply, m.last_error
                  from outbox_message m
                 where m.status in ('failed', 'unconfirmed', 'expired');
                update outbox_setting set value = '6' where name = 'schema_version';
                """);
        }

        await using var outbox = TestOutbox.Existing("sqlite", $"Data Source={file}");
        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);
        await using var smtp = TestSmtpServer.Start();
        await PutAsync(outbox, Order);
        var id = await outbox.EnqueueAsync(ByTemplate("customer@example.com"));
        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);
        await outbox.ExecuteAsync("update outbox_message set status = 'unconfirmed' where id = @id", new { id });

        Assert.Equal("Order 42 confirmed", await outbox.ScalarAsync<string>("select subject from outbox_failed where id = @id", new { id }));
        await DeleteAsync(outbox, file);
    }

    // A test's own file, with its write-ahead log, once the outbox on it is closed.
    private static async Task DeleteAsync(TestOutbox outbox, string file)
    {
        await outbox.DisposeAsync();
        SqliteConnection.ClearAllPools();
        foreach (var path in new[] { file, file + "-wal", file + "-shm" })
        {
            File.Delete(path);
        }
    }

    // What schema version 3 added to the SQLite script: the message's columns and the template table with its index and trigger.
    [GeneratedRegex(@",\n    template         text,\n    template_locale  text,\n    template_data    text|create table if not exists outbox_template .*?\nend;\n", RegexOptions.Singleline)]
    private static partial Regex TemplateParts();
}
