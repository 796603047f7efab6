using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EdgeLabeling.IntegrationTests.Infrastructure;

namespace EdgeLabeling.IntegrationTests.Edge;

/// <summary>
/// Packages the component once per test run with the project's own script (scripts/package-component.sh,
/// linux-x64, framework-dependent to keep the run short — the self-contained build differs only in
/// carrying the runtime) and unpacks the ZIP the way the nucleus does for <c>Unarchive: ZIP</c>.
/// </summary>
public sealed partial class PackagedComponent : IAsyncLifetime
{
    public const string Version = "0.0.1";

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "edge-gg-" + Guid.NewGuid().ToString("N")[..10]);

    /// <summary>{artifacts:decompressedPath}.</summary>
    public string DecompressedPath => Path.Combine(Root, "artifacts-decompressed");

    public JsonObject Recipe { get; private set; } = new();

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string ModelPath => Path.Combine(RepoRoot, "samples", "models", "parts-detector.onnx");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        var outDir = Path.Combine(Root, "package");
        var psi = new ProcessStartInfo("bash", [Path.Combine(RepoRoot, "scripts", "package-component.sh"), Version, "--rid", "linux-x64", "--framework-dependent", "--out", outDir, "--bucket", "placeholder-bucket"])
        {
            WorkingDirectory = RepoRoot,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"package-component.sh failed ({p.ExitCode}): {await stderr}{await stdout}");
        }

        Recipe = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(outDir, "recipe.json")))!.AsObject();
        foreach (var zip in Directory.GetFiles(outDir, "*.zip"))
        {
            // Unarchive: ZIP extracts into {artifacts:decompressedPath}/<zip name without extension>/.
            ZipFile.ExtractToDirectory(zip, Path.Combine(DecompressedPath, Path.GetFileNameWithoutExtension(zip)));
        }
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }

    /// <summary>The manifest the nucleus would pick on this machine (first whose platform matches linux/amd64).</summary>
    public JsonObject Manifest(string architecture = "amd64") =>
        Recipe["Manifests"]!.AsArray().Select(m => m!.AsObject())
            .First(m => m["Platform"]!["os"]!.GetValue<string>() == "linux" && m["Platform"]!["architecture"]!.GetValue<string>() == architecture);

    public JsonObject DefaultConfiguration => Recipe["ComponentConfiguration"]!["DefaultConfiguration"]!.AsObject();

    /// <summary>
    /// Interpolates recipe variables like the nucleus (KernelConfigResolver): artifacts, work path, thing name
    /// and <c>{configuration:/key}</c> from the default configuration merged with <paramref name="merge"/>;
    /// a missing configuration key stays uninterpolated.
    /// </summary>
    public string InterpolatedRunScript(IReadOnlyDictionary<string, string> merge, string thingName, string workPath)
    {
        var script = Manifest()["Lifecycle"]!["Run"]!["Script"]!.GetValue<string>();
        var config = DefaultConfiguration.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>());
        foreach (var (k, v) in merge)
        {
            config[k] = v;
        }

        script = script.Replace("{artifacts:decompressedPath}", DecompressedPath, StringComparison.Ordinal)
            .Replace("{artifacts:path}", Path.Combine(Root, "artifacts"), StringComparison.Ordinal)
            .Replace("{work:path}", workPath, StringComparison.Ordinal)
            .Replace("{iot:thingName}", thingName, StringComparison.Ordinal);
        return ConfigVariable().Replace(script, m => config.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);
    }

    [GeneratedRegex(@"\{configuration:/([^:}]*)\}")]
    private static partial Regex ConfigVariable();

    private static string FindRepoRoot()
    {
        if (Environment.GetEnvironmentVariable("EDGELABEL_REPO_ROOT") is { Length: > 0 } fromEnv)
        {
            return fromEnv;
        }

        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "EdgeLabelingStack.sln")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException("EdgeLabelingStack.sln not found above " + AppContext.BaseDirectory);
    }
}

[CollectionDefinition(Name)]
public sealed class PackagedComponentCollection : ICollectionFixture<PackagedComponent>
{
    public const string Name = "packaged edge component";
}

/// <summary>One run of the component's Run lifecycle through <c>sh -c</c>, with the nucleus environment.</summary>
public sealed class ComponentRun : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _out = new();
    private readonly Lock _gate = new();

    public ComponentRun(string script, string workPath, IReadOnlyDictionary<string, string?> environment)
    {
        Directory.CreateDirectory(workPath);
        var psi = new ProcessStartInfo("sh", ["-c", script])
        {
            WorkingDirectory = workPath,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // The nucleus does not pass the test runner's own S3 keys; credentials must come from the token exchange service.
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal) || k.StartsWith("EDGELABEL_", StringComparison.Ordinal) || k == "S3_ENDPOINT").ToList())
        {
            psi.Environment.Remove(name);
        }

        foreach (var (k, v) in environment)
        {
            psi.Environment[k] = v;
        }

        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get
        {
            lock (_gate)
            {
                return _out.ToString();
            }
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            _out.AppendLine(line);
        }
    }

    /// <summary>The nucleus environment for a component (section 3 of the Greengrass contract).</summary>
    public static Dictionary<string, string?> NucleusEnvironment(string thingName, string svcuid, string credentialsUri) => new()
    {
        ["AWS_IOT_THING_NAME"] = thingName,
        ["AWS_REGION"] = S3TestServer.Region,
        ["AWS_DEFAULT_REGION"] = S3TestServer.Region,
        ["GGC_VERSION"] = "2.15.0",
        ["GG_ROOT_CA_PATH"] = "",
        ["SVCUID"] = svcuid,
        ["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = svcuid,
        ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = credentialsUri,
        ["AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"] = "/nonexistent/ipc.socket",
    };

    public void SigTerm() => Signal(15);

    public void SigKill() => Signal(9);

    private void Signal(int sig)
    {
        if (!_process.HasExited && kill(_process.Id, sig) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {sig}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Waits for exit; returns how long it took, or null on timeout.</summary>
    public async Task<TimeSpan?> WaitForExitAsync(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return sw.Elapsed;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}

/// <summary>Reads the component's status file.</summary>
public static class StatusFile
{
    public static JsonObject? TryRead(string workPath)
    {
        var path = Path.Combine(workPath, "status.json");
        try
        {
            return File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))?.AsObject() : null;
        }
        catch (Exception ex) when (ex is IOException or JsonException)
        {
            return null;
        }
    }

    public static long Long(JsonObject s, string name) => s[name]!.GetValue<long>();
}
