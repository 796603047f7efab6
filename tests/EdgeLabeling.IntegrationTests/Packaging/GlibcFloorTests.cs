using System.IO.Compression;

namespace EdgeLabeling.IntegrationTests.Packaging;

/// <summary>
/// scripts/check-glibc-floor.sh: every ELF file in both shipped archives runs on glibc 2.28 (the documented
/// floor), and a library built against a newer glibc — SQLitePCLRaw's bundled libe_sqlite3.so, which the
/// component shipped before it switched to the system SQLite — is caught, for x86-64 and AArch64 alike.
/// </summary>
[Collection(SelfContainedPackageCollection.Name)]
[Trait("Category", "Integration")]
public sealed class GlibcFloorTests(SelfContainedPackage package) : IDisposable
{
    private readonly TempDir _temp = new("glibc-floor-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task CheckGlibcFloor_ShippedArchives_PassAtDocumentedFloor()
    {
        var result = await Scripts.RunAsync("check-glibc-floor.sh", package.Zip("linux-x64"), package.Zip("linux-arm64"));

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("need at most glibc 2.28", result.StdOut);
        // The libraries that set the floor were all looked at, in both archives.
        foreach (var rid in new[] { "linux-x64", "linux-arm64" })
        {
            Assert.Contains($"ok edgelabeling-component-{rid}.zip:libonnxruntime.so glibc=2.28", result.StdOut);
            Assert.Contains($"ok edgelabeling-component-{rid}.zip:libSkiaSharp.so", result.StdOut);
            Assert.Contains($"ok edgelabeling-component-{rid}.zip:libcoreclr.so", result.StdOut);
            Assert.Contains($"ok edgelabeling-component-{rid}.zip:edgelabeling-component ", result.StdOut);
        }

        // No bundled SQLite any more: the component uses the device's libsqlite3.so.0.
        Assert.DoesNotContain("libe_sqlite3.so", result.StdOut);
    }

    [Theory]
    [InlineData("linux-x64")]
    [InlineData("linux-arm64")]
    public async Task CheckGlibcFloor_BundledSqliteNeedingGlibc234_Fails(string rid)
    {
        var zip = Path.Combine(_temp.Path, $"old-{rid}.zip");
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            archive.CreateEntryFromFile(BundledSqlite(rid), "libe_sqlite3.so");
        }

        var result = await Scripts.RunAsync("check-glibc-floor.sh", zip);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"FAIL old-{rid}.zip:libe_sqlite3.so glibc=2.34", result.StdOut);
        Assert.Contains("needs more than glibc 2.28", result.StdErr);
        // Lowering the bar to what the library needs lets it through: the check compares versions, not names.
        Assert.Equal(0, (await Scripts.RunAsync("check-glibc-floor.sh", zip, "--glibc", "2.34")).ExitCode);
    }

    /// <summary>The libe_sqlite3.so SQLitePCLRaw 2.1.13 ships (the cloud code still restores it).</summary>
    private static string BundledSqlite(string rid)
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var path = Path.Combine(packages, "sqlitepclraw.lib.e_sqlite3", "2.1.13", "runtimes", rid, "native", "libe_sqlite3.so");
        return File.Exists(path) ? path : throw new InvalidOperationException($"{path} not found: restore the solution first (scripts/setup.sh)");
    }
}
