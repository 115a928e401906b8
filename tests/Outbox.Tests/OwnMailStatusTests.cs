using Dapper;
using Npgsql;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// A login role granted only outbox_sender reads what became of its own mails through the API
/// (status, attempts, last error, each recipient's state and reply), and nothing of another role's.
/// </summary>
public sealed class OwnMailStatusTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<NpgsqlConnection> SenderAsync(TestOutbox outbox)
    {
        var role = $"app_{Guid.NewGuid():N}"[..20];
        await outbox.ExecuteAsync($"create role {role} login; grant outbox_sender to {role}");
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(outbox.ConnectionString) { Username = role, Pooling = false }.ConnectionString);
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
}
