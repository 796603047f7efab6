using EdgeLabeling.Edge.Queue;
using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Edge.Tests;

public sealed class SystemSqliteTests : IDisposable
{
    /// <summary>
    /// Set by the integration test that runs these tests against an older system SQLite through
    /// LD_LIBRARY_PATH (Debian 11's 3.34.1, which has no RETURNING); it names the version that must be loaded.
    /// </summary>
    public const string ExpectedVersionVariable = "EDGELABEL_EXPECT_SQLITE_VERSION";

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void OutboxOpen_OnLinux_UsesTheOperatingSystemsLibrary()
    {
        using var outbox = Outbox.Open(_dir.Path, 1024 * 1024);

        Assert.Equal("sqlite3", SQLitePCL.raw.GetNativeLibraryName());
        if (OperatingSystem.IsLinux())
        {
            var maps = File.ReadAllText("/proc/self/maps");
            Assert.Contains("/libsqlite3.so", maps);
            // The bundled build (glibc 2.34) must not be what runs the queue.
            Assert.DoesNotContain("libe_sqlite3", maps);
        }
    }

    [Fact]
    public void OutboxOpen_LoadedVersion_IsSupportedAndTheOneAskedFor()
    {
        using var outbox = Outbox.Open(_dir.Path, 1024 * 1024);
        using var db = new SqliteConnection($"Data Source={outbox.DatabasePath};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT sqlite_version()";
        var version = (string)cmd.ExecuteScalar()!;

        Assert.True(Version.Parse(version) >= SystemSqlite.MinimumVersion, version);
        if (Environment.GetEnvironmentVariable(ExpectedVersionVariable) is { Length: > 0 } expected)
        {
            Assert.Equal(expected, version);
        }
    }

    [Theory]
    [InlineData("3.22.0")] // Ubuntu 18.04
    [InlineData("3.23.9")]
    [InlineData("not-a-version")]
    public void EnsureSupported_OlderThanUpsert_ThrowsNamingTheLibrary(string version)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => SystemSqlite.EnsureSupported(version));

        Assert.Contains($"SQLite {version} is too old", ex.Message);
        Assert.Contains("3.24.0 or newer", ex.Message);
        Assert.Contains("libsqlite3-0", ex.Message);
    }

    [Theory]
    [InlineData("3.24.0")]
    [InlineData("3.31.1")] // Ubuntu 20.04
    [InlineData("3.34.1")] // Debian 11, Raspberry Pi OS bullseye
    [InlineData("3.40.1")] // Debian 12
    public void EnsureSupported_FleetVersions_Accepted(string version) =>
        Assert.Null(Record.Exception(() => SystemSqlite.EnsureSupported(version)));

    [Fact]
    public void LoadFirst_NoSqliteLibraryOnTheDevice_FailsNamingThePackage()
    {
        var ex = Assert.Throws<DllNotFoundException>(() => SystemSqlite.LoadFirst(["libsqlite3-missing.so.0", "libsqlite3-missing.so"]));

        Assert.Contains("libsqlite3.so.0", ex.Message);
        Assert.Contains("apt-get install libsqlite3-0", ex.Message);
    }

    [Fact]
    public void LoadFirst_SystemSoname_IsFoundWithoutTheDevPackageName()
    {
        // Only the soname is tried: a device without libsqlite3-dev has no unversioned libsqlite3.so.
        Assert.NotEqual(IntPtr.Zero, SystemSqlite.LoadFirst([SystemSqlite.LinuxLibrary]));
    }
}
