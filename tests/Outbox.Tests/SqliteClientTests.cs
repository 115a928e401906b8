using System.Security.Cryptography;
using Dapper;
using Microsoft.Data.Sqlite;
using MimeKit;
using Outbox.Core.Messages;
using Outbox.Core.Sending;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>OutboxClient enqueuing in the application's own transaction on a real SQLite file (and PostgreSQL).</summary>
public sealed class SqliteClientTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Rolled_back_application_transaction_leaves_no_mail()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var connection = new SqliteConnection(outbox.ConnectionString);
        await connection.OpenAsync(Ct);
        await connection.ExecuteAsync("create table orders (id integer primary key, total real)");

        await using (var tx = await connection.BeginTransactionAsync(Ct))
        {
            await connection.ExecuteAsync("insert into orders (total) values (9.5)", transaction: tx);
            await OutboxClient.For(connection).EnqueueAsync(connection, tx, Mail("rolled back"), Ct);
            await tx.RollbackAsync(Ct);
        }

        await using (var tx = await connection.BeginTransactionAsync(Ct))
        {
            await connection.ExecuteAsync("insert into orders (total) values (12)", transaction: tx);
            await OutboxClient.For(connection).EnqueueAsync(connection, tx, Mail("committed"), Ct);
            await tx.CommitAsync(Ct);
        }

        Assert.Equal(["committed"], await outbox.QueryAsync<string>("select subject from outbox_message"));
        Assert.Equal(1L, await outbox.ScalarAsync<long>("select count(*) from orders"));
    }

    [Fact]
    public async Task The_client_reads_a_mails_state_and_recipients_on_a_SQLite_file()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var smtp = TestSmtpServer.Start(s => s.RecipientReply = address => address == "nobody@example.com"
            ? new SmtpServer.Protocol.SmtpResponse(SmtpServer.Protocol.SmtpReplyCode.MailboxUnavailable, "5.1.1 User unknown")
            : null);
        await using var connection = new SqliteConnection(outbox.ConnectionString);
        await connection.OpenAsync(Ct);
        var id = await OutboxClient.For(connection).EnqueueAsync(connection, null, new MailRequest { Sender = "app@example.com", To = ["a@example.com", "nobody@example.com"], Subject = "s" }, Ct);

        var queued = await OutboxClient.For(connection).StateAsync(connection, id, cancellationToken: Ct);
        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);
        var sent = await OutboxClient.For(connection).StateAsync(connection, id, cancellationToken: Ct);

        Assert.Equal(("queued", 0), (queued!.Status, queued.AttemptCount));
        Assert.Equal(("sent", 1, 250), (sent!.Status, sent.AttemptCount, sent.SmtpCode));
        Assert.Equal([("a@example.com", "accepted"), ("nobody@example.com", "rejected")], sent.Recipients.Select(r => (r.Address, r.Status)));
        Assert.Null(await OutboxClient.For(connection).StateAsync(connection, id + 1, cancellationToken: Ct));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Attachments_and_inline_image_from_dotnet_arrive_byte_identical(string provider)
    {
        await using var outbox = provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);
        var pdf = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 7);
        var png = RandomNumberGenerator.GetBytes(20_000);
        await using (var connection = await outbox.OpenAsync())
        {
            await OutboxClient.For(connection).EnqueueAsync(connection, null, new MailRequest
            {
                Sender = "Shop <shop@example.com>",
                To = ["customer@example.com"],
                Bcc = ["audit@example.com"],
                Subject = "Grüße aus Köln ✉",
                TextBody = "plain",
                HtmlBody = "<img src=\"cid:logo\">",
                Attachments =
                [
                    new MailAttachment { FileName = "invoice.pdf", Content = new MemoryStream(pdf), MimeType = "application/pdf" },
                    new MailAttachment { FileName = "logo.png", Content = new MemoryStream(png), MimeType = "image/png", ContentId = "logo" },
                ],
            }, Ct);
        }

        var pickup = Directory.CreateTempSubdirectory("outbox-pickup-");
        var summary = await outbox.Dispatcher(new PickupDirectoryTransport(pickup.FullName)).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Sent);
        var file = Assert.Single(pickup.GetFiles("*.eml"));
        var text = await File.ReadAllTextAsync(file.FullName, Ct);
        Assert.StartsWith("X-Sender: shop@example.com\r\nX-Receiver: customer@example.com\r\nX-Receiver: audit@example.com\r\n", text, StringComparison.Ordinal);
        await using var stream = file.OpenRead();
        var message = await MimeMessage.LoadAsync(stream, Ct);
        Assert.Equal("Grüße aus Köln ✉", message.Subject);
        Assert.Empty(message.Bcc);
        Assert.Equal(pdf, await DecodeAsync(message.BodyParts.OfType<MimePart>().Single(p => p.FileName == "invoice.pdf")));
        Assert.Equal(png, await DecodeAsync(message.BodyParts.OfType<MimePart>().Single(p => p.ContentId == "logo")));
        pickup.Delete(recursive: true);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Send_after_in_the_future_keeps_the_mail_waiting(string provider)
    {
        await using var outbox = provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);
        long later;
        long now;
        await using (var connection = await outbox.OpenAsync())
        {
            var client = OutboxClient.For(connection);
            later = await client.EnqueueAsync(connection, null, new MailRequest { Sender = "a@example.com", To = ["b@example.com"], SendAfter = DateTimeOffset.UtcNow.AddHours(1) }, Ct);
            now = await client.EnqueueAsync(connection, null, new MailRequest { Sender = "a@example.com", To = ["b@example.com"], SendAfter = DateTimeOffset.UtcNow.AddHours(-1) }, Ct);
        }

        var pickup = Directory.CreateTempSubdirectory("outbox-pickup-");
        var summary = await outbox.Dispatcher(new PickupDirectoryTransport(pickup.FullName)).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Sent);
        await outbox.AssertStatusAsync(now, "sent");
        await outbox.AssertStatusAsync(later, "queued");
        pickup.Delete(recursive: true);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Dba_views_show_the_queue_by_status_and_the_mails_that_failed(string provider)
    {
        await using var outbox = provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);
        await using (var connection = await outbox.OpenAsync())
        {
            var client = OutboxClient.For(connection);
            for (var i = 0; i < 3; i++)
            {
                await client.EnqueueAsync(connection, null, new MailRequest { Sender = "a@example.com", To = ["b@example.com"] }, Ct);
            }
        }

        await outbox.ExecuteAsync($"update {outbox.T("outbox_message")} set status = 'failed', last_error = 'boom' where id = (select min(id) from {outbox.T("outbox_message")})");

        var summary = await outbox.QueryAsync<(string Status, long Messages, long OldestAgeSeconds)>(
            $"select status, messages, oldest_age_seconds from {outbox.T("outbox_queue_summary")} order by status");
        Assert.Equal([("failed", 1L), ("queued", 2L)], summary.Select(s => (s.Status, s.Messages)));
        Assert.All(summary, s => Assert.InRange(s.OldestAgeSeconds, 0, 60));
        var failed = await outbox.QueryAsync<(long Id, string LastError)>($"select id, last_error from {outbox.T("outbox_failed")}");
        Assert.Equal("boom", Assert.Single(failed).LastError);
    }

    [Fact]
    public async Task A_file_made_before_schema_version_2_gets_the_recipient_check_with_deferred_and_keeps_its_rows()
    {
        var file = Path.Combine(Path.GetTempPath(), $"outbox-v1-{Guid.NewGuid():N}.db");
        var fresh = Path.Combine(Path.GetTempPath(), $"outbox-v2-{Guid.NewGuid():N}.db");
        await using (var old = new SqliteConnection($"Data Source={file};Pooling=False"))
        {
            await old.OpenAsync(Ct);
            await old.ExecuteAsync(SchemaInstaller.ReadScript("sql/sqlite/01_tables.sql").Replace("('accepted', 'deferred', 'rejected')", "('accepted', 'rejected')", StringComparison.Ordinal));
            await old.ExecuteAsync(
                "insert into outbox_message (id, status, sender, mime_message_id) values (1, 'sent', 'a@example.com', '<m1@x>');"
                + "insert into outbox_recipient (message_id, kind, address, status, smtp_reply) values (1, 'to', 'b@example.com', 'rejected', '550 no');");
            await Assert.ThrowsAsync<SqliteException>(() => old.ExecuteAsync("update outbox_recipient set status = 'deferred'"));
        }

        await using var outbox = TestOutbox.Existing("sqlite", $"Data Source={file}");
        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);
        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);
        await using var made = TestOutbox.Existing("sqlite", $"Data Source={fresh}");
        await new SchemaInstaller(made.Database).InstallAsync(Ct);

        Assert.Equal([("b@example.com", "rejected", "550 no")], await outbox.QueryAsync<(string, string, string)>("select address, status, smtp_reply from outbox_recipient"));
        await outbox.ExecuteAsync("update outbox_recipient set status = 'deferred'");
        const string Table = "select sql from sqlite_master where name = 'outbox_recipient'";
        Assert.Equal(Normalized(await made.ScalarAsync<string>(Table)), Normalized(await outbox.ScalarAsync<string>(Table)).Replace("outbox_recipient_v2", "outbox_recipient", StringComparison.Ordinal));
        Assert.Equal(1L, await outbox.ScalarAsync<long>("select count(*) from sqlite_master where name = 'outbox_recipient_message_ix'"));
        Assert.Equal($"{Outbox.Storage.Admin.DatabaseCheck.ExpectedSchemaVersion}", await outbox.ScalarAsync<string>("select value from outbox_setting where name = 'schema_version'"));
        await outbox.DisposeAsync();
        await made.DisposeAsync();
        DeleteDatabase(file);
        DeleteDatabase(fresh);
    }

    // A SQLite file in WAL mode has two companions; the pool may still hold the file open.
    private static void DeleteDatabase(string file)
    {
        SqliteConnection.ClearAllPools();
        foreach (var path in new[] { file, file + "-wal", file + "-shm" })
        {
            File.Delete(path);
        }
    }

    private static string Normalized(string sql) => string.Join(' ', sql.Split([' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries)).Replace("\"", string.Empty, StringComparison.Ordinal);

    [Fact]
    public async Task A_file_made_before_profiles_and_accounts_gets_their_columns_when_installed_again()
    {
        var file = Path.Combine(Path.GetTempPath(), $"outbox-old-{Guid.NewGuid():N}.db");
        await using (var old = new SqliteConnection($"Data Source={file};Pooling=False"))
        {
            await old.OpenAsync(Ct);
            await old.ExecuteAsync(SchemaInstaller.ReadScript("sql/sqlite/01_tables.sql"));
            await old.ExecuteAsync("drop view outbox_failed; alter table outbox_message drop column profile; alter table outbox_attempt drop column account");
        }

        await using var outbox = TestOutbox.Existing("sqlite", $"Data Source={file}");
        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);

        var columns = await outbox.QueryAsync<string>("select name from pragma_table_info('outbox_message') union all select name from pragma_table_info('outbox_attempt')");
        Assert.Contains("profile", columns);
        Assert.Contains("account", columns);
        await outbox.DisposeAsync();
        DeleteDatabase(file);
    }

    [Fact]
    public async Task Forward_only_attachment_stream_is_accepted()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var connection = await outbox.OpenAsync();

        await OutboxClient.For(connection).EnqueueAsync(connection, null, new MailRequest
        {
            Sender = "app@example.com",
            To = ["to@example.com"],
            Attachments = [new MailAttachment { FileName = "data.bin", Content = new PatternStream(100_000) }],
        }, Ct);

        Assert.Equal(100_000L, await outbox.ScalarAsync<long>("select length(content) from outbox_attachment"));
        Assert.Equal(PatternStream.ByteAt(99_999), (await outbox.ScalarAsync<byte[]>("select substr(content, 100000, 1) from outbox_attachment"))[0]);
    }

    [Fact]
    public async Task A_new_sqlite_file_gets_the_schema_in_the_applications_transaction_as_the_cli_would_install_it()
    {
        var dir = Directory.CreateTempSubdirectory("outbox-newfile-");
        try
        {
            var file = Path.Combine(dir.FullName, "app.db");
            await using (var connection = new SqliteConnection($"Data Source={file};Pooling=false"))
            {
                await connection.OpenAsync(Ct);
                await using (var rolledBack = await connection.BeginTransactionAsync(Ct))
                {
                    await OutboxClient.For(connection).EnqueueAsync(connection, rolledBack, Mail("rolled back"), Ct);
                    await rolledBack.RollbackAsync(Ct);
                }

                Assert.Equal(0L, await connection.ExecuteScalarAsync<long>("select count(*) from sqlite_master where name like 'outbox%'"));
                await using var tx = await connection.BeginTransactionAsync(Ct);
                await OutboxClient.For(connection).EnqueueAsync(connection, tx, Mail("first mail"), Ct);
                await tx.CommitAsync(Ct);
            }

            var config = WorkerProcess.WriteConfig(dir.FullName, new { Database = new { Provider = "sqlite", ConnectionString = $"Data Source={file};Pooling=false" } });
            var (code, output) = await Cli.RunAsync("check", "db", "--config", config);
            Assert.Equal(0, code);
            Assert.Contains("ok   queue            queued 1", output, StringComparison.Ordinal);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_sqlite_file_of_another_schema_version_is_one_line_saying_to_run_init()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await outbox.ExecuteAsync("update outbox_setting set value = '3' where name = 'schema_version'");
        await using var connection = new SqliteConnection(outbox.ConnectionString);
        await connection.OpenAsync(Ct);

        var error = await Assert.ThrowsAsync<Core.Validation.MailValidationException>(() => OutboxClient.For(connection).EnqueueAsync(connection, null, Mail("old file"), Ct));

        Assert.Equal($"Outbox:Database: this SQLite file's outbox schema is version 3, but this release needs {Outbox.Storage.Admin.DatabaseCheck.ExpectedSchemaVersion}. Run outbox init --config FILE (FILE naming this file) once: it upgrades the file in place", error.Message);
    }

    private static MailRequest Mail(string subject) => new()
    {
        Sender = "app@example.com",
        To = ["to@example.com"],
        Subject = subject,
        TextBody = "x",
    };

    private static async Task<byte[]> DecodeAsync(MimePart part)
    {
        using var decoded = new MemoryStream();
        await part.Content!.DecodeToAsync(decoded, Ct);
        return decoded.ToArray();
    }
}
