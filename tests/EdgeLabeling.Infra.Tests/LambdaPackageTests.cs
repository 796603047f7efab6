using System.Diagnostics;
using System.Reflection.PortableExecutable;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Infra.Tests;

/// <summary>Runs scripts/publish-lambdas.sh and inspects the package the stacks would deploy.</summary>
public sealed class LambdaPackageTests
{
    [Theory]
    [Trait("Category", "Integration")]
    [InlineData("arm64", "linux-arm64")]
    [InlineData("x86_64", "linux-x64")]
    public async Task PublishScript_Package_IsOneRidReadyToRunWithoutSqlite(string architecture, string rid)
    {
        var output = Path.Combine(Path.GetTempPath(), "edgelabeling-lambda-package-" + Guid.NewGuid().ToString("N"));
        try
        {
            var start = new ProcessStartInfo("bash", [Path.Combine(RepoPaths.Root, "scripts", "publish-lambdas.sh"), "--arch", architecture, "--output", output])
            {
                WorkingDirectory = RepoPaths.Root,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
            await process.WaitForExitAsync(timeout.Token);
            Assert.True(process.ExitCode == 0, $"scripts/publish-lambdas.sh failed ({process.ExitCode}):{Environment.NewLine}{await stderr}{await stdout}");

            // One architecture: the deps file targets the RID, and no runtimes/<rid>/ tree for other platforms.
            var deps = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "EdgeLabeling.Lambdas.deps.json")))!;
            Assert.Equal($".NETCoreApp,Version=v10.0/{rid}", deps["runtimeTarget"]!["name"]!.GetValue<string>());
            Assert.False(Directory.Exists(Path.Combine(output, "runtimes")), "the package has a runtimes/ folder");

            // The local-only SQLite store is neither shipped nor declared (a declared, missing file breaks loading).
            Assert.DoesNotContain(Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories), f => f.Contains("sqlite", StringComparison.OrdinalIgnoreCase));
            Assert.DoesNotContain("sqlite", deps.ToJsonString(), StringComparison.OrdinalIgnoreCase);

            // ReadyToRun: the handler and core assemblies carry precompiled code (a managed native header).
            foreach (var assembly in new[] { LambdaFunctions.HandlerAssembly, "EdgeLabeling.Labeling" })
            {
                using var pe = new PEReader(File.OpenRead(Path.Combine(output, assembly + ".dll")));
                Assert.True(pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0, $"{assembly}.dll is not ReadyToRun");
            }
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }
}
