using Outbox.Core.Dispatch;
using Outbox.Core.Messages;
using Outbox.Core.Sending;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// How the worker records mails the server accepted, written down per database: PostgreSQL
/// records a group in one array statement, a group with a refused recipient (and every group on
/// SQLite) goes the generic way. Both must write the same rows and leave alone a mail whose
/// lease another worker took over.
/// </summary>
public sealed class SentRecordingTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("postgresql", false)]
    [InlineData("postgresql", true)]
    [InlineData("sqlite", false)]
    [InlineData("sqlite", true)]
    public async Task A_group_of_sent_mails_is_recorded_and_a_taken_over_mail_is_left_to_its_new_worker(string provider, bool withRefusal)
    {
        await using var outbox = provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);
        var ids = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await outbox.EnqueueAsync(new MailRequest
            {
                Sender = "app@example.com",
                To = [$"to{i}@example.com"],
                Cc = ["cc@example.com"],
                TextBody = "x",
            }));
        }

        var late = new OutboxStore(outbox.Database, "late-worker");
        var claimed = await late.ClaimAsync(10, TimeSpan.FromMinutes(5), holdTakenOver: false, Ct);
        Assert.Equal(ids, claimed.Select(m => m.Id).ToList());

        // What a takeover leaves behind: another worker's lease on the last mail.
        await outbox.ExecuteAsync($"update {outbox.T("outbox_message")} set lease_owner = 'other-worker' where id = @id", new { id = ids[2] });

        var refused = withRefusal ? [new RecipientRejection("cc@example.com", 550, "5.1.1 no such user")] : Array.Empty<RecipientRejection>();
        await late.MarkSentAsync(claimed.Select(m => new SentMail(m, new DeliveryResult(250, $"2.0.0 Ok: queued as Q{m.Id}", m.Id == ids[0] ? refused : []), "primary")).ToList(), Ct);

        foreach (var id in ids[..2])
        {
            var row = (await outbox.QueryAsync<(string Status, long Code, string Reply, string? Error, string? Lease)>(
                $"select status, smtp_code, smtp_reply, last_error, lease_owner from {outbox.T("outbox_message")} where id = @id", new { id })).Single();
            Assert.Equal(("sent", 250L, $"2.0.0 Ok: queued as Q{id}", null), (row.Status, row.Code, row.Reply, row.Lease));
            Assert.Equal(withRefusal && id == ids[0], row.Error is not null);
            var attempt = (await outbox.QueryAsync<(long AttemptNo, string Worker, string Account, string Outcome, long Code)>(
                $"select attempt_no, worker, account, outcome, smtp_code from {outbox.T("outbox_attempt")} where message_id = @id", new { id })).Single();
            Assert.Equal((1L, "late-worker", "primary", "sent", 250L), attempt);
            var recipients = await outbox.QueryAsync<(string Address, string Status)>(
                $"select address, status from {outbox.T("outbox_recipient")} where message_id = @id order by id", new { id });
            var ccStatus = withRefusal && id == ids[0] ? "rejected" : "accepted";
            Assert.Equal([($"to{ids.IndexOf(id)}@example.com", "accepted"), ("cc@example.com", ccStatus)], recipients);
        }

        // The taken-over mail: still the other worker's, no attempt from the late one, recipients untouched.
        var takenRow = (await outbox.QueryAsync<(string Status, string Lease)>(
            $"select status, lease_owner from {outbox.T("outbox_message")} where id = @id", new { id = ids[2] })).Single();
        Assert.Equal(("sending", "other-worker"), takenRow);
        Assert.Empty(await outbox.QueryAsync<long>($"select id from {outbox.T("outbox_attempt")} where message_id = @id and worker = 'late-worker'", new { id = ids[2] }));
        Assert.Empty(await outbox.QueryAsync<long>($"select id from {outbox.T("outbox_recipient")} where message_id = @id and status is not null", new { id = ids[2] }));
    }

    [Fact]
    public async Task The_write_back_finds_its_mails_by_primary_key_while_many_are_leased()
    {
        // Statistics taken while every mail was queued say no row is 'sending'. An index that
        // held leased rows looked cheapest then, and each write-back scanned all of them.
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("select outbox_mail.send('app@example.com', 'to' || g || '@example.com', message => 'x') from generate_series(1, 2000) g");
        await outbox.ExecuteAsync("analyze outbox.outbox_message");
        var claimed = await new OutboxStore(outbox.Database, "w").ClaimAsync(1000, TimeSpan.FromMinutes(5), holdTakenOver: false, Ct);
        var group = claimed.Take(5).ToList();

        var plan = string.Join("\n", await outbox.QueryAsync<string>("explain " + outbox.Database.Dialect.SentGroupStatement, new
        {
            Ids = group.Select(m => m.Id).ToArray(),
            Codes = group.Select(_ => 250).ToArray(),
            Replies = group.Select(_ => "ok").ToArray(),
            AttemptNos = group.Select(_ => 1).ToArray(),
            Accounts = group.Select(_ => "default").ToArray(),
            Worker = "w",
        }));

        Assert.Contains("Index Scan using outbox_message_pkey on outbox_message", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("outbox_message_finished_ix", plan, StringComparison.Ordinal);
    }
}
