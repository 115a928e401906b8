using System.Net;
using System.Net.Sockets;

namespace Outbox.Tests.Infrastructure;

/// <summary>A TCP port on loopback that nothing listens on right now, for a server a test starts.</summary>
public static class LoopbackPort
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
