namespace EdgeLabeling.IntegrationTests.Packaging;

/// <summary>
/// The upload queue on the oldest system SQLite of the supported fleet generation: the Edge test suite's queue
/// tests run again with Debian 11's x86-64 libsqlite3.so.0 (3.34.1, no RETURNING) first on LD_LIBRARY_PATH.
/// The component loads the operating system's SQLite, so the SQL must work on what the devices have.
/// </summary>
[Trait("Category", "Integration")]
public sealed class OldSystemSqliteTests
{
    [Fact]
    public async Task EdgeQueueTests_OnDebian11Sqlite_AllPass()
    {
        var sysroot = await Scripts.RunAsync("arm64-sysroot.sh");
        Assert.True(sysroot.ExitCode == 0, sysroot.Output);
        var libraries = Path.Combine(sysroot.StdOut.Trim(), "amd64-sqlite");
        var edgeTests = EdgeTestsAssembly();

        var psi = new System.Diagnostics.ProcessStartInfo("dotnet",
        [
            "test", edgeTests, "--nologo",
            // Outbox*, SystemSqlite*: every test that runs SQL. The first-release migration test is left out: it
            // builds its old-format queue with ALTER TABLE DROP COLUMN (SQLite 3.35), which only the test uses.
            "--filter", "(FullyQualifiedName~Outbox|FullyQualifiedName~SystemSqlite)&FullyQualifiedName!~Open_QueueFromFirstRelease",
        ])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["LD_LIBRARY_PATH"] = libraries;
        psi.Environment["EDGELABEL_EXPECT_SQLITE_VERSION"] = "3.34.1";
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        var output = await stdout + await stderr;

        Assert.True(p.ExitCode == 0, output);
        var passed = System.Text.RegularExpressions.Regex.Match(output, @"Passed:\s+(\d+)");
        Assert.True(passed.Success && int.Parse(passed.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 20, output);
    }

    /// <summary>tests/EdgeLabeling.Edge.Tests built in the same configuration as this assembly.</summary>
    private static string EdgeTestsAssembly()
    {
        var own = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = own.Name;
        var configuration = own.Parent!.Name;
        var path = Path.Combine(Edge.PackagedComponent.RepoRoot, "tests", "EdgeLabeling.Edge.Tests", "bin", configuration, framework, "EdgeLabeling.Edge.Tests.dll");
        return File.Exists(path) ? path : throw new InvalidOperationException($"{path} not found: build the solution first (scripts/test.sh does)");
    }
}
