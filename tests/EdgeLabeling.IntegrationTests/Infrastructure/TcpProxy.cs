using System.Net;
using System.Net.Sockets;

namespace EdgeLabeling.IntegrationTests.Infrastructure;

/// <summary>
/// A TCP forwarder on 127.0.0.1 that a test can cut: <see cref="Cut"/> resets every open connection (an
/// upload in flight dies mid-transfer) and refuses new ones until <see cref="Restore"/>. This is a real
/// network failure for the client, without stopping the shared S3 server other tests use.
/// </summary>
public sealed class TcpProxy : IDisposable
{
    private readonly IPEndPoint _target;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<(TcpClient Client, TcpClient Upstream)> _open = [];
    private volatile bool _cut;
    private long _bytesUp;

    public TcpProxy(string targetHost, int targetPort)
    {
        _target = new IPEndPoint(IPAddress.Parse(targetHost), targetPort);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Proxy for an http://host:port URL.</summary>
    public static TcpProxy For(string endpoint)
    {
        var uri = new Uri(endpoint);
        return new TcpProxy(uri.Host == "localhost" ? "127.0.0.1" : uri.Host, uri.Port);
    }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public bool IsCut => _cut;

    /// <summary>Bytes forwarded from clients to the server.</summary>
    public long BytesUp => Interlocked.Read(ref _bytesUp);

    public int Cuts { get; private set; }

    public void Cut()
    {
        _cut = true;
        Cuts++;
        List<(TcpClient, TcpClient)> open;
        lock (_gate)
        {
            open = [.. _open];
            _open.Clear();
        }

        foreach (var (c, u) in open)
        {
            Reset(c);
            Reset(u);
        }
    }

    public void Restore() => _cut = false;

    private static void Reset(TcpClient c)
    {
        try
        {
            // Linger 0 turns the close into a TCP reset: the peer sees the connection die, not a clean end.
            if (c.Client is { } socket)
            {
                socket.LingerState = new LingerOption(true, 0);
            }

            c.Close();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            if (_cut)
            {
                Reset(client);
                continue;
            }

            _ = Task.Run(() => PipeAsync(client));
        }
    }

    private async Task PipeAsync(TcpClient client)
    {
        var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(_target, _stop.Token);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            Reset(client);
            upstream.Dispose();
            return;
        }

        lock (_gate)
        {
            _open.Add((client, upstream));
        }

        try
        {
            var up = CopyAsync(client.GetStream(), upstream.GetStream(), countUp: true);
            var down = CopyAsync(upstream.GetStream(), client.GetStream(), countUp: false);
            await Task.WhenAny(up, down);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _open.Remove((client, upstream));
            }

            client.Dispose();
            upstream.Dispose();
        }
    }

    private async Task CopyAsync(NetworkStream from, NetworkStream to, bool countUp)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
                if (countUp)
                {
                    Interlocked.Add(ref _bytesUp, n);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        Cut();
    }
}
