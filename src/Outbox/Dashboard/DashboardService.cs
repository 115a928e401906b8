using Microsoft.Extensions.Hosting;
using Outbox.Configuration;
using Outbox.Storage;

namespace Outbox.Dashboard;

/// <summary>The dashboard inside the worker (Outbox:Dashboard:Url set): it listens from the worker's start, so a port that is taken stops the start.</summary>
public sealed class DashboardService(OutboxOptions options, OutboxDatabase database) : IHostedService, IAsyncDisposable
{
    private DashboardApp? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _app = DashboardApp.Create(options, database, DashboardBinding.From(options.Dashboard));
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => _app?.StopAsync(cancellationToken) ?? Task.CompletedTask;

    public ValueTask DisposeAsync() => _app?.DisposeAsync() ?? ValueTask.CompletedTask;
}
