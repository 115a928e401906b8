using Microsoft.Extensions.Logging.Abstractions;
using Outbox.Core.Sending.Accounts;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// A connection slot (MaxConnections counted in the database) held by an open session: when its
/// lease may have run out on the database clock, another worker's session may count in its place,
/// so this session must learn that it lost the slot and close. Real PostgreSQL.
/// </summary>
public sealed class ConnectionLeaseTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task A_slot_whose_row_is_gone_at_its_renewal_is_lost()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var lease = await ConnectionLease.TakeAsync(new DatabaseRateLimiter(outbox.Database, "test-worker"), "m365", 3, Lease, NullLogger.Instance, Ct);
        Assert.NotNull(lease);
        Assert.Equal(1L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_connection_slot where account = 'm365'"));

        // Taken over: the row expired and another worker's clean-up removed it.
        await outbox.ExecuteAsync("delete from outbox.outbox_connection_slot");
        await UntilLostAsync(lease);
    }

    [Fact]
    public async Task A_slot_that_cannot_be_renewed_for_two_thirds_of_its_lease_is_lost()
    {
        await using var cluster = await PostgresServer.StartPrivateAsync();
        await using var outbox = await TestOutbox.PostgresAsync(cluster);
        await using var lease = await ConnectionLease.TakeAsync(new DatabaseRateLimiter(outbox.Database, "test-worker"), "m365", 3, Lease, NullLogger.Instance, Ct);
        Assert.NotNull(lease);
        await Task.Delay(Lease / 2, Ct);
        Assert.False(lease.Lost);

        // The database is away: no renewal can succeed, and the lease runs out on its clock.
        await cluster.StopAsync();
        try
        {
            await UntilLostAsync(lease);
        }
        finally
        {
            await cluster.StartAsync();
        }
    }

    private static async Task UntilLostAsync(ConnectionLease lease)
    {
        // Bounded by the lease, not by a timing of this machine: well past one lease, it must be lost.
        var deadline = DateTime.UtcNow + (Lease * 4);
        while (!lease.Lost)
        {
            Assert.True(DateTime.UtcNow < deadline, "the session still believes it holds its connection slot");
            await Task.Delay(100, Ct);
        }
    }
}
