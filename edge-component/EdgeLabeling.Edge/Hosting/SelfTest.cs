using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Queue;
using EdgeLabeling.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SkiaSharp;

namespace EdgeLabeling.Edge.Hosting;

/// <summary>
/// <c>--self-test</c>: everything the component needs before it can do its work, checked with the same
/// arguments as the real run, so the Greengrass <c>Install</c> step fails the deployment (and triggers the
/// rollback) instead of a Run that crashes after the nucleus has already reported success. It validates the
/// options, loads the model and runs it on a small image (ONNX Runtime and SkiaSharp native libraries),
/// prepares the input folder when running as root, then — as the work folder's owner, the user the
/// component runs as — checks that the input folder can be read and written and opens the queue (SQLite).
/// </summary>
public static class SelfTest
{
    /// <summary>The command-line switch.</summary>
    public const string Switch = "--self-test";

    /// <summary>Exit code when the device cannot run the component (native library, folder, queue).</summary>
    public const int EnvironmentErrorExitCode = 3;

    /// <summary>Mode of an input folder the self-test creates: group members read, write and delete frames;
    /// setgid so frames the camera writes belong to the camera's group.</summary>
    public const UnixFileMode InputDirectoryMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.SetGroup;

    public static bool Requested(string[] args) => args.Contains(Switch, StringComparer.Ordinal);

    /// <summary>Runs the checks; returns the process exit code (0 = the component can run here).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var hostArgs = args.Where(a => a != Switch).ToArray();
        string step = "options";
        try
        {
            using var host = EdgeComponentHost.CreateBuilder(hostArgs).Build();
            var o = host.Services.GetRequiredService<IOptions<EdgeOptions>>().Value;

            step = "model";
            var labeler = host.Services.GetRequiredService<IImageLabeler>();

            step = "image decoding and inference (SkiaSharp, ONNX Runtime)";
            var decision = labeler.Process(new ImageInput("self-test.jpg", TestImage(), o.Camera, DateTimeOffset.UtcNow));
            if (decision.Outcome == RoutingOutcome.Quarantine)
            {
                throw new SelfTestException($"the decoder rejected a valid test image ({decision.Reason})");
            }

            step = "input folder";
            if (UnixAccounts.IsRoot)
            {
                PrepareAsRoot(o, output);
            }

            step = "input folder";
            CheckInputFolder(o.InputDirectory);

            step = "queue (SQLite)";
            using (var outbox = Outbox.Open(Path.Combine(o.WorkDirectory, "queue"), o.DiskQuotaBytes, o.EvictionPolicy))
            {
                _ = outbox.GetStats();
            }

            await output.WriteLineAsync($"edgelabeling-component: self-test passed (model {labeler.Detector.ModelPath}, input {o.InputDirectory}, queue {Path.Combine(o.WorkDirectory, "queue")}, user {Environment.UserName})").ConfigureAwait(false);
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            await error.WriteLineAsync("edgelabeling-component: self-test failed: invalid configuration: " + string.Join("; ", ex.Failures)).ConfigureAwait(false);
            return EdgeComponentHost.ConfigurationErrorExitCode;
        }
        catch (Exception ex) when (EdgeComponentHost.IsConfigurationError(ex))
        {
            var inner = ex is InvalidOperationException { InnerException: { } i } ? i : ex;
            await error.WriteLineAsync("edgelabeling-component: self-test failed: " + inner.Message).ConfigureAwait(false);
            return EdgeComponentHost.ConfigurationErrorExitCode;
        }
        catch (Exception ex)
        {
            // Native libraries that do not load surface as DllNotFoundException/TypeInitializationException.
            var root = ex;
            while (root is TypeInitializationException or SelfTestException && root.InnerException is { } next)
            {
                root = next;
            }

            var message = ex is SelfTestException || root == ex ? ex.Message : ex.Message + " -> " + root.Message;
            await error.WriteLineAsync($"edgelabeling-component: self-test failed at {step}: {message} [{root.GetType().Name}]").ConfigureAwait(false);
            return EnvironmentErrorExitCode;
        }
    }

    /// <summary>
    /// As root (the Install step runs with RequiresPrivilege): create the input folder root:CameraGroup 2770
    /// when it is missing (the group too), put the component's user in the camera's group, then continue as
    /// that user, the owner of the work folder, so the remaining checks see what the Run step will see.
    /// </summary>
    private static void PrepareAsRoot(EdgeOptions o, TextWriter output)
    {
        Directory.CreateDirectory(o.WorkDirectory);
        var (uid, _) = UnixAccounts.OwnerOf(o.WorkDirectory);
        var user = UnixAccounts.User(uid) ?? throw new SelfTestException($"the owner (uid {uid}) of the work folder '{o.WorkDirectory}' is not in the user database");
        uint? cameraGid = null;
        if (!string.IsNullOrEmpty(o.CameraGroup))
        {
            cameraGid = UnixAccounts.GroupId(o.CameraGroup);
            if (cameraGid is null)
            {
                UnixAccounts.Run("groupadd", "--system", o.CameraGroup);
                cameraGid = UnixAccounts.GroupId(o.CameraGroup) ?? throw new SelfTestException($"group '{o.CameraGroup}' was added but cannot be found");
                output.WriteLine($"edgelabeling-component: created group {o.CameraGroup}; add the camera writer's user to it");
            }

            if (uid != 0)
            {
                UnixAccounts.Run("usermod", "-a", "-G", o.CameraGroup, user.Name);
            }
        }

        if (!Directory.Exists(o.InputDirectory))
        {
            Directory.CreateDirectory(o.InputDirectory);
            // Without a camera group the component's own user owns the folder.
            UnixAccounts.SetOwner(o.InputDirectory, cameraGid is null ? uid : 0, cameraGid ?? user.Gid);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(o.InputDirectory, InputDirectoryMode);
            }
            output.WriteLine($"edgelabeling-component: created input folder {o.InputDirectory} ({(cameraGid is null ? user.Name : "root")}:{(cameraGid is null ? user.Gid.ToString(System.Globalization.CultureInfo.InvariantCulture) : o.CameraGroup)}, mode 2770)");
        }

        if (uid != 0)
        {
            UnixAccounts.DropTo(uid, user.Name, user.Gid);
        }
    }

    /// <summary>The component must list the folder, read frames and delete them: a probe file is written and removed.</summary>
    private static void CheckInputFolder(string dir)
    {
        if (!Directory.Exists(dir))
        {
            throw new SelfTestException($"input folder '{dir}' does not exist (run the Install step with RequiresPrivilege so the self-test creates it, or create it)");
        }

        // A dot name: the intake ignores it even if a crash left it behind.
        var probe = Path.Combine(dir, $".edgelabeling-self-test-{Environment.ProcessId}");
        try
        {
            _ = Directory.EnumerateFileSystemEntries(dir).Take(1).ToList();
            File.WriteAllBytes(probe, [1]);
            _ = File.ReadAllBytes(probe);
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new SelfTestException($"input folder '{dir}' is not readable and writable by user {Environment.UserName} ({ex.Message}); it needs the camera's group with mode 2770, and this user in that group", ex);
        }
    }

    private static byte[] TestImage()
    {
        using var bmp = new SKBitmap(64, 48);
        using (var canvas = new SKCanvas(bmp))
        {
            canvas.Clear(new SKColor(90, 120, 150));
        }

        using var image = SKImage.FromBitmap(bmp);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }
}

/// <summary>A self-test check that failed, with a message naming what to fix.</summary>
public sealed class SelfTestException(string message, Exception? inner = null) : Exception(message, inner);
