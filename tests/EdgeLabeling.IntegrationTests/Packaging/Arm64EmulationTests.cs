using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.IntegrationTests.Edge;

namespace EdgeLabeling.IntegrationTests.Packaging;

/// <summary>
/// Runs the shipped linux-arm64 archive under qemu-user on Debian 11's own arm64 libraries (glibc 2.31,
/// SQLite 3.34.1, OpenSSL 1.1, ICU 67; scripts/arm64-sysroot.sh) and the linux-x64 archive natively, on the
/// same sample images, and requires the same decision for every image. Slow (about 2 minutes of emulation):
/// it proves that ONNX Runtime, SkiaSharp, .NET and the system SQLite all load and work on the oldest arm64
/// OS generation the component supports.
/// </summary>
[Collection(SelfContainedPackageCollection.Name)]
[Trait("Category", "Integration")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class Arm64EmulationTests(SelfContainedPackage package) : IDisposable
{
    private static readonly string[] Frames = ["part-001.jpg", "part-002.jpg", "part-003.jpg", "part-004.png"];
    private readonly TempDir _temp = new("edge-arm64-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task PackagedArm64_UnderEmulationOnDebian11Libraries_DecidesLikeX64()
    {
        var sysrootScript = await Scripts.RunAsync("arm64-sysroot.sh");
        Assert.True(sysrootScript.ExitCode == 0, "scripts/arm64-sysroot.sh failed (scripts/setup.sh prepares it):\n" + sysrootScript.Output);
        var root = sysrootScript.StdOut.Trim();
        var qemu = Which("qemu-aarch64-static") ?? throw new InvalidOperationException("qemu-aarch64-static not found: scripts/setup.sh installs qemu-user-static");

        var x64 = Unpack("linux-x64");
        var arm64 = Unpack("linux-arm64");
        var x64Run = Start("x64", x64, Path.Combine(x64, "edgelabeling-component"), []);
        // A private mount namespace so the arm64 /proc/cpuinfo (ONNX Runtime's CPU probe crashes on the host's
        // x86 one) is seen by this process only; -L makes the sysroot the emulated program's root for libraries.
        var arm64Run = Start("arm64", arm64, "unshare", ["-m", "sh", "-c",
            $"mount --bind '{root}/cpuinfo' /proc/cpuinfo && exec '{qemu}' -L '{root}/sysroot' '{arm64}/edgelabeling-component' \"$@\"", "qemu"]);
        using (x64Run)
        using (arm64Run)
        {
            await x64Run.WaitForDecisionsAsync(Frames.Length, TimeSpan.FromMinutes(2));
            await arm64Run.WaitForDecisionsAsync(Frames.Length, TimeSpan.FromMinutes(8));

            // The emulated process mapped the arm64 builds of every native library, and SQLite from Debian 11.
            var maps = await File.ReadAllTextAsync($"/proc/{arm64Run.Pid}/maps");
            Assert.Contains($"{root}/sysroot/usr/lib/aarch64-linux-gnu/libsqlite3.so.0.8.6", maps);
            Assert.Contains($"{root}/sysroot/lib/aarch64-linux-gnu/libc-2.31.so", maps);
            Assert.Contains($"{arm64}/libonnxruntime.so", maps);
            Assert.Contains($"{arm64}/libSkiaSharp.so", maps);

            var expected = x64Run.Decisions();
            var actual = arm64Run.Decisions();
            Assert.Equal(Frames.Order(StringComparer.Ordinal), expected.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(expected, actual);
            // Every frame was kept for upload or labeled: none went to quarantine on either platform.
            Assert.DoesNotContain(actual.Values, d => d.Outcome == "quarantine");

            // Queued in SQLite on both (the S3 endpoint is closed, so everything stays queued), then a clean stop.
            foreach (var run in new[] { x64Run, arm64Run })
            {
                var status = StatusFile.TryRead(run.Work)!;
                Assert.True(StatusFile.Long(status, "queuedItems") > 0, run.Output);
                run.SigTerm();
                Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(60)), $"{run.Name} did not stop after SIGTERM:\n{run.Output}");
                Assert.True(run.ExitCode == 0, $"{run.Name} exit code {run.ExitCode}:\n{run.Output}");
            }
        }
    }

    /// <summary>Unpacks an archive the way the nucleus does (modes dropped) and applies Execute: OWNER to the program.</summary>
    private string Unpack(string rid)
    {
        var dir = Path.Combine(_temp.Path, "artifacts", "edgelabeling-component-" + rid);
        ZipFile.ExtractToDirectory(package.Zip(rid), dir);
        File.SetUnixFileMode(Path.Combine(dir, "edgelabeling-component"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return dir;
    }

    private ComponentProcess Start(string name, string artifacts, string program, string[] prefix)
    {
        var inbox = Path.Combine(_temp.Path, name, "inbox");
        var work = Path.Combine(_temp.Path, name, "work");
        Directory.CreateDirectory(inbox);
        Directory.CreateDirectory(work);
        foreach (var frame in Frames)
        {
            File.Copy(Path.Combine(EdgeTestKit.SamplesImages, frame), Path.Combine(inbox, frame));
        }

        var routing = EdgeTestKit.NoDuplicatesRoutingConfig(Path.Combine(_temp.Path, name));
        string[] options =
        [
            "--ThingName", "arm64-emulation", "--WorkDirectory", work, "--InputDirectory", inbox,
            "--ModelPath", Path.Combine(artifacts, "model", "parts-detector.onnx"),
            "--Bucket", "edge-emulation", "--S3Endpoint", "http://127.0.0.1:9",
            // Audit sampling is random; off, every decision depends on the model output alone.
            "--AuditRate", "0", "--RoutingConfigPath", routing,
            "--FileStableMilliseconds", "100", "--PollMilliseconds", "100", "--StatusIntervalSeconds", "1",
            "--RetryMaxBackoffSeconds", "30", "--LowPriorityWindow", "",
        ];
        return new ComponentProcess(name, work, program, [.. prefix, .. options]);
    }

    private static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    private sealed record Decision(string Outcome, int Boxes, string Key);

    /// <summary>One component process; collects its JSON log lines.</summary>
    private sealed class ComponentProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _out = new();
        private readonly Lock _gate = new();

        public ComponentProcess(string name, string work, string program, string[] args)
        {
            Name = name;
            Work = work;
            var psi = new ProcessStartInfo(program, args) { WorkingDirectory = work, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal) || k.StartsWith("EDGELABEL_", StringComparison.Ordinal)).ToList())
            {
                psi.Environment.Remove(key);
            }

            psi.Environment["AWS_REGION"] = "eu-west-1";
            _process = new Process { StartInfo = psi };
            _process.OutputDataReceived += (_, e) => Append(e.Data);
            _process.ErrorDataReceived += (_, e) => Append(e.Data);
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Name { get; }

        public string Work { get; }

        public int Pid => _process.Id;

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

        /// <summary>File → decision, from the intake's "Frame {File} -> {Outcome}" log lines.</summary>
        public Dictionary<string, Decision> Decisions()
        {
            var result = new Dictionary<string, Decision>(StringComparer.Ordinal);
            foreach (var line in Output.Split('\n').Where(l => l.StartsWith('{')))
            {
                JsonNode? state;
                try
                {
                    state = JsonNode.Parse(line)?["State"];
                }
                catch (JsonException)
                {
                    continue;
                }

                if (state?["File"] is JsonValue file && state["Outcome"] is JsonValue outcome && state["Key"] is JsonValue key && state["Boxes"] is JsonValue boxes)
                {
                    result[file.GetValue<string>()] = new Decision(outcome.GetValue<string>(), boxes.GetValue<int>(), key.GetValue<string>());
                }
            }

            return result;
        }

        public async Task WaitForDecisionsAsync(int count, TimeSpan timeout)
        {
            await Eventually.Until(
                () => Decisions().Count >= count || _process.HasExited,
                timeout,
                () => $"{Name}: {count} frame decisions; output:\n{Output}", EdgeTestKit.StatusPoll);
            if (_process.HasExited)
            {
                Assert.Fail($"{Name} exited early ({_process.ExitCode}):\n{Output}");
            }
        }

        public void SigTerm() => Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();

        public async Task<bool> WaitForExitAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await _process.WaitForExitAsync(cts.Token);
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
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }

            _process.Dispose();
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
    }
}
