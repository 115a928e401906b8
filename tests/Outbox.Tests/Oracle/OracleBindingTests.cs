using System.Data;
using System.Data.Common;
using Dapper;
using Outbox.Core.Messages;
using Outbox.Core.Templates;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Outbox.Storage.Dialects;
using Outbox.Storage.Templates;

namespace Outbox.Tests.Oracle;

/// <summary>
/// How the .NET side binds its values on Oracle, against the ODP.NET stand-in: bodies and
/// template data as CLOBs, every value within its column in bytes, IN lists within Oracle's
/// 1000. And the stand-in itself: each of its rules refuses what ODP.NET or the server would.
/// </summary>
public sealed class OracleBindingTests
{
    // Past PL/SQL's 32767 bytes (42,000 bytes in 36,000 characters): only a CLOB bind takes it.
    private static readonly string LongText = string.Concat(Enumerable.Repeat("Grüße ", 6000));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Outbox_client_binds_the_bodies_and_template_data_as_clobs()
    {
        var source = new OdpStandIn();
        await using var connection = await source.OpenConnectionAsync(Ct);
        var client = new OutboxClient(new OracleDialect("OUTBOX"));

        await client.EnqueueAsync(connection, null, new MailRequest { Sender = "a@example.com", To = ["b@example.com"], Subject = "s", TextBody = LongText, HtmlBody = LongText }, Ct);
        await client.EnqueueAsync(connection, null, new MailRequest { Sender = "a@example.com", To = ["b@example.com"], Template = "order", TemplateData = "{\"note\": \"" + LongText + "\"}" }, Ct);

        var created = Bound("OUTBOX.outbox_mail.create_mail(", source);
        Assert.Equal(2, created.Count);
        Assert.All(created, bound => Assert.Equal(OdpStandIn.OdpDbType.Clob, bound.Single(p => p.Name == "TextBody").OracleDbType));
        Assert.All(created, bound => Assert.Equal(OdpStandIn.OdpDbType.Clob, bound.Single(p => p.Name == "HtmlBody").OracleDbType));
        Assert.Equal(OdpStandIn.OdpDbType.Clob, Assert.Single(Bound("OUTBOX.outbox_mail.set_template(", source)).Single(p => p.Name == "Data").OracleDbType);
    }

