using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;
using Outbox.Core.Messages;
using Outbox.Core.Validation;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// Extra headers (issue 27): every caller may add List-Unsubscribe, List-Unsubscribe-Post, X-...
/// headers; a header the worker writes itself, a name RFC 5322 does not allow, a line break in a
/// value and more than the bounds are refused at enqueue, by the same rules in C#, PL/pgSQL and
/// PL/SQL, naming the field.
/// </summary>
public sealed class ExtraHeaderTests(PostgresServer postgres) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-headers-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Extra_headers_go_out_with_the_mail_sent_by_a_real_worker(string provider)
    {
        await using var outbox = provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);
        await using var smtp = ScriptedSmtpServer.Start();
        await outbox.EnqueueAsync(new MailRequest
        {
            Sender = "news@example.com", To = ["reader@example.com"], Subject = "Newsletter", TextBody = "Hello",
            Headers = [new("List-Unsubscribe", "<https://example.com/u/42>, <mailto:unsub@example.com?subject=42>"), new("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"), new("X-Campaign", "  winter  ")],
        });

        var config = WorkerProcess.WriteConfig(_dir.FullName, new
        {
            Transport = "smtp",
            Database = new { Provider = provider, outbox.ConnectionString },
            Smtp = new { Host = "127.0.0.1", smtp.Port, Security = "None", AllowInsecure = true },
        });
        var run = await WorkerProcess.RunToEndAsync(_dir.FullName, null, "run", "--once", "--config", config);

        Assert.True(run.Code == 0, run.Error);
        var mail = MimeKit.MimeMessage.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(Assert.Single(smtp.Received).Data)), Ct);
        Assert.Equal("<https://example.com/u/42>, <mailto:unsub@example.com?subject=42>", mail.Headers["List-Unsubscribe"]);
        Assert.Equal("List-Unsubscribe=One-Click", mail.Headers["List-Unsubscribe-Post"]);
        Assert.Equal("winter", mail.Headers["X-Campaign"]);
        Assert.Equal("news@example.com", Assert.Single(mail.From.Mailboxes).Address);
    }

    // The same list of refusals for every caller: OutboxClient on SQLite (checked in C#), on
    // PostgreSQL (in C#, then by outbox_mail), and outbox_mail itself.
    public static TheoryData<string, string, string> Refused => new()
    {
        { "From", "boss@example.com", "headers: From is written by the worker" },
        { "content-type", "text/html", "headers: content-type is written by the worker" },
        { "Message-ID", "<x@example.com>", "headers: Message-ID is written by the worker" },
        { "Resent-To", "b@example.com", "headers: Resent-To is written by the worker" },
        { "X-Priority", "1", "headers: X-Priority is written by the worker" },
        { "X Bad", "v", "headers: \"X Bad\" is not a header name" },
        { "X-Ünicode", "v", "headers: \"X-Ünicode\" is not a header name" },
        { new string('X', 77), "v", $"headers: \"{new string('X', 77)}\" is not a header name" },
        { "X-Empty", "   ", "headers: X-Empty has no value" },
        { "X-Injected", "a\r\nBcc: victim@example.com", "headers: the value of X-Injected holds a line break or another control character" },
        { "X-Long", new string('v', 991), "headers: X-Long is 999 characters with its name, more than the 998 allowed" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_header_refused_by_outbox_client_on_sqlite_and_postgresql_leaves_no_mail(string name, string value, string expected)
    {
        foreach (var provider in new[] { "sqlite", "postgresql" })
        {
            await using var outbox = provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);

            var error = await Assert.ThrowsAsync<MailValidationException>(() => outbox.EnqueueAsync(new MailRequest
            {
                Sender = "a@example.com", To = ["b@example.com"], TextBody = "x", Headers = [new(name, value)],
            }));

            Assert.Equal("headers", error.Field);
            Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error.Message);
            Assert.Equal(0L, await outbox.ScalarAsync<long>($"select count(*) from {outbox.T("outbox_message")}"));
        }
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Outbox_mail_refuses_the_same_headers_with_the_same_words(string name, string value, string expected)
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var connection = (NpgsqlConnection)await outbox.OpenAsync();

        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync(
            "select outbox_mail.send(sender => 'a@example.com', recipients => 'b@example.com', headers => @Headers)",
            new { Headers = $"List-Id: <news.example.com>\n{name}: {value}" }));

        Assert.Equal("22023", error.SqlState);
        // In the text form a line break ends a header: the line after it is a header of its own, judged as one.
        Assert.StartsWith(value.Contains('\n', StringComparison.Ordinal) ? "headers: Bcc is written by the worker" : expected, error.MessageText, StringComparison.Ordinal);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message"));
    }

    // Accepted alike, and stored as the same line, by OutboxClient (SQLite) and outbox_mail; the worker sends them.
    [Theory]
    [InlineData("X-Tab", "a\tb", "X-Tab: a\tb")]
    [InlineData("X-Unicode", "Grüße 👋", "X-Unicode: Grüße 👋")]
    [InlineData("X-Odd!#$%&'*+.^_`|~", "v", "X-Odd!#$%&'*+.^_`|~: v")]
    [InlineData("x-lower", "  padded  ", "x-lower: padded")]
    [InlineData("List-Unsubscribe-Post", "List-Unsubscribe=One-Click", "List-Unsubscribe-Post: List-Unsubscribe=One-Click")]
    public async Task An_accepted_header_is_stored_alike_by_every_caller_and_sent(string name, string value, string stored)
    {
        await using var sqlite = await TestOutbox.SqliteAsync();
        await using var pg = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        var id = await sqlite.EnqueueAsync(new MailRequest { Sender = "a@example.com", To = ["b@example.com"], TextBody = "x", Headers = [new(name, value)] });
        await using (var connection = await pg.OpenAsync())
        {
            await connection.ExecuteAsync("select outbox_mail.send('a@example.com', 'b@example.com', headers => @Headers)", new { Headers = $"{name}:{value}\r\n" });
        }

        Assert.Equal([stored], await sqlite.QueryAsync<string>("select headers from outbox_message"));
        Assert.Equal([stored], await pg.QueryAsync<string>("select headers from outbox.outbox_message"));
        await sqlite.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);
        await sqlite.AssertStatusAsync(id, "sent");
        var mail = MimeKit.MimeMessage.Load(new MemoryStream(Assert.Single(smtp.Received).Data), Ct);
        Assert.Equal(stored[(name.Length + 2)..], mail.Headers[name]);
    }

    // The headers the worker owns are listed once in each language: the lists must agree.
    [Fact]
    public void Csharp_plpgsql_and_plsql_refuse_the_same_owned_headers()
    {
        var owned = (HashSet<string>)typeof(MailHeaderRules).GetField("Owned", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null)!;
        var expected = owned.Select(n => n.ToLowerInvariant()).Order().ToList();
        foreach (var script in new[] { "sql/postgresql/02_api.sql", "sql/oracle/04_outbox_mail_body.sql" })
        {
            var text = Outbox.Storage.SchemaInstaller.ReadScript(script);
            var list = System.Text.RegularExpressions.Regex.Match(text, @"lower\(p_name\) in \(([^)]*)\)").Groups[1].Value;
            Assert.Equal(expected, System.Text.RegularExpressions.Regex.Matches(list, "'([^']*)'").Select(m => m.Groups[1].Value).Order().ToList());
            Assert.Contains("lower(p_name) like 'content-%' or lower(p_name) like 'resent-%'", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Outbox_mail_add_header_checks_each_header_and_the_total_naming_the_parameter()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var connection = (NpgsqlConnection)await outbox.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync(Ct);
        var id = await connection.ExecuteScalarAsync<long>("select outbox_mail.create_mail('a@example.com', 'S', 'T', headers => 'X-One: 1')", transaction: transaction);
        await connection.ExecuteAsync("select outbox_mail.add_header(@id, 'List-Unsubscribe', '<https://example.com/u/1>')", new { id }, transaction);
        Assert.Equal("X-One: 1\nList-Unsubscribe: <https://example.com/u/1>",
            await connection.ExecuteScalarAsync<string>("select headers from outbox.outbox_message where id = @id", new { id }, transaction));

        await connection.ExecuteAsync("savepoint s", transaction: transaction);
        var owned = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("select outbox_mail.add_header(@id, 'Date', 'today')", new { id }, transaction));
        Assert.StartsWith("name: Date is written by the worker", owned.MessageText, StringComparison.Ordinal);
        await connection.ExecuteAsync("rollback to savepoint s", transaction: transaction);
        var broken = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("select outbox_mail.add_header(@id, 'X-Two', E'a\\nb')", new { id }, transaction));
        Assert.StartsWith("value: the value of X-Two holds a line break", broken.MessageText, StringComparison.Ordinal);
        await connection.ExecuteAsync("rollback to savepoint s", transaction: transaction);
        for (var i = 0; i < 4; i++)
        {
            await connection.ExecuteAsync("select outbox_mail.add_header(@id, 'X-Filler', repeat('f', 900))", new { id }, transaction);
        }

        var tooMuch = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("select outbox_mail.add_header(@id, 'X-Filler', repeat('f', 900))", new { id }, transaction));
        Assert.StartsWith("headers: are 4607 bytes in all, more than the 4000 allowed", tooMuch.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Outbox_client_bounds_the_headers_in_all()
    {
        await using var outbox = await TestOutbox.SqliteAsync();

        var error = await Assert.ThrowsAsync<MailValidationException>(() => outbox.EnqueueAsync(new MailRequest
        {
            Sender = "a@example.com", To = ["b@example.com"], TextBody = "x",
            Headers = [.. Enumerable.Range(0, 5).Select(i => new MailHeader($"X-Filler-{i}", new string('f', 900)))],
        }));

        Assert.Equal("headers: are 4564 bytes in all, more than the 4000 allowed. Send fewer or shorter headers", error.Message);
    }

    [Fact]
    public async Task A_template_mail_keeps_its_headers_and_the_cli_names_the_header_option()
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new { Database = new { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}" } });
        var subject = Path.Combine(_dir.FullName, "body.txt");
        await File.WriteAllTextAsync(subject, "Hello {{ name }}", Ct);
        Assert.Equal(0, (await Cli.RunApartAsync("template", "put", "welcome", "--subject", "Welcome", "--text-file", subject, "--config", config)).Code);

        var sent = await Cli.RunApartAsync("send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--template", "welcome",
            "--header", "List-Unsubscribe: <https://example.com/u/7>", "--header", "X-Campaign:welcome");
        var owned = await Cli.RunApartAsync("send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--template", "welcome",
            "--header", "Content-Type: text/html");
        var shapeless = await Cli.RunApartAsync("send", "--config", config, "--from", "app@example.com", "--to", "a@example.com", "--text", "x",
            "--header", "List-Unsubscribe");

        Assert.True(sent.Code == 0, sent.Error);
        await using var outbox = TestOutbox.Existing("sqlite", $"Data Source={Path.Combine(_dir.FullName, "outbox.db")}");
        Assert.Equal(["List-Unsubscribe: <https://example.com/u/7>\nX-Campaign: welcome"], await outbox.QueryAsync<string>("select headers from outbox_message"));
        var show = await Cli.RunApartAsync("show", sent.Out.Trim(), "--config", config);
        Assert.Contains("  List-Unsubscribe: <https://example.com/u/7>\n  X-Campaign: welcome\n", show.Out.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Equal(Outbox.Commands.ExitCodes.Usage, owned.Code);
        Assert.Equal("outbox: --header: Content-Type is written by the worker. Leave it out: From, To, Cc, Subject, Reply-To and the priority have their own fields; Date, Message-ID, MIME-Version, Content-*, Resent-*, Received, Return-Path and DKIM-Signature are not the caller's", owned.Error.Trim());
        Assert.Equal(Outbox.Commands.ExitCodes.Usage, shapeless.Code);
        Assert.StartsWith("outbox: --header: \"List-Unsubscribe\" is not a header. Write it as \"Name: value\"", shapeless.Error.Trim(), StringComparison.Ordinal);
        await outbox.DisposeAsync();
    }
}
