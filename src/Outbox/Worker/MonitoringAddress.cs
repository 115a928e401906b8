using System.Net;

namespace Outbox.Worker;

/// <summary>
/// Where a monitoring URL (Outbox:Monitoring:HealthUrl, PrometheusUrl) listens: `0.0.0.0` or
/// `[::]` every address, `localhost` the loopback addresses, an IP address that one, a host name
/// the addresses it resolves to. The health endpoint is read-only and answers whatever Host a
/// probe or a balancer sends; the Prometheus exporter answers any Host only when it listens on
/// every address.
/// </summary>
public static class MonitoringAddress
{
    /// <summary>The addresses to listen on; null for every address.</summary>
    public static IReadOnlyList<IPAddress>? Of(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var host = url.Host.Trim('[', ']');
        if (host is "0.0.0.0" or "::")
        {
            return null;
        }

        if (url.IsLoopback && !IPAddress.TryParse(host, out _))
        {
            return [IPAddress.Loopback, IPAddress.IPv6Loopback];
        }

        return IPAddress.TryParse(host, out var address) ? [address] : Dns.GetHostAddresses(host);
    }
}
