using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using Outbox.Configuration;

namespace Outbox.Worker;

/// <summary>
/// The worker's read-only HTTP endpoints, on Kestrel: GET /health at Outbox:Monitoring:HealthUrl
/// (200 and {"status":"healthy"} while the worker polls and reaches its database, with "paused"
/// naming the paused scopes while it honours a pause; else 503 with the reason) and GET /metrics at PrometheusUrl (OpenTelemetry's Prometheus exporter). Each
/// listens where <see cref="MonitoringAddress"/> says and answers any Host: a probe, a balancer
/// or Prometheus on another host names the worker as it likes.
/// </summary>
public sealed class MonitoringEndpoints(WorkerHealth health, OutboxOptions options, IServiceProvider services) : IHostedService, IAsyncDisposable
{
    private readonly List<WebApplication> _apps = [];

    // Listening starts with the host, so a port that is taken stops the worker at once with a
    // non-zero exit code (systemd's Restart=on-failure then applies), not later in the background.
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var endpoints = new List<(string Key, Uri Url)>();
        if (options.Monitoring.HealthUrl is { Length: > 0 } healthUrl)
        {
            endpoints.Add(("HealthUrl", new Uri(healthUrl)));
        }

        if (options.Monitoring.PrometheusUrl is { Length: > 0 } prometheusUrl)
        {
            endpoints.Add(("PrometheusUrl", new Uri(prometheusUrl)));
        }

        foreach (var (key, url) in endpoints)
        {
            IReadOnlyList<IPAddress>? addresses;
            try
            {
                addresses = MonitoringAddress.Of(url);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                throw new ConfigurationException($"Outbox:Monitoring:{key}: cannot resolve the host of {url} ({ex.Message}). Give an IP address, localhost, or 0.0.0.0 for every address");
            }

            var app = Build(url, addresses, key == "HealthUrl" ? AnswerHealth : null, key == "PrometheusUrl" ? services.GetRequiredService<MeterProvider>() : null);
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                await app.DisposeAsync().ConfigureAwait(false);
                throw new ConfigurationException($"Outbox:Monitoring:{key}: cannot listen on {url} ({ex.InnerException?.Message ?? ex.Message}). Choose a free port, or stop what listens there");
            }

            _apps.Add(app);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var app in _apps)
        {
            await app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static WebApplication Build(Uri url, IReadOnlyList<IPAddress>? addresses, RequestDelegate? health, MeterProvider? metrics)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "outbox-monitoring", ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => Listen(kestrel, url, addresses));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        if (metrics is not null)
        {
            app.UseOpenTelemetryPrometheusScrapingEndpoint(metrics, context => context.Request.Path == "/metrics", null, null, null);
        }

        app.Run(health ?? (context =>
        {
            context.Response.StatusCode = 404;
            return Task.CompletedTask;
        }));
        return app;
    }

    // Null addresses: every address.
    private static void Listen(KestrelServerOptions kestrel, Uri url, IReadOnlyList<IPAddress>? addresses)
    {
        kestrel.AddServerHeader = false;
        kestrel.Limits.MaxRequestBodySize = 0;
        if (addresses is not null)
        {
            foreach (var address in addresses)
            {
                kestrel.Listen(address, url.Port);
            }
        }
        else
        {
            kestrel.Listen(url.Host.Trim('[', ']') == "::" ? IPAddress.IPv6Any : IPAddress.Any, url.Port);
        }
    }

    private async Task AnswerHealth(HttpContext context)
    {
        if (context.Request.Path.Value?.TrimEnd('/') != "/health")
        {
            context.Response.StatusCode = 404;
            return;
        }

        var (healthy, status) = health.Evaluate(options.Dispatch.PollInterval);
        context.Response.StatusCode = healthy ? 200 : 503;
        context.Response.ContentType = "application/json; charset=utf-8";
        var answer = new Dictionary<string, string> { ["status"] = healthy ? "healthy" : "unhealthy", ["detail"] = status };
        if (Core.Dispatch.Pause.Scopes(health.Pauses) is { } paused)
        {
            // A paused worker is healthy (it polls and would send); this says what it holds back.
            answer["paused"] = paused;
        }

        await context.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(answer)).ConfigureAwait(false);
    }
}
