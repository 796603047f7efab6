using System.Net;
using System.Net.Sockets;

namespace EdgeLabeling.Tests.Shared;

/// <summary>
/// Loopback ports for what a test itself listens on, so two suites can run at once on one machine. Prefer binding
/// port 0 where the server can report the port it got; this is for servers (radosgw, HttpListener) that must be told
/// a port up front.
/// </summary>
public static class FreePort
{
    /// <summary>A loopback port nothing listened on a moment ago (the OS hands out ephemeral ports in turn).</summary>
    public static int Next()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }
}
