using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace EdgeLabeling.Edge.Queue;

/// <summary>
/// Points Microsoft.Data.Sqlite at the operating system's SQLite (<c>libsqlite3.so.0</c>, Debian/Ubuntu package
/// <c>libsqlite3-0</c>) instead of a bundled build. The bundled <c>libe_sqlite3.so</c> of SQLitePCLRaw 2.1 is
/// linked against glibc 2.34, so the component died at the queue's first open on Ubuntu 20.04, Debian 11 and
/// Raspberry Pi OS bullseye (glibc 2.31); the system library always matches the device's glibc.
/// </summary>
public static class SystemSqlite
{
    /// <summary>The soname the runtime linker knows on every glibc distribution; the unversioned
    /// <c>libsqlite3.so</c> only exists where the -dev package is installed.</summary>
    public const string LinuxLibrary = "libsqlite3.so.0";

    /// <summary>
    /// Oldest SQLite the queue's SQL runs on: <c>INSERT … ON CONFLICT DO UPDATE</c> (upsert) came in 3.24.0.
    /// The queue deliberately avoids <c>RETURNING</c> (3.35.0), which Ubuntu 20.04 (3.31.1) and Debian 11 (3.34.1) lack.
    /// </summary>
    public static readonly Version MinimumVersion = new(3, 24, 0);

    private static readonly Lock Gate = new();
    private static bool _initialized;

    /// <summary>
    /// Installs the system-library provider once per process. A process that already chose a provider (a host
    /// that also carries the cloud code's bundled SQLite, such as the CLI) keeps it: switching providers under
    /// open connections would hand one library's handles to another.
    /// </summary>
    public static void EnsureInitialized()
    {
        lock (Gate)
        {
            if (_initialized)
            {
                return;
            }

            if (!ProviderAlreadySet())
            {
                NativeLibrary.SetDllImportResolver(typeof(SQLite3Provider_sqlite3).Assembly, Resolve);
                raw.SetProvider(new SQLite3Provider_sqlite3());
                // Microsoft.Data.Sqlite's own start-up asks a bundle (when one is loaded) to set its provider; freezing
                // keeps the system library.
                raw.FreezeProvider();
            }

            _initialized = true;
        }
    }

    /// <summary>Fails with a message naming the problem when the connected SQLite is older than <see cref="MinimumVersion"/>.</summary>
    public static void CheckVersion(SqliteConnection connection)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT sqlite_version()";
        EnsureSupported(Convert.ToString(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) ?? "");
    }

    /// <summary>Throws when <paramref name="text"/> (what <c>sqlite_version()</c> returned) is older than <see cref="MinimumVersion"/>.</summary>
    internal static void EnsureSupported(string text)
    {
        if (!Version.TryParse(text, out var version) || version < MinimumVersion)
        {
            throw new InvalidOperationException(
                $"SQLite {text} is too old for the upload queue: version {MinimumVersion} or newer is needed (the operating system's {LinuxLibrary}; on Debian/Ubuntu upgrade the libsqlite3-0 package)");
        }
    }

    private static bool ProviderAlreadySet()
    {
        try
        {
            // SQLitePCLRaw has no "is a provider set" query; this call throws a plain Exception when none is.
            _ = raw.GetNativeLibraryName();
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != "sqlite3" || !OperatingSystem.IsLinux())
        {
            return IntPtr.Zero; // default probing (macOS/Windows development machines)
        }

        // The soname first; the unversioned name exists only with the -dev package (development machines).
        return LoadFirst([LinuxLibrary, "libsqlite3.so"]);
    }

    /// <summary>Loads the first library of <paramref name="names"/> the runtime linker finds, or fails naming the package to install.</summary>
    internal static IntPtr LoadFirst(IReadOnlyList<string> names)
    {
        foreach (var name in names)
        {
            if (NativeLibrary.TryLoad(name, out var handle))
            {
                return handle;
            }
        }

        throw new DllNotFoundException(
            $"the upload queue needs the operating system's SQLite library ({LinuxLibrary}) and none was found; install it (Debian/Ubuntu: apt-get install libsqlite3-0, Fedora/RHEL: dnf install sqlite-libs)");
    }
}
