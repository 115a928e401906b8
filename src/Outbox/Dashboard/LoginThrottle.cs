using System.Net;

namespace Outbox.Dashboard;

/// <summary>
/// Slows password guessing per client address: after <see cref="FreeFailures"/> wrong logins in
/// a row, that address is answered 429 without its password being checked until
/// <see cref="Pause"/> has passed since its last failure. IPv6 clients count per /64, the block
/// one host usually holds. The table is bounded: past <see cref="MaxClients"/> addresses, those
/// no longer paused are forgotten first.
/// </summary>
public sealed class LoginThrottle(TimeProvider clock)
{
    public const int FreeFailures = 10;
    public const int MaxClients = 10_000;
    public static readonly TimeSpan Pause = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, (int Failures, DateTimeOffset Last)> _failures = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public static string ClientOf(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4().ToString();
        }

        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            var bytes = address.GetAddressBytes();
            Array.Clear(bytes, 8, 8);
            return new IPAddress(bytes) + "/64";
        }

        return address.ToString();
    }

    /// <summary>Whether the client must wait before its next try.</summary>
    public bool IsPaused(string client)
    {
        lock (_lock)
        {
            return _failures.TryGetValue(client, out var entry) && entry.Failures >= FreeFailures && clock.GetUtcNow() - entry.Last < Pause;
        }
    }

    /// <summary>Counts a wrong login; returns the client's failures in a row.</summary>
    public int Fail(string client)
    {
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            if (_failures.Count >= MaxClients && !_failures.ContainsKey(client))
            {
                foreach (var old in _failures.Where(f => now - f.Value.Last >= Pause).Select(f => f.Key).ToList())
                {
                    _failures.Remove(old);
                }
            }

            var failures = _failures.TryGetValue(client, out var entry) ? entry.Failures + 1 : 1;
            _failures[client] = (failures, now);
            return failures;
        }
    }

    public void Succeed(string client)
    {
        lock (_lock)
        {
            _failures.Remove(client);
        }
    }
}
