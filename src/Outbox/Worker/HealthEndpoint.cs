using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Outbox.Configuration;

namespace Outbox.Worker;

/// <summary>GET /health at Outbox:Monitoring:HealthUrl: 200 and {"status":"healthy"} while the worker polls and reaches its database, else 503 with the reason.</summary>
public sealed class HealthEndpoint(WorkerHealth health, OutboxOptions options) : BackgroundService
{
    private readonly HttpListener _listener = new();

    // Listening starts with the host, so a port that is taken stops the worker at once with a
    // non-zero exit code (systemd's Restart=on-failure then applies), not later in the background.
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var url = options.Monitoring.HealthUrl!;
        _listener.Prefixes.Add(Prefix(url));
        try
        {
            _listener.Start();
        }
        catch (HttpListenerException ex)
        {
            throw new ConfigurationException($"Outbox:Monitoring:HealthUrl: cannot listen on {url} ({ex.Message}). Choose a free port, or stop what listens there");
        }

        return base.StartAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _listener.Close();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listener = _listener;
        await using var stop = stoppingToken.Register(listener.Stop);
        while (!stoppingToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException && stoppingToken.IsCancellationRequested)
            {
                return;
            }

            await AnswerAsync(context).ConfigureAwait(false);
        }
    }

    /// <summary>An HttpListener prefix must end with a slash.</summary>
    public static string Prefix(string url) => url.EndsWith('/') ? url : url + "/";

    private async Task AnswerAsync(HttpListenerContext context)
    {
        using var response = context.Response;
        if (context.Request.Url?.AbsolutePath.TrimEnd('/') != "/health")
        {
            response.StatusCode = 404;
            return;
        }

        var (healthy, status) = health.Evaluate(options.Dispatch.PollInterval);
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["status"] = healthy ? "healthy" : "unhealthy", ["detail"] = status });
        response.StatusCode = healthy ? 200 : 503;
        response.ContentType = "application/json";
        response.ContentEncoding = Encoding.UTF8;
        await response.OutputStream.WriteAsync(body).ConfigureAwait(false);
    }
}