    // An application needs only OUTBOX_SENDER: every write goes through the package, which checks
    // it and records the session user as the mail's owner. An attachment of 1 MB and 5 bytes goes
    // in two round trips of at most 32 pieces, each within PL/SQL's RAW.
    [Fact]
    public async Task Outbox_client_writes_through_the_outbox_mail_package_only_and_streams_attachments_in_pieces()
    {
        var source = new OdpStandIn();
        await using var connection = await source.OpenConnectionAsync(Ct);
        var bytes = Enumerable.Range(0, (OracleDialect.PieceSize * OracleDialect.PiecesPerCall) + 5).Select(i => (byte)(i * 7)).ToArray();

        var id = await new OutboxClient(new OracleDialect()).EnqueueAsync(connection, null, new MailRequest
        {
            Sender = "a@example.com",
            To = ["b@example.com"],
            Cc = ["c@example.com"],
            Bcc = ["d@example.com"],
            Subject = "report",
            SendAfter = DateTimeOffset.UtcNow.AddHours(1),
            ExpiresAfter = TimeSpan.FromDays(2),
            Attachments = [new MailAttachment { FileName = "r.pdf", Content = new MemoryStream(bytes), MimeType = "application/pdf", Inline = true }],
        }, Ct);

        Assert.Equal(1, id);
        Assert.All(source.Commands, command => Assert.True(
            command.StartsWith("savepoint ", StringComparison.Ordinal) || command.TrimStart().StartsWith("begin", StringComparison.Ordinal) && command.Contains("outbox_mail.", StringComparison.Ordinal),
            command));
        Assert.DoesNotContain(source.Commands, command => command.Contains("insert into", StringComparison.OrdinalIgnoreCase));
        // TIMESTAMP WITH TIME ZONE parameters get a DateTimeOffset (a DateTime would be read in the
        // session's time zone); the interval a TimeSpan.
        var created = Assert.Single(Bound("outbox_mail.create_mail(", source));
        Assert.IsType<DateTimeOffset>(created.Single(p => p.Name == "SendAfter").Value);
        Assert.Equal(TimeSpan.FromDays(2), created.Single(p => p.Name == "ExpiresAfter").Value);
        Assert.Equal(["to", "cc", "bcc"], Bound("outbox_mail.add_recipient(", source).Select(bound => (string)bound.Single(p => p.Name == "Kind").Value!));
        var opened = Assert.Single(Bound("outbox_mail.open_attachment(", source));
        Assert.Equal(1, opened.Single(p => p.Name == "Inline").Value);
        var writes = Bound("outbox_mail.write_attachment(", source);
        Assert.Equal(2, writes.Count);
        Assert.All(writes, bound => Assert.All(bound.Where(p => p.Name.StartsWith("Piece", StringComparison.Ordinal)), p => Assert.True(((byte[])p.Value!).Length <= 32767)));
        // Each write names the id OPEN_ATTACHMENT gave back (the stand-in's second id), not the mail's.
        Assert.All(writes, bound => Assert.Equal(2L, bound.Single(p => p.Name == "Id").Value));
        Assert.Equal(bytes, writes.SelectMany(bound => bound.Where(p => p.Name.StartsWith("Piece", StringComparison.Ordinal))
            .OrderBy(p => int.Parse(p.Name["Piece".Length..], System.Globalization.CultureInfo.InvariantCulture)).SelectMany(p => (byte[])p.Value!)).ToArray());
        Assert.Contains("outbox_mail.enqueue(", source.Commands[^1], StringComparison.Ordinal);
    }

    // OUTBOX_MAIL raises -20001 with "recipient: …"; the client names the list the address came
    // from, as its own checks do, and undoes the half-made mail without ending the caller's
    // transaction.
    [Fact]
    public async Task A_refusal_of_the_package_names_the_field_and_rolls_back_only_the_mail()
    {
        var source = new OdpStandIn
        {
            Fail = text => text.Contains("add_recipient", StringComparison.Ordinal)
                ? new OdpStandIn.OdpException("ORA-20001: recipient: \"c@example.com\" is not allowed here. Ask the DBA.\nORA-06512: at \"OUTBOX.OUTBOX_MAIL\", line 18\nORA-06512: at line 1")
                : null,
        };
        await using var connection = await source.OpenConnectionAsync(Ct);
        await using var transaction = await connection.BeginTransactionAsync(Ct);

        var error = await Assert.ThrowsAsync<MailValidationException>(() => new OutboxClient(new OracleDialect()).EnqueueAsync(connection, transaction, new MailRequest
        {
            Sender = "a@example.com",
            Cc = ["c@example.com"],
            Subject = "s",
        }, Ct));

        Assert.Equal("cc", error.Field);
        Assert.Equal("cc: \"c@example.com\" is not allowed here. Ask the DBA", error.Message);
        Assert.Equal("savepoint outbox_enqueue", source.Commands[0]);
        Assert.Equal("rollback to savepoint outbox_enqueue", source.Commands[^1]);
    }

