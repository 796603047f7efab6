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
/// linux-x64, self-contained: the build that ships) and installs it the way a Greengrass nucleus does: the
/// ZIP is extracted without the modes stored in it, then the default artifact permissions and the recipe's
/// <c>Permission</c> are applied and the files are given to the component's user ([NUC] Permissions.java,
/// greengrass-contract.md). The component runs as an unprivileged user of its own (<see cref="ComponentUser"/>),
/// as ggc_user does on a core device; the tests run as root, as the nucleus does.
/// </summary>
public sealed partial class PackagedComponent : IAsyncLifetime
{
    public const string Version = "0.0.1";

    /// <summary>The unprivileged user the component runs as (ggc_user on a device).</summary>
    public const string ComponentUser = "edgelabel-ggc";

    /// <summary>The camera writer's group the tests' input folders belong to.</summary>
    public const string CameraGroup = "edgelabel-cam";

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "edge-gg-" + Guid.NewGuid().ToString("N")[..10]);

    /// <summary>{artifacts:decompressedPath}.</summary>
    public string DecompressedPath => Path.Combine(Root, "artifacts-decompressed");

    public JsonObject Recipe { get; private set; } = new();

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string ModelPath => Path.Combine(RepoRoot, "samples", "models", "parts-detector.onnx");

    public async Task InitializeAsync()
    {
        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException("the Greengrass harness runs the component as another user, as the nucleus does, and must run as root (as scripts/test.sh does in CI)");
        }

        Directory.CreateDirectory(Root);
        // Like /greengrass/v2: the component user may traverse it but owns nothing in it.
        DeviceAccounts.Chmod(Root, (UnixFileMode)0b111_101_101);
        DeviceAccounts.EnsureUserInGroup(ComponentUser, CameraGroup);
        var outDir = Path.Combine(Root, "package");
        var (code, output) = await DeviceAccounts.RunAsync("bash", [Path.Combine(RepoRoot, "scripts", "package-component.sh"), Version, "--rid", "linux-x64", "--out", outDir, "--bucket", "placeholder-bucket"], RepoRoot);
        if (code != 0)
        {
            throw new InvalidOperationException($"package-component.sh failed ({code}): {output}");
        }

        Recipe = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(outDir, "recipe.json")))!.AsObject();
        var artifact = Manifest()["Artifacts"]![0]!.AsObject();
        foreach (var zip in Directory.GetFiles(outDir, "*.zip"))
        {
            // Unarchive: ZIP extracts into {artifacts:decompressedPath}/<zip name without extension>/.
            ExtractLikeNucleus(zip, Path.Combine(DecompressedPath, Path.GetFileNameWithoutExtension(zip)), artifact["Permission"] as JsonObject, ComponentUser);
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

    /// <summary>
    /// Extracts as the nucleus does: entries are written with the default mode (the modes in the ZIP are not
    /// kept), then folders get rwxr-xr-x, files r-------- plus what the recipe's <c>Permission</c> grants
    /// (Read/Execute: OWNER or ALL), and everything is given to <paramref name="owner"/>.
    /// </summary>
    public static void ExtractLikeNucleus(string zip, string destination, JsonObject? permission, string owner)
    {
        using (var archive = ZipFile.OpenRead(zip))
        {
            foreach (var entry in archive.Entries)
            {
                var target = Path.GetFullPath(Path.Combine(destination, entry.FullName));
                if (entry.FullName.EndsWith('/'))
                {
                    Directory.CreateDirectory(target);
                    continue;
                }

                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                using var from = entry.Open();
                using var to = File.Create(target);
                from.CopyTo(to);
            }
        }

        var read = permission?["Read"]?.GetValue<string>() ?? "OWNER";
        var execute = permission?["Execute"]?.GetValue<string>() ?? "NONE";
        var fileMode = UnixFileMode.None;
        fileMode |= read switch { "ALL" => UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead, "OWNER" => UnixFileMode.UserRead, _ => UnixFileMode.None };
        fileMode |= execute switch
        {
            "ALL" => UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute,
            "OWNER" => UnixFileMode.UserRead | UnixFileMode.UserExecute,
            _ => UnixFileMode.None,
        };
        DeviceAccounts.Chmod(destination, (UnixFileMode)0b111_101_101);
        foreach (var dir in Directory.GetDirectories(destination, "*", SearchOption.AllDirectories))
        {
            DeviceAccounts.Chmod(dir, (UnixFileMode)0b111_101_101);
        }

        foreach (var file in Directory.GetFiles(destination, "*", SearchOption.AllDirectories))
        {
            DeviceAccounts.Chmod(file, fileMode);
        }

        DeviceAccounts.Chown(destination, owner, recursive: true);
    }

    /// <summary>The manifest the nucleus would pick on this machine (first whose platform matches linux/amd64).</summary>
    public JsonObject Manifest(string architecture = "amd64") =>
        Recipe["Manifests"]!.AsArray().Select(m => m!.AsObject())
            .First(m => m["Platform"]!["os"]!.GetValue<string>() == "linux" && m["Platform"]!["architecture"]!.GetValue<string>() == architecture);

    public JsonObject DefaultConfiguration => Recipe["ComponentConfiguration"]!["DefaultConfiguration"]!.AsObject();

    /// <summary>
    /// Interpolates a lifecycle step like the nucleus (KernelConfigResolver): artifacts, work path, thing name
    /// and <c>{configuration:/key}</c> from the default configuration merged with <paramref name="merge"/>;
    /// a missing configuration key stays uninterpolated.
    /// </summary>
    public string InterpolatedScript(string step, IReadOnlyDictionary<string, string> merge, string thingName, string workPath)
    {
        var script = Manifest()["Lifecycle"]![step]!["Script"]!.GetValue<string>();
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

    public string InterpolatedRunScript(IReadOnlyDictionary<string, string> merge, string thingName, string workPath) =>
        InterpolatedScript("Run", merge, thingName, workPath);

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

/// <summary>Accounts, ownership and folders of a core device, done with the system tools as root.</summary>
public static class DeviceAccounts
{
    private static readonly Lock Gate = new();

    /// <summary>Creates the (system) user and group when missing and makes the user a member of the group.</summary>
    public static void EnsureUserInGroup(string user, string group)
    {
        lock (Gate)
        {
            if (Run("getent", "group", group).Code != 0)
            {
                Check(Run("groupadd", "--system", group), "groupadd");
            }

            if (Run("id", "-u", user).Code != 0)
            {
                Check(Run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", user), "useradd");
            }

            if (!GroupsOf(user).Contains(group))
            {
                Check(Run("usermod", "-a", "-G", group, user), "usermod");
            }
        }
    }

    /// <summary>The names of the groups <paramref name="user"/> is in (from the account database).</summary>
    public static IReadOnlyList<string> GroupsOf(string user) =>
        Run("id", "-nG", user).Output.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Sets a file's mode (the harness models a Linux device).</summary>
    public static void Chmod(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the Greengrass harness models a Linux core device");
        }

        File.SetUnixFileMode(path, mode);
    }

    public static void Chown(string path, string owner, bool recursive = false) =>
        Check(recursive ? Run("chown", "-R", owner + ":", path) : Run("chown", owner + ":", path), "chown");

    /// <summary>The folder the nucleus gives a component as {work:path}: its user's, mode 0700.</summary>
    public static void CreateWorkFolder(string path, string user)
    {
        Directory.CreateDirectory(path);
        Chown(path, user);
        DeviceAccounts.Chmod(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>
    /// The input folder as docs/deploy.md describes it (and the self-test creates it): root:camera-group,
    /// mode 2770, inside a root-owned parent the component cannot write to.
    /// </summary>
    public static void CreateCameraInbox(string path, string cameraGroup = PackagedComponent.CameraGroup)
    {
        if (Directory.Exists(path))
        {
            return;
        }

        Directory.CreateDirectory(path);
        Check(Run("chown", "root:" + cameraGroup, path), "chown");
        DeviceAccounts.Chmod(path, (UnixFileMode)0b010_111_111_000);
    }

    public static (int Code, string Output) Run(string tool, params string[] args) => RunAsync(tool, args, null).GetAwaiter().GetResult();

    public static async Task<(int Code, string Output)> RunAsync(string tool, string[] args, string? workingDirectory)
    {
        var psi = new ProcessStartInfo(tool, args) { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = workingDirectory ?? "" };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr);
    }

    private static void Check((int Code, string Output) r, string what)
    {
        if (r.Code != 0)
        {
            throw new InvalidOperationException($"{what} failed ({r.Code}): {r.Output}");
        }
    }
}

/// <summary>
/// One run of a lifecycle step through <c>sh -c</c> with the nucleus environment. Run steps execute as the
/// component's unprivileged user (what the nucleus does with <c>runWith</c>/ggc_user), steps with
/// <c>RequiresPrivilege</c> as root. The working directory is {work:path}.
/// </summary>
public sealed class ComponentRun : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _out = new();
    private readonly Lock _gate = new();

    /// <summary>
    /// Starts a Run <paramref name="script"/> as the component user on a device set up as docs/deploy.md says:
    /// {work:path} is the user's (0700, created like the nucleus does) and the script's input folder exists as
    /// root:camera-group 2770 (what the Install step's self-test leaves behind; <see cref="GreengrassDevice"/>
    /// runs that step for real).
    /// </summary>
    public ComponentRun(string script, string workPath, IReadOnlyDictionary<string, string?> environment)
        : this(script, workPath, environment, privileged: false, inputDirectory: InputDirectoryOf(script))
    {
    }

    private static string? InputDirectoryOf(string script) =>
        Regex.Match(script, "--InputDirectory '([^']*)'") is { Success: true } m ? m.Groups[1].Value : null;

    private ComponentRun(string script, string workPath, IReadOnlyDictionary<string, string?> environment, bool privileged, string? inputDirectory = null)
    {
        if (inputDirectory is { Length: > 0 })
        {
            DeviceAccounts.CreateCameraInbox(inputDirectory);
        }

        if (!Directory.Exists(workPath))
        {
            DeviceAccounts.CreateWorkFolder(workPath, PackagedComponent.ComponentUser);
        }

        var user = PackagedComponent.ComponentUser;
        var psi = privileged
            ? new ProcessStartInfo("sh", ["-c", script])
            // setpriv keeps the environment and the PID (it execs sh), and takes the user's groups from /etc/group.
            : new ProcessStartInfo("setpriv", ["--reuid=" + user, "--regid=" + user, "--init-groups", "--", "sh", "-c", script]);
        psi.WorkingDirectory = workPath;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        // The nucleus does not pass the test runner's own S3 keys; credentials must come from the token exchange service.
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal) || k.StartsWith("EDGELABEL_", StringComparison.Ordinal) || k == "S3_ENDPOINT").ToList())
        {
            psi.Environment.Remove(name);
        }

        // A user's process on a device has its own HOME; root's is not readable by it.
        psi.Environment["HOME"] = privileged ? "/root" : workPath;
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

    /// <summary>Starts a lifecycle step as the nucleus would: as root when it has RequiresPrivilege, else as the component user; nothing is prepared.</summary>
    public static ComponentRun StartStep(string script, string workPath, IReadOnlyDictionary<string, string?> environment, bool privileged) =>
        new(script, workPath, environment, privileged);

    /// <summary>Runs a privileged step (Install with RequiresPrivilege) as root to the end; returns its exit code and output, or null exit code on timeout.</summary>
    public static async Task<(int? ExitCode, string Output)> RunPrivilegedAsync(string script, string workPath, IReadOnlyDictionary<string, string?> environment, TimeSpan timeout)
    {
        using var run = new ComponentRun(script, workPath, environment, privileged: true);
        var took = await run.WaitForExitAsync(timeout);
        return (took is null ? null : run.ExitCode, run.Output);
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

    /// <summary>Waits for exit as long as <paramref name="token"/> allows; false when it was cancelled first.</summary>
    public async Task<bool> WaitForExitAsync(CancellationToken token)
    {
        try
        {
            await _process.WaitForExitAsync(token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
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
