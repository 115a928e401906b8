using Dapper;
using Npgsql;
using Outbox.Core.Messages;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// A login role granted only outbox_sender reads what became of its own mails through the API
/// (status, attempts, last error, each recipient's state and reply), and nothing of another role's;
/// it enqueues with OutboxClient through the same API, needing no other grant.
/// </summary>
public sealed class OwnMailStatusTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<NpgsqlConnection> SenderAsync(TestOutbox outbox)
    {
        var connection = new NpgsqlConnection(outbox.As(await outbox.LoginAsync("outbox_sender", "app")));
        await connection.OpenAsync(Ct);
        return connection;
    }

    [Fact]
    public async Task A_sender_reads_its_own_mails_state_and_recipients_and_not_another_roles()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var shop = await SenderAsync(outbox);
        await using var hr = await SenderAsync(outbox);
        var mine = await shop.ExecuteScalarAsync<long>("select outbox_mail.send('shop@example.com', 'a@example.com, b@example.com', subject => 'order')");
        var theirs = await hr.ExecuteScalarAsync<long>("select outbox_mail.send('hr@example.com', 'boss@example.com', subject => 'payroll')");
        // As the worker would record a failure.
        await outbox.ExecuteAsync("update outbox.outbox_message set status = 'failed', attempt_count = 1, smtp_code = 550, last_error = 'b refused' where id = @mine", new { mine });
        await outbox.ExecuteAsync("update outbox.outbox_recipient set status = case when address like 'a@%' then 'accepted' else 'rejected' end, smtp_reply = '550 no such user' where message_id = @mine", new { mine });

        var status = await shop.QuerySingleAsync<(long Id, string Status, int Attempts, int? Code, string? Error)>(
            "select id, status, attempt_count, smtp_code, last_error from outbox_mail.mail_status(@mine)", new { mine });
        var recipients = (await shop.QueryAsync<(string Address, string? Status)>("select address, status from outbox_mail.mail_recipients(@mine)", new { mine })).ToList();

        Assert.Equal((mine, "failed", 1, (int?)550, (string?)"b refused"), status);
        Assert.Equal([("a@example.com", (string?)"accepted"), ("b@example.com", "rejected")], recipients);
        Assert.Empty(await shop.QueryAsync("select * from outbox_mail.mail_status(@theirs)", new { theirs }));
        Assert.Empty(await shop.QueryAsync("select * from outbox_mail.mail_recipients(@theirs)", new { theirs }));
        Assert.Equal(theirs, await hr.ExecuteScalarAsync<long>("select id from outbox_mail.mail_status(outbox_mail.last_mail_id())"));
        // The tables themselves stay closed to the role.
        var denied = await Assert.ThrowsAsync<PostgresException>(() => shop.ExecuteAsync("select * from outbox.outbox_message"));
        Assert.Equal("42501", denied.SqlState);
    }

    [Fact]
    public async Task A_sender_only_role_enqueues_with_OutboxClient_and_the_worker_sends_it_whole()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("insert into outbox.outbox_template (name, subject, text_body) values ('receipt', 'Order {{ order }}', 'Thanks for order {{ order }}')");
        await using var smtp = TestSmtpServer.Start();
        await using var shop = await SenderAsync(outbox);
        var client = OutboxClient.For(shop);
        var pdf = new byte[3 * 1024 * 1024];
        Random.Shared.NextBytes(pdf);

        long plain, templated;
        await using (var tx = await shop.BeginTransactionAsync(Ct))
        {
            plain = await client.EnqueueAsync(shop, tx, new MailRequest
            {
                Sender = "shop@example.com", To = ["a@example.com"], Cc = ["\"Doe, Jane\" <jane@example.com>"], Bcc = ["audit@example.com"],
                Subject = "Invoice", TextBody = "attached", Priority = 1,
                Attachments = [new MailAttachment { FileName = "invoice.pdf", Content = new MemoryStream(pdf), MimeType = "application/pdf" }],
            }, Ct);
            templated = await client.EnqueueAsync(shop, tx, new MailRequest
            {
                Sender = "shop@example.com", To = ["b@example.com"], Template = "receipt", TemplateData = """{"order": 42}""",
            }, Ct);
            await tx.CommitAsync(Ct);
        }

        Assert.Equal(2, (await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct)).Sent);
        var received = smtp.Received.Select(m => (m.To, Message: MimeKit.MimeMessage.Load(new MemoryStream(m.Data), Ct))).ToList();
        var invoice = received.Single(m => m.Message.Subject == "Invoice");
        Assert.Equal(["a@example.com", "jane@example.com", "audit@example.com"], invoice.To);
        using var content = new MemoryStream();
        ((MimeKit.MimePart)invoice.Message.Attachments.Single()).Content!.DecodeTo(content, Ct);
        Assert.Equal(pdf, content.ToArray());
        Assert.Contains(received, m => m.Message.Subject == "Order 42" && (m.Message.TextBody ?? "").Contains("Thanks for order 42", StringComparison.Ordinal));
        var owner = await outbox.QueryAsync<string>("select distinct created_by from outbox.outbox_message");
        Assert.Equal([shop.UserName!], owner);

        var state = await client.StateAsync(shop, plain, cancellationToken: Ct);
        Assert.NotNull(state);
        Assert.Equal(("sent", 250), (state.Status, state.SmtpCode));
        Assert.All(state.Recipients, r => Assert.Equal("accepted", r.Status));
        Assert.Equal(["to", "cc", "bcc"], state.Recipients.Select(r => r.Kind));
        Assert.NotNull(await client.StateAsync(shop, templated, cancellationToken: Ct));
    }

    [Fact]
    public async Task OutboxClient_reads_no_other_roles_mail_and_names_the_field_the_database_refused()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var shop = await SenderAsync(outbox);
        await using var hr = await SenderAsync(outbox);
        var theirs = await hr.ExecuteScalarAsync<long>("select outbox_mail.send('hr@example.com', 'boss@example.com', subject => 'payroll')");

        Assert.Null(await OutboxClient.For(shop).StateAsync(shop, theirs, cancellationToken: Ct));
        var refused = await Assert.ThrowsAsync<MailValidationException>(() => OutboxClient.For(shop).EnqueueAsync(shop, null, new MailRequest
        {
            Sender = "shop@example.com", To = ["a@example.com"],
            Attachments = [new MailAttachment { FileName = "setup.exe", Content = new MemoryStream([1, 2]) }],
        }, Ct));
        Assert.Equal("filename", refused.Field);
        Assert.Equal(1L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message"));
    }

    [Fact]
    public async Task Last_mail_id_names_only_a_mail_of_the_calling_role()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var shop = await SenderAsync(outbox);
        await using var hr = await SenderAsync(outbox);
        var theirs = await hr.ExecuteScalarAsync<long>("select outbox_mail.send('hr@example.com', 'boss@example.com', subject => 'payroll')");

        await shop.ExecuteAsync($"set outbox.last_mail_id = '{theirs}'");
        Assert.Null(await shop.ExecuteScalarAsync<long?>("select outbox_mail.last_mail_id()"));
        await shop.ExecuteAsync("set outbox.last_mail_id = 'not a number'");
        Assert.Null(await shop.ExecuteScalarAsync<long?>("select outbox_mail.last_mail_id()"));
        Assert.Equal(theirs, await hr.ExecuteScalarAsync<long>("select outbox_mail.last_mail_id()"));
    }

    [Fact]
    public async Task A_refused_mail_leaves_the_callers_transaction_usable()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("create table public.app_order (id int primary key); grant insert, select on public.app_order to public");
        await using var shop = await SenderAsync(outbox);

        await using (var tx = await shop.BeginTransactionAsync(Ct))
        {
            await shop.ExecuteAsync("insert into public.app_order values (1)", transaction: tx);
            await Assert.ThrowsAsync<MailValidationException>(() => OutboxClient.For(shop).EnqueueAsync(shop, tx, new MailRequest
            {
                Sender = "shop@example.com", To = ["a@example.com"],
                Attachments = [new MailAttachment { FileName = "setup.exe", Content = new MemoryStream([1, 2]) }],
            }, Ct));
            await shop.ExecuteAsync("insert into public.app_order values (2)", transaction: tx);
            await OutboxClient.For(shop).EnqueueAsync(shop, tx, new MailRequest { Sender = "shop@example.com", To = ["a@example.com"], Subject = "kept" }, Ct);
            await tx.CommitAsync(Ct);
        }

        Assert.Equal([1, 2], await outbox.QueryAsync<int>("select id from public.app_order order by id"));
        Assert.Equal(["kept"], await outbox.QueryAsync<string>("select subject from outbox.outbox_message"));
    }
}