    // OUTBOX_SENDER reads its own mails through MAIL_STATUS / MAIL_RECIPIENTS: their cursors come
    // back as implicit results, with Oracle's upper-case column names, NUMBERs as decimal and the
    // UTC TIMESTAMPs as DateTime.
    [Fact]
    public async Task Outbox_client_reads_a_mails_state_through_the_package()
    {
        var source = new OdpStandIn
        {
            Answer = text => text.Contains("outbox_mail.mail_status(mail_id => :Id)", StringComparison.Ordinal)
                ? Rows(["ID", "STATUS", "CREATED_AT", "QUEUED_AT", "SENT_AT", "ATTEMPT_COUNT", "LAST_ATTEMPT_AT", "SMTP_CODE", "SMTP_REPLY", "LAST_ERROR", "EXPIRES_AT"],
                    [42m, "sent", new DateTime(2026, 12, 3, 9, 30, 0, 125), new DateTime(2026, 12, 3, 9, 30, 1), new DateTime(2026, 12, 3, 9, 30, 2), 1m, new DateTime(2026, 12, 3, 9, 30, 2), 250m, "2.0.0 Ok", DBNull.Value, new DateTime(2026, 12, 4, 9, 0, 0)])
                : text.Contains("outbox_mail.mail_recipients(mail_id => :Id)", StringComparison.Ordinal)
                    ? Rows(["KIND", "ADDRESS", "STATUS", "SMTP_REPLY"], ["to", "b@example.com", "accepted", "2.1.5 Ok"], ["bcc", "c@example.com", DBNull.Value, DBNull.Value])
                    : null,
        };
        await using var connection = await source.OpenConnectionAsync(Ct);

        var state = await new OutboxClient(new OracleDialect("OUTBOX")).StateAsync(connection, 42, cancellationToken: Ct);

        Assert.NotNull(state);
        Assert.Equal((42L, "sent", "2026-12-03T09:30:00.125Z", "2026-12-03T09:30:02.000Z", 1, 250, "2.0.0 Ok", (string?)null),
            (state.Id, state.Status, state.CreatedAt, state.SentAt, state.AttemptCount, state.SmtpCode, state.SmtpReply, state.LastError));
        Assert.Equal("2026-12-04T09:00:00.000Z", state.ExpiresAt);
        Assert.Equal([("to", "b@example.com", "accepted"), ("bcc", "c@example.com", null)], state.Recipients.Select(r => (r.Kind, r.Address, r.Status)));
        Assert.All(source.Commands, command => Assert.Contains("OUTBOX.outbox_mail.mail_", command, StringComparison.Ordinal));

        // Another user's mail, or none: the package's cursor is empty.
        await using var other = await new OdpStandIn().OpenConnectionAsync(Ct);
        Assert.Null(await new OutboxClient(new OracleDialect("OUTBOX")).StateAsync(other, 43, cancellationToken: Ct));
    }

    private static DataTable Rows(string[] columns, params object[][] rows)
    {
        var table = new DataTable();
        foreach (var (column, i) in columns.Select((c, i) => (c, i)))
        {
            table.Columns.Add(column, rows.Select(r => r[i]).FirstOrDefault(v => v is not DBNull)?.GetType() ?? typeof(string));
        }

        foreach (var row in rows)
        {
            table.Rows.Add(row);
        }

        return table;
    }

    private static List<IReadOnlyList<OdpStandIn.OdpParameter>> Bound(string call, OdpStandIn source) =>
        source.Bindings.Where((_, i) => source.Commands[i].Contains(call, StringComparison.Ordinal)).ToList();

    [Fact]
    public async Task Template_put_binds_the_bodies_as_clobs()
    {
        var source = new OdpStandIn();
        await using var connection = await source.OpenConnectionAsync(Ct);

        await new TemplateStore(new OracleDialect()).PutAsync(connection, new TemplateSource("order", null, "Order {{ id }}", LongText, LongText), "operator", Ct);

        var update = source.Bindings[source.Commands.FindIndex(c => c.StartsWith("update outbox_template", StringComparison.Ordinal))];
        Assert.Equal(OdpStandIn.OdpDbType.Clob, update.Single(p => p.Name == "TextBody").OracleDbType);
        Assert.Equal(OdpStandIn.OdpDbType.Clob, update.Single(p => p.Name == "HtmlBody").OracleDbType);
    }

