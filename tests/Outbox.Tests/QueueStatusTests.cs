using Outbox.Core.Messages;
using Outbox.Storage.Admin;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>What `outbox status` and the queue gauges call the oldest waiting mail.</summary>
public sealed class QueueStatusTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Mail_scheduled_for_later_is_not_waiting_until_its_time_comes(string provider)
    {
        await using var outbox = provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);
        var admin = new OutboxAdmin(outbox.Database);
        await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["to@example.com"], TextBody = "later", SendAfter = DateTimeOffset.UtcNow.AddHours(1) });

        Assert.Null((await admin.StatusAsync(Ct)).OldestQueuedSeconds);

        await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["to@example.com"], TextBody = "now" });
        await outbox.ExecuteAsync($"update {outbox.T("outbox_message")} set queued_at = {outbox.Database.Dialect.NowPlusSeconds("-120")} where text_body = 'now'");

        Assert.InRange((await admin.StatusAsync(Ct)).OldestQueuedSeconds!.Value, 110, 600);
    }
}
