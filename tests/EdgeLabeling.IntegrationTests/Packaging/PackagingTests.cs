using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using EdgeLabeling.IntegrationTests.Edge;

namespace EdgeLabeling.IntegrationTests.Packaging;

/// <summary>
/// scripts/package-component.sh produces the same bytes from the same input (so a released version's digest
/// never changes) and refuses to overwrite a packaged version with different content. Framework-dependent
/// linux-x64 keeps each run short; the zip step is the same for every build.
/// </summary>
[Trait("Category", "Integration")]
public sealed class PackagingTests : IDisposable
{
    private const string Version = "0.0.7";
    private const string Zip = "edgelabeling-component-linux-x64.zip";
    private readonly TempDir _temp = new("edge-pack-");

    public void Dispose() => _temp.Dispose();

    private Task PackageAsync(string outDir, params string[] extra) =>
        Scripts.PackageAsync([Version, "--rid", "linux-x64", "--framework-dependent", "--out", outDir, .. extra]);

    private static string Sha(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public async Task PackageComponent_SameInputTwiceThenOtherContent_SameBytesThenRefused()
    {
        var first = Path.Combine(_temp.Path, "first");
        var second = Path.Combine(_temp.Path, "second");

        await PackageAsync(first);
        await PackageAsync(second);

        // Two builds, two folders: identical archives and recipes.
        Assert.Equal(Sha(Path.Combine(first, Zip)), Sha(Path.Combine(second, Zip)));
        Assert.Equal(Sha(Path.Combine(first, "recipe.json")), Sha(Path.Combine(second, "recipe.json")));

        // Repackaging the same version with the same input into the existing folder is accepted (nothing changes).
        var before = Sha(Path.Combine(first, Zip));
        await PackageAsync(first);
        Assert.Equal(before, Sha(Path.Combine(first, Zip)));

        // The same version with another model is different content: refused, and the packaged files stay as they were.
        var otherModel = Path.Combine(_temp.Path, "other-model.onnx");
        File.WriteAllBytes(otherModel, [.. File.ReadAllBytes(PackagedComponent.ModelPath), 0]);
        var refused = await Scripts.RunAsync("package-component.sh", Version, "--rid", "linux-x64", "--framework-dependent", "--out", first, "--model", otherModel);

        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains($"version {Version} is already packaged", refused.StdErr);
        Assert.Contains("bump the version", refused.StdErr);
        Assert.Equal(before, Sha(Path.Combine(first, Zip)));
    }

    [Fact]
    public async Task PackageComponent_Archive_HasSortedEntriesFixedTimesAndModes()
    {
        var outDir = Path.Combine(_temp.Path, "out");
        await PackageAsync(outDir);

        using var zip = ZipFile.OpenRead(Path.Combine(outDir, Zip));
        var names = zip.Entries.Select(e => e.FullName).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Assert.Contains("model/parts-detector.onnx", names);
        Assert.All(zip.Entries, e => Assert.Equal(new DateTime(1980, 1, 1, 0, 0, 0), e.LastWriteTime.DateTime));
        // Unix mode in the high 16 bits: regular file, 0644 or 0755 (Greengrass drops them and applies the recipe's Permission).
        Assert.All(zip.Entries, e => Assert.Contains((e.ExternalAttributes >> 16) & 0xFFFF, new[] { 0x81A4, 0x81ED }));
        Assert.DoesNotContain(names, n => n.EndsWith('/') || n.StartsWith('/') || n.Contains("..", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PackageComponent_Recipe_HasFailingManifestFor32BitArm()
    {
        var outDir = Path.Combine(_temp.Path, "arm");
        await PackageAsync(outDir);

        var recipe = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(outDir, "recipe.json")))!;
        var arm = recipe["Manifests"]!.AsArray().Single(m => m!["Platform"]!["architecture"]!.GetValue<string>() == "arm")!;
        Assert.Null(arm["Artifacts"]);
        var install = arm["Lifecycle"]!["Install"]!["Script"]!.GetValue<string>();
        var run = await ShAsync(install);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("needs a 64-bit Linux", run.StdErr);
        Assert.Equal("SOFT", recipe["ComponentDependencies"]!["aws.greengrass.Nucleus"]!["DependencyType"]!.GetValue<string>());
    }

    private static async Task<ScriptResult> ShAsync(string script)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("sh", ["-c", script]) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return new ScriptResult(p.ExitCode, await o, await e);
    }
}
