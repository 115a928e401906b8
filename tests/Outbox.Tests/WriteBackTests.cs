using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Outbox.Core.Dispatch;
using Outbox.Core.Sending;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>A write-back the database does not take at once is tried again before anything else, so the mail is not sent twice.</summary>
public sealed class WriteBackTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_lock_held_past_the_command_timeout_delays_the_record_but_does_not_resend_the_mail()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var id = await outbox.EnqueueAsync(new Core.Messages.MailRequest { Sender = "app@example.com", To = ["to@example.com"], Subject = "once", TextBody = "b" });
        NpgsqlConnection? holder = null;
        NpgsqlTransaction? held = null;
        // When the server has the whole mail, somebody else locks its row: the 250 comes, the
        // worker's write-back waits for the lock and gives up at the 2 s command timeout.
        await using var server = ScriptedSmtpServer.Start(step =>
        {
            if (step.Phase == "dot" && holder is null)
            {
                holder = new NpgsqlConnection(outbox.ConnectionString);
                holder.Open();
                held = holder.BeginTransaction();
                using var lockRow = new NpgsqlCommand("select id from outbox.outbox_message where id = @id for update", holder, held);
                lockRow.Parameters.AddWithValue("id", id);
                lockRow.ExecuteScalar();
            }

            return null;
        });
        await using var database = OutboxDatabase.Create(new DatabaseOptions { Provider = "postgresql", ConnectionString = outbox.ConnectionString + ";Command Timeout=2" });
        var dispatcher = new Dispatcher(new OutboxStore(database, "worker-1"), new SmtpTransport(server.Options(), NullLogger<SmtpTransport>.Instance),
            TestOutbox.FastRetries(), TimeProvider.System, NullLogger<Dispatcher>.Instance);

        var error = await Assert.ThrowsAsync<OutcomesNotRecordedException>(() => dispatcher.DispatchDueAsync(Ct));
        Assert.StartsWith("the outcome of sent mails could not be written", error.Message, StringComparison.Ordinal);
        await outbox.AssertStatusAsync(id, "sending");

        await held!.RollbackAsync(Ct);
        await holder!.DisposeAsync();
        var next = await dispatcher.DispatchDueAsync(Ct);

        await outbox.AssertStatusAsync(id, "sent");
        Assert.Equal(0, next.Sent);
        Assert.Single(server.Received);
        Assert.Equal(["sent"], await outbox.QueryAsync<string>("select outcome from outbox.outbox_attempt where message_id = @id", new { id }));
    }
}
