using Microsoft.Extensions.Hosting;
using Outbox.Configuration;
using Outbox.Storage;

namespace Outbox.Dashboard;

/// <summary>
/// The dashboard inside the worker (Outbox:Dashboard:Url set): it listens from the worker's start,
/// so a port that is taken stops the start. It has a database pool of its own
/// (Outbox:Dashboard:DatabaseConnections), so what its clients do never takes the connections
/// the worker sends with.
/// </summary>
public sealed class DashboardService(OutboxOptions options) : IHostedService, IAsyncDisposable
{
    private OutboxDatabase? _database;
    private DashboardApp? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var binding = DashboardBinding.From(options.Dashboard);
        _database = OutboxDatabase.Create(options.Database, ConnectionUse.Dashboard(options.Dashboard.DatabaseConnections));
        _app = DashboardApp.Create(options, _database, binding);
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => _app?.StopAsync(cancellationToken) ?? Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }

        if (_database is not null)
        {
            await _database.DisposeAsync().ConfigureAwait(false);
        }
    }
}