    // As OUTBOX_MAIL raises -20005: a subject of 1,500 CJK characters is within 2000 characters
    // but 4,500 bytes, more than any VARCHAR2 column holds; refused by name, not by ORA-12899.
    [Theory]
    [InlineData("subject", 1500, 3, 2000)]
    [InlineData("subject", 667, 3, 2000)]
    [InlineData("to", 400, 3, 1000)]
    [InlineData("filename", 501, 2, 1000)]
    public async Task A_value_longer_in_bytes_than_its_oracle_column_allows_is_refused_naming_the_field(string field, int characters, int bytesEach, int max)
    {
        var source = new OdpStandIn();
        await using var connection = await source.OpenConnectionAsync(Ct);
        var wide = new string(bytesEach == 3 ? '漢' : 'é', characters);
        var request = new MailRequest
        {
            Sender = "a@example.com",
            To = [field == "to" ? wide + "@example.com" : "b@example.com"],
            Subject = field == "subject" ? wide : "s",
            Attachments = field == "filename" ? [new MailAttachment { FileName = wide, Content = new MemoryStream([1]), MimeType = "application/pdf" }] : [],
        };
        var bytes = System.Text.Encoding.UTF8.GetByteCount(field == "to" ? wide + "@example.com" : wide);

        var error = await Assert.ThrowsAsync<MailValidationException>(() => new OutboxClient(new OracleDialect()).EnqueueAsync(connection, null, request, Ct));

        Assert.Equal(field, error.Field);
        Assert.StartsWith($"{field}: is {bytes} bytes, more than the {max} allowed", error.Message, StringComparison.Ordinal);
        Assert.Empty(source.Commands);
    }

    // 700 CJK characters are within a template's 1000 but 2,100 bytes: OUTBOX_MAIL would refuse
    // every mail made from it (-20005), so the template is refused when it is put.
    [Fact]
    public async Task A_template_subject_longer_in_bytes_than_a_mails_is_refused_when_put()
    {
        var source = new OdpStandIn();
        await using var connection = await source.OpenConnectionAsync(Ct);

        var error = await Assert.ThrowsAsync<MailValidationException>(() =>
            new TemplateStore(new OracleDialect()).PutAsync(connection, new TemplateSource("order", null, new string('漢', 700), "t", null), "operator", Ct));

        Assert.Equal("subject", error.Field);
        Assert.StartsWith("subject: is 2100 bytes, more than the 2000 allowed", error.Message, StringComparison.Ordinal);
        Assert.Empty(source.Commands);
    }

    [Fact]
    public async Task Retry_of_more_mails_than_an_in_list_holds_binds_them_in_lists_of_at_most_1000()
    {
        var batches = 0;
        var source = new OdpStandIn
        {
            Answer = text => text.StartsWith("select m.id, case when m.expires_at", StringComparison.Ordinal) ? Ids(batches++ == 0 ? 2500 : 0, expired: 0) : null,
        };
        await using var database = new OutboxDatabase(new OracleDialect(), source);

        await new OutboxAdmin(database).RetryAllAsync("failed", 2500, null, Ct);

        // The queueing UPDATE, in the PL/SQL block that returns the ids it changed.
        static bool Queues(string command) => command.Contains("update outbox_message\n   set status = 'queued'", StringComparison.Ordinal);
        var updates = source.Commands.Where(Queues).ToList();
        Assert.Equal(3, updates.Count);
        var ids = source.Bindings.Where((_, i) => Queues(source.Commands[i]))
            .SelectMany(bound => bound.Where(p => p.Name.StartsWith("Ids", StringComparison.Ordinal)).Select(p => (long)p.Value!)).ToList();
        Assert.Equal(Enumerable.Range(1, 2500).Select(i => (long)i), ids);
    }

