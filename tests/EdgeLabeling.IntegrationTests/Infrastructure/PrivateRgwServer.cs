using System.Diagnostics;

namespace EdgeLabeling.IntegrationTests.Infrastructure;

/// <summary>
/// A second radosgw, owned by one test, on its own ports and folder (scripts/rgw.sh with RGW_DIR, RGW_PORT,
/// RGW_MON_PORT). Tests that must stop the S3 server for real use this one, so the shared server other
/// tests rely on keeps running. Its data lives in RAM (memstore) and is gone after <see cref="StopAsync"/>.
/// </summary>
public sealed class PrivateRgwServer : IAsyncDisposable
{
    private readonly string _script;
    private readonly Dictionary<string, string> _env;

    public PrivateRgwServer(string repoRoot)
    {
        _script = Environment.GetEnvironmentVariable("EDGELABEL_RGW_SCRIPT") is { Length: > 0 } fromCi ? fromCi : Path.Combine(repoRoot, "scripts", "rgw.sh");
        Port = FreePort.Next();
        _env = new Dictionary<string, string>
        {
            ["RGW_DIR"] = NewFolder(),
            ["RGW_PORT"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RGW_MON_PORT"] = NewMonitorPort(),
            ["RGW_MEMSTORE_BYTES"] = (256L * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RGW_ACCESS_KEY"] = S3TestServer.AccessKey,
            ["RGW_SECRET_KEY"] = S3TestServer.SecretKey,
        };
    }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public bool Running { get; private set; }

    public async Task StartAsync()
    {
        await RunAsync("start", TimeSpan.FromSeconds(150));
        Running = true;
    }

    private static string NewFolder() => Path.Combine(Path.GetTempPath(), "rgw-private-" + Guid.NewGuid().ToString("N")[..8]);

    // Monitor port and the 60 messenger ports after it stay below Linux's ephemeral range (32768-60999), so an
    // outgoing connection's local port can never take one of them between the check and the bind.
    private static string NewMonitorPort() => (20000 + (Random.Shared.Next(0, 190) * 64)).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// SIGKILLs every daemon the script started and leaves its folder behind, as a killed CI job or a cut
    /// session does. Returns how many daemons were killed.
    /// </summary>
    public int KillDaemonsLeavingFolder()
    {
        var killed = 0;
        foreach (var pidFile in Directory.GetFiles(Path.Combine(_env["RGW_DIR"], "pids")))
        {
            var pid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            using var daemon = Process.GetProcessById(pid);
            daemon.Kill();
            daemon.WaitForExit(10_000);
            killed++;
        }

        Running = false;
        return killed;
    }

    public async Task StopAsync()
    {
        Running = false;
        await RunAsync("stop", TimeSpan.FromSeconds(60));
    }

    private async Task RunAsync(string verb, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo("bash", [_script, verb]) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var (k, v) in _env)
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        await p.WaitForExitAsync(cts.Token);
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/rgw.sh {verb} failed ({p.ExitCode}): {await err}{await stdout}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
        }
    }
}
