namespace Outbox.Configuration;

/// <summary>What the worker exposes for monitoring (section Outbox:Monitoring). Everything is off unless a URL is set.</summary>
public sealed class MonitoringOptions
{
    /// <summary>
    /// Serve OpenTelemetry metrics for Prometheus on this host and port, e.g.
    /// "http://localhost:9464/" (scraped at /metrics). Null: no metrics endpoint.
    /// </summary>
    public string? PrometheusUrl { get; set; }

    /// <summary>How often the queue gauges (mails per status, oldest waiting age) are read from the database.</summary>
    public TimeSpan QueueInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Answer health checks at this prefix, e.g. "http://localhost:9465/" (GET /health: 200
    /// when the worker is polling and reaching its database, else 503). Null: no health endpoint.
    /// </summary>
    public string? HealthUrl { get; set; }
}