    // Each rule of the stand-in, broken once: it must refuse, or the tests above prove nothing.
    public static TheoryData<string, string, object?, string> Refused => new()
    {
        { "a wrapper object", "update outbox_message set text_body = :V where id = 1", new Uri("https://example.com"), "Value does not fall within the expected range" },
        { "a long string in SQL", "update outbox_message set last_error = :V where id = 1", new string('x', 4001), "ORA-01461" },
        { "a long string in PL/SQL", "begin update outbox_message set last_error = :V where id = 1; end;", new string('x', 32768), "ORA-06502" },
        { "a string into a CLOB without OracleDbType.Clob", "update outbox_message set text_body = :V where id = 1", "short", "bind it with OracleDbType.Clob" },
        { "a value over its column's bytes", "begin update outbox_message set subject = :V where id = 1; end;", new string('漢', 1400), "ORA-12899" },
        { "a value over its column's characters", "update outbox_message set subject = :V where id = 1", new string('s', 2001), "ORA-12899" },
        { "a column the scripts do not make", "update outbox_message set no_such_column = :V where id = 1", "x", "ORA-00904" },
        { "a table the scripts do not make", "update outbox_messages set status = :V where id = 1", "x", "ORA-00942" },
        { "a bind the statement lacks", "update outbox_message set status = 'x' where id = 1", "x", "ORA-01036" },
        { "a statement bind without a value", "update outbox_message set status = :V where id = :Other", "x", "ORA-01008" },
        { "a package subprogram the specification lacks", "begin outbox_mail.no_such_call(mail_id => :V); end;", 1L, "PLS-00302" },
        { "an argument name no overload has", "begin outbox_mail.enqueue(mail => :V); end;", 1L, "PLS-00306" },
        { "a parameter without a default left out", "begin outbox_mail.add_recipient(mail_id => :V); end;", 1L, "PLS-00306" },
        { "an IN list of 1001", "delete from outbox_message where id in (" + string.Join(", ", Enumerable.Range(1, 1001).Select(i => $":V{i}")) + ")", 1L, "ORA-01795" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task The_stand_in_refuses_what_odp_net_or_the_server_would(string what, string statement, object? value, string expected)
    {
        var source = new OdpStandIn();
        await using var connection = await source.OpenConnectionAsync(Ct);
        await using var command = (OdpStandIn.OdpCommand)connection.CreateCommand();
        command.CommandText = statement;
        command.BindByName = true;
        var names = statement.Contains(":V1,", StringComparison.Ordinal) ? Enumerable.Range(1, 1001).Select(i => $"V{i}") : ["V"];
        foreach (var name in names)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        var error = await Assert.ThrowsAnyAsync<Exception>(() => command.ExecuteNonQueryAsync(Ct));

        Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), $"{what}: {error.Message}");
        Assert.Empty(source.Commands);
    }

    [Fact]
    public async Task The_stand_in_binds_by_position_unless_told_by_name()
    {
        var source = new OdpStandIn();
        await using var connection = await source.OpenConnectionAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "update outbox_message set status = :S where id = :Id";
        foreach (var (name, value) in new (string, object)[] { ("Id", 1L), ("S", "queued") })
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => command.ExecuteNonQueryAsync(Ct));

        Assert.Contains("BindByName", error.Message, StringComparison.Ordinal);
        await connection.ExecuteAsync(new CommandDefinition(command.CommandText, new { Id = 1L, S = "queued" }, cancellationToken: Ct));
        Assert.Single(source.Commands);
    }

    [Fact]
    public async Task The_stand_in_takes_a_clob_as_odp_net_does()
    {
        var source = new OdpStandIn();
        await using var connection = await source.OpenConnectionAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "update outbox_message set text_body = :V where id = 1";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "V";
        parameter.Value = LongText;
        ((OdpStandIn.OdpParameter)parameter).OracleDbType = OdpStandIn.OdpDbType.Clob;
        command.Parameters.Add(parameter);

        await command.ExecuteNonQueryAsync(Ct);

        Assert.Single(source.Commands);
    }

    private static DataTable Ids(int count, decimal? expired = null)
    {
        var table = new DataTable();
        table.Columns.Add("id", typeof(long));
        if (expired is not null)
        {
            // As ODP.NET gives a NUMBER: a decimal.
            table.Columns.Add("expired", typeof(decimal));
        }

        foreach (var id in Enumerable.Range(1, count))
        {
            table.Rows.Add(expired is null ? [(long)id] : [(long)id, expired.Value]);
        }

        return table;
    }
}
