using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using Outbox.Core.Messages;
using Outbox.Core.Sending;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>What happens when SMTP itself cannot say whether a mail arrived, and other server faults.</summary>
public sealed class DeliveryGuaranteeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<long> EnqueueAsync(TestOutbox outbox, string subject = "test", string? body = "body")
    {
        return await outbox.EnqueueAsync(new MailRequest
        {
            Sender = "app@example.com",
            To = ["to@example.com"],
            Subject = subject,
            TextBody = body,
        });
    }

    private static Core.Dispatch.DispatchOptions SlowRetries() =>
        TestOutbox.FastRetries(o => o.RetryBaseDelay = o.RetryMaxDelay = TimeSpan.FromHours(1));

    [Fact]
    public async Task Reply_lost_after_the_data_is_resent_by_default_with_the_same_message_id()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var server = ScriptedSmtpServer.Start(step => step is { Phase: "dot", Message: 0 } ? SmtpFault.Drop : null);
        var id = await EnqueueAsync(outbox);
        var dispatcher = outbox.SmtpDispatcher(server.Options(), SlowRetries());

        var first = await dispatcher.DispatchDueAsync(Ct);
        Assert.Equal(1, first.Retried);
        await outbox.AssertStatusAsync(id, "queued");
        var attempt = (await outbox.QueryAsync<(string Outcome, string Error)>("select outcome, error from outbox_attempt where message_id = @id", new { id })).Single();
        Assert.Equal("unconfirmed", attempt.Outcome);
        Assert.Contains("may have accepted it", attempt.Error, StringComparison.Ordinal);

        await outbox.MakeDueAsync(id);
        Assert.Equal(1, (await dispatcher.DispatchDueAsync(Ct)).Sent);
        var copies = server.Received.Select(m => MimeMessage.Load(new MemoryStream(System.Text.Encoding.Latin1.GetBytes(m.Data)), Ct).MessageId).ToList();
        Assert.Equal(2, copies.Count);
        Assert.Single(copies.Distinct());
    }

    [Fact]
    public async Task Reply_lost_after_a_mail_with_attachments_is_told_from_a_drop_mid_data()
    {
        // The worker measures such a mail from the stored attachment lengths instead of encoding
        // it twice: the measure must still say "the whole message was written".
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var server = ScriptedSmtpServer.Start(step => step.Phase == "dot" ? SmtpFault.Drop : null);
        var id = await outbox.EnqueueAsync(new MailRequest
        {
            Sender = "app@example.com",
            To = ["to@example.com"],
            TextBody = "two attachments",
            Attachments =
            [
                new MailAttachment { FileName = "report.pdf", Content = new PatternStream(300_001) },
                new MailAttachment { FileName = "logo.png", ContentId = "logo", Content = new PatternStream(4_000) },
            ],
        });

        var summary = await outbox.SmtpDispatcher(server.Options(o => o.LostReplyPolicy = LostReplyPolicy.Hold), SlowRetries()).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Unconfirmed);
        await outbox.AssertStatusAsync(id, "unconfirmed");
    }

    [Fact]
    public async Task When_outcomes_cannot_be_written_every_lane_stops_and_hands_its_untried_mails_back()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        // 20 ms a mail: the lanes would need about 200 ms for all of them, against the moment
        // it takes the recorder to fail.
        await using var server = ScriptedSmtpServer.Start(step => step.Phase == "dot" ? SmtpFault.Delay(TimeSpan.FromMilliseconds(20)) : null);
        for (var i = 0; i < 30; i++)
        {
            await EnqueueAsync(outbox, $"mail {i}");
        }

        var store = new SentWritesFail(new OutboxStore(outbox.Database, "test-worker"));
        var dispatcher = new Core.Dispatch.Dispatcher(store, new SmtpTransport(server.Options(), NullLogger<SmtpTransport>.Instance),
            TestOutbox.FastRetries(o => o.Connections = 3), TimeProvider.System, NullLogger<Core.Dispatch.Dispatcher>.Instance);

        var error = await Assert.ThrowsAsync<Core.Dispatch.OutcomesNotRecordedException>(() => dispatcher.DispatchDueAsync(Ct));

        Assert.Contains("disk full", error.Message, StringComparison.Ordinal);
        var received = server.Received.Count;
        Assert.InRange(received, 1, 29);
        // Every mail the server has is still leased, its outcome kept by the worker (those the
        // server accepted after the failed write too); every other mail is queued again.
        var statuses = (await outbox.QueryAsync<(string Status, long Count)>("select status, count(*) from outbox_message group by status")).ToDictionary(r => r.Status, r => r.Count);
        Assert.Equal(new Dictionary<string, long> { ["sending"] = received, ["queued"] = 30 - received }, statuses);

        // The database takes writes again: the next pass records what the server has before it
        // sends anything, and nothing goes out twice.
        store.Fails = false;
        var next = await dispatcher.DispatchDueAsync(Ct);

        Assert.Equal(30 - received, next.Sent);
        Assert.Equal(30L, await outbox.ScalarAsync<long>("select count(*) from outbox_message where status = 'sent'"));
        Assert.Equal(30, server.Received.Count);
        Assert.Equal(30, server.Received.Select(m => MimeMessage.Load(new MemoryStream(System.Text.Encoding.Latin1.GetBytes(m.Data)), Ct).Subject).Distinct().Count());
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox_attempt where outcome <> 'sent'"));
    }

    /// <summary>The real store, except that recording sent mails fails as a full disk would, until told otherwise.</summary>
    private sealed class SentWritesFail(OutboxStore store) : Core.Dispatch.IDispatchStore
    {
        public bool Fails { get; set; } = true;

        public IMessageContentSource Content => store.Content;

        public Task<IReadOnlyList<ClaimedMessage>> ClaimAsync(int batchSize, TimeSpan lease, bool holdTakenOver, CancellationToken cancellationToken) => store.ClaimAsync(batchSize, lease, holdTakenOver, cancellationToken);

        public Task<int> ExtendLeaseAsync(IReadOnlyList<ClaimedMessage> messages, TimeSpan lease, CancellationToken cancellationToken) => store.ExtendLeaseAsync(messages, lease, cancellationToken);

        public Task<Core.Dispatch.DataStart> MarkDataStartingAsync(ClaimedMessage message, string? renderedSubject, CancellationToken cancellationToken) => store.MarkDataStartingAsync(message, renderedSubject, cancellationToken);

        public Task MarkSentAsync(IReadOnlyList<Core.Dispatch.SentMail> sent, CancellationToken cancellationToken) =>
            Fails ? Task.FromException(new IOException("disk full")) : store.MarkSentAsync(sent, cancellationToken);

        /// <summary>Recording a retry or an unconfirmed mail fails as a full disk would, until told otherwise.</summary>
        public bool OutcomeFails { get; set; }

        public Task<bool> MarkRetryAsync(ClaimedMessage message, Core.Dispatch.SendFailure failure, TimeSpan delay, CancellationToken cancellationToken) =>
            OutcomeFails ? Task.FromException<bool>(new IOException("disk full")) : store.MarkRetryAsync(message, failure, delay, cancellationToken);

        public Task MarkUnconfirmedAsync(ClaimedMessage message, Core.Dispatch.SendFailure failure, CancellationToken cancellationToken) =>
            OutcomeFails ? Task.FromException(new IOException("disk full")) : store.MarkUnconfirmedAsync(message, failure, cancellationToken);

        public Task MarkFailedAsync(ClaimedMessage message, Core.Dispatch.SendFailure failure, CancellationToken cancellationToken) => store.MarkFailedAsync(message, failure, cancellationToken);

        public Task<IReadOnlyList<Core.Dispatch.Pause>> ReadPausesAsync(CancellationToken cancellationToken) => store.ReadPausesAsync(cancellationToken);

        /// <summary>Handing mails back fails as a full disk would, until told otherwise.</summary>
        public bool ReleaseFails { get; set; }

        public Task ReleaseAsync(IReadOnlyList<ClaimedMessage> messages, TimeSpan delay, string? reason, int? smtpCode, CancellationToken cancellationToken) =>
            ReleaseFails ? Task.FromException(new IOException("disk full")) : store.ReleaseAsync(messages, delay, reason, smtpCode, cancellationToken);
    }

    [Theory]
    [InlineData(LostReplyPolicy.Hold, "unconfirmed", "unconfirmed")]
    [InlineData(LostReplyPolicy.Resend, "queued", "unconfirmed")]
    public async Task A_lost_reply_the_database_did_not_take_is_recorded_by_this_worker_on_the_next_pass(LostReplyPolicy policy, string status, string outcome)
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var server = ScriptedSmtpServer.Start(step => step is { Phase: "dot", Message: 0 } ? SmtpFault.Drop : null);
        var id = await EnqueueAsync(outbox);
        var store = new SentWritesFail(new OutboxStore(outbox.Database, "test-worker")) { Fails = false, OutcomeFails = true };
        var options = server.Options();
        options.LostReplyPolicy = policy;
        var dispatcher = new Core.Dispatch.Dispatcher(store, new SmtpTransport(options, NullLogger<SmtpTransport>.Instance),
            TestOutbox.FastRetries(o => o.RetryBaseDelay = o.RetryMaxDelay = TimeSpan.FromHours(1)), TimeProvider.System, NullLogger<Core.Dispatch.Dispatcher>.Instance);

        await Assert.ThrowsAsync<IOException>(() => dispatcher.DispatchDueAsync(Ct));
        await outbox.AssertStatusAsync(id, "sending");

        // The database takes writes again: this worker says what happened (a lost reply), before
        // the lease ends and a take-over would record the mail as left by a worker that died.
        store.OutcomeFails = false;
        await dispatcher.DispatchDueAsync(Ct);

        await outbox.AssertStatusAsync(id, status);
        var attempt = (await outbox.QueryAsync<(string Outcome, string Worker, string Error)>("select outcome, worker, error from outbox_attempt where message_id = @id", new { id })).Single();
        Assert.Equal((outcome, "test-worker"), (attempt.Outcome, attempt.Worker));
        Assert.Contains("may have accepted it", attempt.Error, StringComparison.Ordinal);
        Assert.Single(server.Received);
    }

    [Fact]
    public async Task A_hand_back_the_database_did_not_take_is_made_first_on_the_next_pass()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        for (var i = 0; i < 5; i++)
        {
            await EnqueueAsync(outbox, $"mail {i}");
        }

        // No server listens: the lane hands the batch back, and that write fails.
        var nobody = new SmtpOptions { Host = "127.0.0.1", Port = LoopbackPort.Free(), Security = SmtpSecurity.None, AllowInsecure = true };
        var store = new SentWritesFail(new OutboxStore(outbox.Database, "test-worker")) { Fails = false, ReleaseFails = true };
        var dispatcher = new Core.Dispatch.Dispatcher(store, new SmtpTransport(nobody, NullLogger<SmtpTransport>.Instance),
            TestOutbox.FastRetries(o => o.LeaseDuration = TimeSpan.FromMinutes(5)), TimeProvider.System, NullLogger<Core.Dispatch.Dispatcher>.Instance);

        await Assert.ThrowsAsync<IOException>(() => dispatcher.DispatchDueAsync(Ct));
        Assert.Equal(5L, await outbox.ScalarAsync<long>("select count(*) from outbox_message where status = 'sending'"));

        // The database takes writes again: the mails go back at once, not when the lease ends
        // (when a take-over would find the marks of mails this worker knows it never sent).
        store.ReleaseFails = false;
        await dispatcher.DispatchDueAsync(Ct);

        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox_message where status = 'sending'"));
    }

    [Fact]
    public async Task Server_silent_after_the_data_holds_the_mail_as_unconfirmed_when_the_policy_is_hold()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var server = ScriptedSmtpServer.Start(step => step is { Phase: "dot", Message: 0 } ? SmtpFault.Silence : null);
        var held = await EnqueueAsync(outbox, "held");
        var next = await EnqueueAsync(outbox, "next");
        var options = server.Options(o => { o.LostReplyPolicy = LostReplyPolicy.Hold; o.Timeout = TimeSpan.FromSeconds(1); });

        var summary = await outbox.SmtpDispatcher(options, SlowRetries()).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Unconfirmed);
        Assert.Equal(1, summary.Sent);
        await outbox.AssertStatusAsync(held, "unconfirmed");
        await outbox.AssertStatusAsync(next, "sent");
        Assert.Equal(0, (await outbox.SmtpDispatcher(options).DispatchDueAsync(Ct)).Sent);

        // Its recipient was asked: `show` says unconfirmed, not "not tried yet".
        var recipient = (await outbox.QueryAsync<(string? Status, string? Reply)>("select status, smtp_reply from outbox_recipient where message_id = @held", new { held })).Single();
        Assert.Equal((null, OutboxStore.UnconfirmedRecipient), recipient);
        var dir = Directory.CreateTempSubdirectory("outbox-show-");
        try
        {
            var config = WorkerProcess.WriteConfig(dir.FullName, new { Database = new { Provider = "sqlite", outbox.ConnectionString } });
            using var output = new StringWriter();
            await Commands.OutboxCli.RunAsync(["show", held.ToString(System.Globalization.CultureInfo.InvariantCulture), "--config", config], output, TextWriter.Null, Ct);
            Assert.Contains("to@example.com  [owed: unconfirmed: the whole message was sent", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }

        // The operator decides: send it again.
        await new Storage.Admin.OutboxAdmin(outbox.Database).RetryAsync(held, Ct);
        Assert.Equal(1, (await outbox.SmtpDispatcher(options).DispatchDueAsync(Ct)).Sent);
        await outbox.AssertStatusAsync(held, "sent");
    }

    [Fact]
    public async Task Mail_taken_over_from_a_dead_worker_is_held_when_the_policy_is_hold()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var server = ScriptedSmtpServer.Start();
        var id = await EnqueueAsync(outbox);
        var dead = new OutboxStore(outbox.Database, "dead-worker");
        var claimed = await dead.ClaimAsync(10, TimeSpan.FromMilliseconds(300), holdTakenOver: true, Ct);
        Assert.Equal(Core.Dispatch.DataStart.Marked, await dead.MarkDataStartingAsync(claimed[0], null, Ct));
        await Task.Delay(400, Ct);

        var summary = await outbox.SmtpDispatcher(server.Options(o => o.LostReplyPolicy = LostReplyPolicy.Hold), worker: "new-worker").DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Unconfirmed);
        Assert.Empty(server.Received);
        await outbox.AssertStatusAsync(id, "unconfirmed");
        var attempt = (await outbox.QueryAsync<(string Worker, string Outcome)>("select worker, outcome from outbox_attempt where message_id = @id", new { id })).Single();
        Assert.Equal(("dead-worker", "unconfirmed"), attempt);
    }

    [Theory]
    [InlineData(LostReplyPolicy.Hold, "unconfirmed")]
    [InlineData(LostReplyPolicy.Resend, "queued")]
    public async Task A_lost_reply_in_a_further_transaction_after_452_follows_the_lost_reply_policy(LostReplyPolicy policy, string status)
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        // Two recipients per transaction; the reply to the second transaction's data never comes.
        await using var server = ScriptedSmtpServer.Start(step => step is { Phase: "dot", Message: 1 } ? SmtpFault.Silence : null, recipientLimit: 2);
        var id = await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["a@example.com", "b@example.com", "c@example.com"], Subject = "three", TextBody = "x" });

        await outbox.SmtpDispatcher(server.Options(o => { o.LostReplyPolicy = policy; o.Timeout = TimeSpan.FromSeconds(1); }), SlowRetries()).DispatchDueAsync(Ct);

        await outbox.AssertStatusAsync(id, status);
        var recipients = await outbox.QueryAsync<(string Address, string Status)>("select address, status from outbox_recipient where message_id = @id order by id", new { id });
        Assert.Equal([("a@example.com", "accepted"), ("b@example.com", "accepted"), ("c@example.com", "deferred")], recipients);
        Assert.Equal("unconfirmed", (await outbox.QueryAsync<string>("select outcome from outbox_attempt where message_id = @id", new { id })).Single());
        Assert.Equal(2, server.DataReceived.Count);
        Assert.Equal(0, (await outbox.SmtpDispatcher(server.Options(o => o.LostReplyPolicy = policy), SlowRetries()).DispatchDueAsync(Ct)).Sent);
    }

    [Fact]
    public async Task Leases_of_a_slow_batch_are_renewed_so_no_other_worker_takes_its_mails_over()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var server = ScriptedSmtpServer.Start(step => step.Phase == "dot" ? SmtpFault.Delay(TimeSpan.FromSeconds(1.5)) : null);
        var ids = new[] { await EnqueueAsync(outbox), await EnqueueAsync(outbox), await EnqueueAsync(outbox) };
        var lease = TimeSpan.FromSeconds(1);
        var slow = outbox.SmtpDispatcher(server.Options(), TestOutbox.FastRetries(o => o.LeaseDuration = lease), "slow-worker");
        var other = outbox.SmtpDispatcher(server.Options(), TestOutbox.FastRetries(o => o.LeaseDuration = lease), "other-worker");

        var sending = slow.DispatchDueAsync(Ct);
        var takenOver = 0;
        while (!sending.IsCompleted)
        {
            await Task.Delay(200, Ct);
            var pass = await other.DispatchDueAsync(Ct);
            takenOver += pass.Sent + pass.Unconfirmed + pass.Retried;
        }

        Assert.Equal(3, (await sending).Sent);
        Assert.Equal(0, takenOver);
        Assert.Equal(3, server.Received.Count);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select count(*) from outbox_attempt where outcome = 'unconfirmed'"));
        foreach (var id in ids)
        {
            await outbox.AssertStatusAsync(id, "sent");
        }
    }

    [Fact]
    public async Task Reply_421_to_mail_from_hands_the_batch_back_without_charging_attempts()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var server = ScriptedSmtpServer.Start(step => step.Phase == "MAIL" ? SmtpFault.Reply("421 4.3.2 Service shutting down") : null);
        var ids = new[] { await EnqueueAsync(outbox), await EnqueueAsync(outbox), await EnqueueAsync(outbox) };

        var summary = await outbox.SmtpDispatcher(server.Options(), TestOutbox.FastRetries(o => o.RetryBaseDelay = TimeSpan.FromMinutes(1))).DispatchDueAsync(Ct);

        Assert.Equal(3, summary.Released);
        Assert.StartsWith("421", summary.PausedBecause, StringComparison.Ordinal);
        Assert.Equal(1, server.Connections);
        foreach (var id in ids)
        {
            await outbox.AssertStatusAsync(id, "queued");
        }

        Assert.Equal(0L, await outbox.ScalarAsync<long>("select sum(attempt_count) from outbox_message"));
    }

    [Fact]
    public async Task Greeting_421_and_a_server_that_never_greets_charge_no_attempt()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var refusing = ScriptedSmtpServer.Start(step => step.Phase == "connect" ? SmtpFault.Reply("421 4.7.0 Too many connections") : null);
        await using var silent = ScriptedSmtpServer.Start(step => step.Phase == "connect" ? SmtpFault.Silence : null);
        var id = await EnqueueAsync(outbox);

        var refused = await outbox.SmtpDispatcher(refusing.Options()).DispatchDueAsync(Ct);
        await outbox.MakeDueAsync(id);
        var timedOut = await outbox.SmtpDispatcher(silent.Options(o => o.Timeout = TimeSpan.FromSeconds(1))).DispatchDueAsync(Ct);

        Assert.Contains("421", refused.PausedBecause, StringComparison.Ordinal);
        Assert.Contains("did not answer within", timedOut.PausedBecause, StringComparison.Ordinal);
        await outbox.AssertStatusAsync(id, "queued");
        Assert.Equal(0L, await outbox.ScalarAsync<long>("select attempt_count from outbox_message where id = @id", new { id }));
    }

    [Fact]
    public async Task Message_larger_than_the_servers_size_limit_fails_before_any_data_is_sent()
    {
        await using var outbox = await TestOutbox.SqliteAsync();
        await using var server = ScriptedSmtpServer.Start(sizeLimit: 2000);
        var big = await EnqueueAsync(outbox, "big", new string('x', 5000));
        var small = await EnqueueAsync(outbox, "small", "fits");

        var summary = await outbox.SmtpDispatcher(server.Options()).DispatchDueAsync(Ct);

        Assert.Equal((1, 1), (summary.Sent, summary.Failed));
        await outbox.AssertStatusAsync(big, "failed");
        Assert.Contains("the server accepts at most 2,000 (its SIZE limit)", await outbox.ScalarAsync<string>("select last_error from outbox_message where id = @id", new { id = big }), StringComparison.Ordinal);
        Assert.Equal(1, server.Commands.Count(c => c.StartsWith("MAIL", StringComparison.Ordinal)));
        await outbox.AssertStatusAsync(small, "sent");
    }
}
