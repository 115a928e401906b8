using Outbox.Storage;
using Outbox.Storage.Admin;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// A worker's row in outbox_worker, on PostgreSQL and SQLite: written at most once per poll
/// interval (sooner when what it sees changes), never per pass in between; its first write
/// replaces an earlier process's row of the same name and deletes rows not seen for a day.
/// </summary>
public sealed class WorkerRecordTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task The_row_is_written_once_per_poll_interval_or_on_a_change_and_old_rows_age_out(string provider)
    {
        await using var outbox = provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);
        var table = outbox.T("outbox_worker");
        var old = provider == "sqlite" ? "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-2 days')" : "now() - interval '2 days'";
        await outbox.ExecuteAsync($"""
            insert into {table} (name, host, pid, version, poll_seconds, started_at, last_seen_at)
            values ('crashed-long-ago', 'h', 1, 'v', 10, {old}, {old}), ('w', 'h', 2, 'v', 10, {old}, {old}),
                   ('other', 'h', 3, 'v', 10, {old}, {(provider == "sqlite" ? "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')" : "now()")})
            """);
        var time = new SteppedTime();
        var record = new WorkerRecord(outbox.Database, "w", TimeSpan.FromSeconds(10), time);

        await record.PassAsync("sent 1", null, failed: false, Ct);
        await record.PassAsync("sent 2", null, failed: false, Ct);
        Assert.Equal(["other", "w"], (await new OutboxAdmin(outbox.Database).WorkersAsync(Ct)).Select(w => w.Name).Order());
        Assert.Equal("sent 1", await ResultAsync());

        await record.PassAsync("sent 0", "*", failed: false, Ct);
        Assert.Equal(("sent 0", "*"), (await ResultAsync(), await outbox.ScalarAsync<string>($"select paused from {table} where name = 'w'")));

        time.Advance(TimeSpan.FromSeconds(10));
        await record.PassAsync("sent 3", "*", failed: false, Ct);
        Assert.Equal("sent 3", await ResultAsync());
        var row = (await new OutboxAdmin(outbox.Database).WorkersAsync(Ct)).Single(w => w.Name == "w");
        Assert.Equal((Environment.ProcessId, "running", 10), (row.Pid, row.State, row.PollSeconds));

        await record.StoppedAsync(Ct);
        Assert.Equal("stopped", (await new OutboxAdmin(outbox.Database).WorkersAsync(Ct)).Single(w => w.Name == "w").State);

        Task<string> ResultAsync() => outbox.ScalarAsync<string>($"select last_result from {table} where name = 'w'");
    }

    private sealed class SteppedTime : TimeProvider
    {
        private long _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;

        public override long GetTimestamp() => _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    }
}
