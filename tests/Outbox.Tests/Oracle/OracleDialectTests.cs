using System.Data;
using System.Data.Common;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Outbox.Core.Dispatch;
using Outbox.Core.Messages;
using Outbox.Core.Sending;
using Outbox.Core.Sending.Accounts;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Outbox.Storage.Dialects;
using Outbox.Storage.Templates;
using Outbox.Core.Templates;

namespace Outbox.Tests.Oracle;

/// <summary>
/// The Oracle dialect without an Oracle server: every statement the worker, the CLI and the
/// client send through it is recorded and checked for Oracle syntax, and the driver's absence
/// gives the one clear error the issue asks for.
/// </summary>
public sealed class OracleDialectTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_statement_of_the_store_admin_and_client_is_oracle_syntax()
    {
        var source = await RecordEveryStatementAsync(new OracleDialect());

        Assert.True(source.Commands.Count >= 25, $"only {source.Commands.Count} statements were recorded");
        for (var i = 0; i < source.Commands.Count; i++)
        {
            OracleSyntax.AssertRunnable(source.Commands[i], "recorded");
            // ODP.NET refuses a bind the statement does not use (ORA-01036).
            foreach (var name in source.Parameters[i])
            {
                Assert.True(Regex.IsMatch(source.Commands[i], $@":{name.TrimStart(':', '@')}\b"), $"{name} is bound but not used in\n{source.Commands[i]}");
            }
        }

        Assert.Contains(source.Commands, c => c.Contains("for update skip locked", StringComparison.Ordinal) && c.Contains("limit :ByPriority", StringComparison.Ordinal) && c.Contains("by_age pls_integer := :ByAge", StringComparison.Ordinal));
        Assert.Contains(source.Commands, c => c.Contains("from dual", StringComparison.Ordinal) && c.Contains("outbox_attempt", StringComparison.Ordinal));
        Assert.Contains(source.Commands, c => c.Contains("fetch first :Limit rows only", StringComparison.Ordinal));
        // The claim hands back the headers and whether the expiry has passed, on the database clock.
        Assert.Contains(source.Commands, c => c.Contains("for update skip locked", StringComparison.Ordinal)
            && c.Contains("m.headers, case when m.expires_at <= sys_extract_utc(systimestamp) then 1 else 0 end as Expired", StringComparison.Ordinal));
        Assert.Contains(source.Commands, c => c.Contains("set status = 'expired'", StringComparison.Ordinal) && c.Contains("to_char(expires_at,", StringComparison.Ordinal));
        // The mark refuses a mail that expired in the batch, and a retry past the expiry records
        // it expired, each in its one statement on the database clock, handing back what it wrote.
        Assert.Contains(source.Commands, c => c.Contains("set data_started_at", StringComparison.Ordinal) is false
            && c.Contains("status = case when expires_at <= sys_extract_utc(systimestamp) then 'expired' else status end", StringComparison.Ordinal)
            && c.Contains("returning status bulk collect into statuses", StringComparison.Ordinal));
        Assert.Contains(source.Commands, c => c.Contains("status = case when expires_at <= (sys_extract_utc(systimestamp) + numtodsinterval(:DelaySeconds, 'SECOND')) then 'expired' else 'queued' end", StringComparison.Ordinal)
            && c.Contains("returning status bulk collect into statuses", StringComparison.Ordinal));
        Assert.Contains(source.Commands, c => c.Contains("outbox_mail.create_mail(", StringComparison.Ordinal) && c.Contains("expires_at => :ExpiresAt, expires_after => :ExpiresAfter, headers => :Headers)", StringComparison.Ordinal));
        Assert.Contains(source.Commands, c => c.Contains("sys_context('userenv', 'con_dbid')", StringComparison.Ordinal));
        Assert.Contains(source.Commands, c => c.StartsWith("update outbox_message set status = 'cancelled'", StringComparison.Ordinal) && c.Contains("id in (:Ids", StringComparison.Ordinal));
        // Connection slots: leased on the database clock, expired ones cleared first; a limit by recipients sums them.
        Assert.Contains(source.Commands, c => c.Contains("insert into outbox_connection_slot (account, worker, taken_at, lease_until)", StringComparison.Ordinal)
            && c.Contains("sys_extract_utc(systimestamp) + numtodsinterval(:LeaseSeconds, 'SECOND')", StringComparison.Ordinal));
        Assert.Contains(source.Commands, c => c.Contains("delete from outbox_connection_slot", StringComparison.Ordinal) && c.Contains("lease_until < sys_extract_utc(systimestamp)", StringComparison.Ordinal));
        Assert.Contains(source.Commands, c => c.StartsWith("update outbox_connection_slot set lease_until", StringComparison.Ordinal));
        Assert.Contains(source.Commands, c => c.Contains("coalesce(sum(coalesce(recipients, 1)), 0) as Used", StringComparison.Ordinal));
        // A 1 MB + 5 byte attachment: one call of 32 pieces, one of 1 piece.
        Assert.Equal(2, source.Commands.Count(c => c.Contains("outbox_mail.write_attachment(", StringComparison.Ordinal)));
    }

    // A worker or application user granted OUTBOX_WORKER sees the owner's tables only by their
    // qualified names (there are no synonyms): one unqualified name is ORA-00942 for it.
    [Fact]
    public async Task With_a_schema_every_statement_names_the_owners_tables_and_views()
    {
        var source = await RecordEveryStatementAsync(new OracleDialect("OUTBOX"));

        Assert.Contains(source.Commands, c => c.Contains("OUTBOX.outbox_rate_slot", StringComparison.Ordinal));
        Assert.Contains(source.Commands, c => c.Contains("OUTBOX.outbox_connection_slot", StringComparison.Ordinal));
        Assert.Contains(source.Commands, c => c.Contains("OUTBOX.outbox_setting", StringComparison.Ordinal));
        var names = ScriptCatalog.Of("oracle").Tables.Keys.Concat(ScriptCatalog.Of("oracle").Views.Keys);
        var unqualified = new Regex($@"(?<![\w.$#])({string.Join("|", names)})\b", RegexOptions.IgnoreCase);
        foreach (var command in source.Commands)
        {
            var code = Regex.Replace(command, @"'(?:[^']|'')*'", "''");
            Assert.False(unqualified.IsMatch(code), $"an outbox object without its schema in\n{command}");
        }
    }

    // The scripts create objects in the connecting user's schema: run as the worker user they
    // would make a second outbox there, not install the owner's.
    [Fact]
    public async Task Init_does_not_run_the_scripts_as_a_user_other_than_the_configured_owner()
    {
        var source = new OdpStandIn();
        var installer = new SchemaInstaller(new OutboxDatabase(new OracleDialect("OUTBOX"), source));

        Assert.Equal(OdpStandIn.SessionUser, await installer.OtherOwnerAsync(Ct));
        var error = await Assert.ThrowsAsync<MailValidationException>(() => installer.InstallAsync(Ct));

        Assert.Equal("Outbox:Database:Schema", error.Field);
        Assert.All(source.Commands, c => Assert.Equal(OracleDialect.SessionUserQuery, c));
        Assert.Null(await new SchemaInstaller(new OutboxDatabase(new OracleDialect("OUTBOX_SVC"), source)).OtherOwnerAsync(Ct));
    }

    // As OUTBOX_MAIL raises -20005: a value longer than its Oracle column is refused by name
    // before any row is written, not with ORA-12899 from the INSERT.
    [Theory]
    [InlineData("subject", 2001)]
    [InlineData("to", 1001)]
    public async Task A_value_longer_than_its_oracle_column_is_refused_naming_the_field(string field, int length)
    {
        var source = new OdpStandIn();
        await using var connection = await source.OpenConnectionAsync(Ct);
        var address = new string('b', length - "@example.com".Length) + "@example.com";
        var request = new MailRequest
        {
            Sender = "a@example.com",
            To = [field == "to" ? address : "b@example.com"],
            Subject = field == "subject" ? new string('s', length) : "s",
        };

        var error = await Assert.ThrowsAsync<MailValidationException>(() => new OutboxClient(new OracleDialect()).EnqueueAsync(connection, null, request, Ct));

        Assert.Equal(field, error.Field);
        Assert.StartsWith($"{field}: is {length} bytes, more than the {length - 1} allowed", error.Message, StringComparison.Ordinal);
        Assert.Empty(source.Commands);
    }

    [Fact]
    public void A_schema_is_refused_for_connections_other_than_oracles_naming_the_parameter()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");

        var error = Assert.Throws<MailValidationException>(() => OutboxClient.For(connection, "OUTBOX"));

        Assert.Equal("schema", error.Field);
    }

    // 42,000 bytes in 36,000 characters, and template data of 40,000 bytes.
    private static readonly string LongText = string.Concat(Enumerable.Repeat("Grüße ", 6000));
    private static readonly string LongData = "{\"id\": 42, \"note\": \"" + new string('ü', 20_000) + "\"}";

    // The rows the stand-in gives besides its defaults: the template a mail uses, and the ids
    // `retry` picks, 2500 and then one (so its second batch is its last).
    private static Func<string, DataTable?> Answers()
    {
        var batches = 0;
        return text =>
        {
            if (text.Contains("outbox_template", StringComparison.Ordinal) && text.Contains("lower(:Locale)", StringComparison.Ordinal))
            {
                var template = new DataTable();
                foreach (var column in new[] { "name", "locale", "subject", "TextBody", "HtmlBody" })
                {
                    template.Columns.Add(column, typeof(string));
                }

                template.Rows.Add("order", "de", "Bestellung {{ id }}", LongText, "<p>" + LongText + "</p>");
                return template;
            }

            if (text.Contains("as TakenOverFrom", StringComparison.Ordinal) && text.Contains("for update skip locked", StringComparison.Ordinal))
            {
                // The claim takes a mail over from a worker that died, and one whose expiry has
                // passed: the take-over and expiry statements run too.
                var claimed = new DataTable();
                foreach (var (column, type) in new[] { ("id", typeof(long)), ("kind", typeof(string)), ("sender", typeof(string)), ("MimeMessageId", typeof(string)), ("AttemptCount", typeof(int)), ("TakenOverFrom", typeof(string)), ("headers", typeof(string)), ("Expired", typeof(int)) })
                {
                    claimed.Columns.Add(column, type);
                }

                claimed.Rows.Add(1L, "mime", "a@example.com", "<1@example.com>", 2, "worker-0", "List-Unsubscribe: <https://example.com/u/1>", 0);
                claimed.Rows.Add(2L, "mime", "a@example.com", "<2@example.com>", 0, null, null, 1);
                return claimed;
            }

            if (text.Contains("status in ('queued', 'sending', 'unconfirmed') order by id", StringComparison.Ordinal))
            {
                // The mails `adopt --cancel-waiting` cancels.
                var waiting = new DataTable();
                waiting.Columns.Add("id", typeof(long));
                waiting.Rows.Add(1L);
                waiting.Rows.Add(2L);
                return waiting;
            }

            if (text.StartsWith("select m.id from", StringComparison.Ordinal))
            {
                var ids = new DataTable();
                ids.Columns.Add("id", typeof(long));
                foreach (var id in Enumerable.Range(1, batches++ == 0 ? 2500 : 1))
                {
                    ids.Rows.Add((long)id);
                }

                return ids;
            }

            return null;
        };
    }

    // Runs every statement the store, the admin queries, `check db`, the rate limiter, the
    // templates and the client send, against the ODP.NET stand-in.
    private static async Task<OdpStandIn> RecordEveryStatementAsync(OracleDialect dialect)
    {
        var source = new OdpStandIn { Answer = Answers() };
        var database = new OutboxDatabase(dialect, source);
        var store = new OutboxStore(database, "worker-1");
        var mail = new ClaimedMessage { Id = 1, AttemptCount = 1, Sender = "a@example.com", TakenOverFrom = "worker-0", Recipients = [new ClaimedRecipient(1, "to", "b@example.com")] };
        var rejected = new RecipientRejection("b@example.com", 550, "no such user");
        var failure = new SendFailure(FailureKind.Transient, 451, "try later", false, [rejected]);

        var claimedMails = await store.ClaimAsync(10, TimeSpan.FromMinutes(5), holdTakenOver: true, Ct);
        Assert.Equal([false, true], claimedMails.Select(m => m.Expired));
        Assert.Equal("List-Unsubscribe: <https://example.com/u/1>", claimedMails[0].Headers);
        await store.MarkDataStartingAsync(mail, null, Ct);
        await store.ExtendLeaseAsync([mail], TimeSpan.FromMinutes(5), Ct);
        await store.MarkSentAsync([new SentMail(mail, new DeliveryResult(250, "ok", [rejected]))], Ct);
        await store.MarkRetryAsync(mail, failure, TimeSpan.FromSeconds(30), Ct);
        await store.MarkFailedAsync(mail, failure, Ct);
        await store.MarkUnconfirmedAsync(mail, failure, Ct);
        await store.MarkRetryAsync(mail, failure with { PartlyDelivered = true, SmtpCode = 250, Reply = "ok" }, TimeSpan.FromSeconds(30), Ct);
        await store.ReleaseAsync([mail], TimeSpan.Zero, "outage", null, Ct);
        await store.ReleaseAsync([mail], TimeSpan.Zero, "530 authentication required", 530, Ct);
        await (await store.OpenRawContentAsync(7, Ct)).DisposeAsync();

        var admin = new OutboxAdmin(database);
        await admin.StatusAsync(Ct);
        await admin.ListAsync(new MailFilter { Status = "failed" }, 20, Ct);
        await admin.ShowAsync(7, Ct);
        await Assert.ThrowsAsync<MailValidationException>(() => admin.RetryAsync(7, Ct));
        await admin.RetryAllAsync("failed", 2500, null, Ct);
        await admin.PurgeAsync(TimeSpan.FromDays(30), 1000, null, Ct);
        await admin.WorkersAsync(Ct);
        await store.ReadPausesAsync(Ct);
        var pauses = new PauseControl(database, "operator");
        await pauses.PauseAsync("bulk", "provider incident", Ct);
        await pauses.ResumeAsync(null, Ct);
        await pauses.ResumeAsync("bulk", Ct);
        await pauses.PausesAsync(Ct);
        var record = new WorkerRecord(database, "worker-1", TimeSpan.FromSeconds(10), TimeProvider.System);
        await record.PassAsync("sent 1, retry later 0, failed 0, not tried 0", "*", failed: false, Ct);
        await record.StoppedAsync(Ct);

        await using var connection = await source.OpenConnectionAsync(Ct);
        await using var attachment = new MemoryStream(new byte[(OracleDialect.PieceSize * OracleDialect.PiecesPerCall) + 5]);
        // Bodies past PL/SQL's 32767 bytes, in characters of two bytes: only a CLOB bind takes them.
        await new OutboxClient(database.Dialect).EnqueueAsync(connection, null, new MailRequest
        {
            Sender = "a@example.com",
            To = ["b@example.com"],
            Subject = "Bestätigung",
            TextBody = LongText,
            HtmlBody = "<p>" + LongText + "</p>",
            Attachments = [new MailAttachment { FileName = "r.pdf", Content = attachment, MimeType = "application/pdf" }],
            ExpiresAfter = TimeSpan.FromHours(2),
            Headers = [new MailHeader("List-Unsubscribe", "<https://example.com/u/1>")],
        }, Ct);

        var templates = new TemplateStore(database.Dialect);
        await templates.PutAsync(connection, new TemplateSource("order", "de", "Bestellung {{ id }}", LongText, "<p>" + LongText + "</p>"), "operator", Ct);
        await templates.ListAsync(connection, Ct);
        await templates.ShowAsync(connection, "order", Ct);
        await new OutboxClient(database.Dialect).EnqueueAsync(connection, null, new MailRequest
        {
            Sender = "a@example.com",
            To = ["b@example.com"],
            Template = "order",
            Locale = "de-CH",
            TemplateData = LongData,
        }, Ct);

        await new DatabaseCheck(database).RunAsync(Ct);
        await DatabaseIdentity.ReadAsync(database, Ct);
        await new DatabaseAdoption(database, "operator (outbox adopt)").AdoptAsync(cancelWaiting: true, Ct);
        var limiter = new DatabaseRateLimiter(database, "worker-1");
        var reservation = await limiter.ReserveAsync("primary", [new RateLimit { Messages = 10, Per = TimeSpan.FromMinutes(1) }, new RateLimit { Messages = 10_000, Per = TimeSpan.FromDays(1), CountBy = RateCount.Recipients }], 50, TimeSpan.FromMinutes(1), Ct);
        await limiter.ReleaseAsync(reservation, used: true, Ct);
        await limiter.ReleaseAsync(reservation, used: false, Ct);
        var slot = await limiter.TakeConnectionAsync("primary", 3, TimeSpan.FromMinutes(1), Ct);
        await limiter.RenewConnectionAsync(slot ?? 0, TimeSpan.FromMinutes(1), Ct);
        await limiter.ReleaseConnectionAsync(slot ?? 0, Ct);
        return source;
    }

    [Fact]
    public void Bind_markers_become_colons_but_addresses_and_casts_stay()
    {
        var dialect = new OracleDialect();

        Assert.Equal("select :Id, 'user@example.com', a.x from t where y = :Y_2\nand z", dialect.Sql("select @Id, 'user@example.com', a.x from t where y = @Y_2\r\nand z"));
    }

    [Fact]
    public void A_schema_qualifies_the_tables_and_a_bad_one_is_refused_naming_the_key()
    {
        Assert.Equal("OUTBOX.outbox_message", new OracleDialect("OUTBOX").Table("outbox_message"));
        Assert.Equal("outbox_message", new OracleDialect().Table("outbox_message"));

        var error = Assert.Throws<MailValidationException>(() => new OracleDialect("x; drop table y"));
        Assert.Equal("Outbox:Database:Schema", error.Field);
    }

    [Fact]
    public void Without_the_driver_the_oracle_provider_fails_with_one_line_saying_how_to_add_it()
    {
        Assert.SkipWhen(Type.GetType(OracleDialect.FactoryType, throwOnError: false) is not null,
            "This build has the Oracle driver (-p:WithOracle=true): its absence cannot be tested.");

        var error = Assert.Throws<MailValidationException>(() =>
            OutboxDatabase.Create(new DatabaseOptions { Provider = "oracle", ConnectionString = "User Id=outbox;Password=x;Data Source=localhost/FREEPDB1" }));

        Assert.Equal("Outbox:Database:Provider", error.Field);
        Assert.Contains("Oracle.ManagedDataAccess.Core", error.Message, StringComparison.Ordinal);
        Assert.Contains("-p:WithOracle=true", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public async Task The_loader_finds_a_driver_by_type_name_and_it_works()
    {
        var factory = ProviderFactoryLoader.Load("Microsoft.Data.Sqlite.SqliteFactory, Microsoft.Data.Sqlite", "sqlite", "Microsoft.Data.Sqlite", "n/a");

        Assert.Same(SqliteFactory.Instance, factory);
        await using var dataSource = factory.CreateDataSource("Data Source=:memory:");
        await using var command = dataSource.CreateCommand("select 6 * 7");
        Assert.Equal(42L, await command.ExecuteScalarAsync(Ct));
    }

    [Fact]
    public void A_type_that_is_not_a_provider_factory_is_refused()
    {
        var error = Assert.Throws<MailValidationException>(() =>
            ProviderFactoryLoader.Load("System.String", "x", "Some.Driver", "add it"));

        Assert.Contains("not a usable Some.Driver driver", error.Message, StringComparison.Ordinal);
    }
}
