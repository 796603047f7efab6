using System.Diagnostics;

namespace EdgeLabeling.IntegrationTests.Infrastructure;

/// <summary>
/// A small tmpfs mounted for one test, so "the disk is full" is the kernel's ENOSPC rather than a simulation.
/// Needs root (CAP_SYS_ADMIN), as CI and the development machine have; fails with a clear message otherwise.
/// </summary>
public sealed class TmpfsMount : IDisposable
{
    private TmpfsMount(string path, long sizeBytes)
    {
        Path = path;
        SizeBytes = sizeBytes;
    }

    public string Path { get; }

    public long SizeBytes { get; }

    public long FreeBytes => new DriveInfo(Path).AvailableFreeSpace;

    public static TmpfsMount Create(long sizeBytes)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "tmpfs-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={sizeBytes},mode=0755", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            throw new InvalidOperationException($"mounting a {sizeBytes}-byte tmpfs at {path} failed (exit {code}): {output.Trim()}. The disk-full tests need root (CAP_SYS_ADMIN) to mount a tmpfs.");
        }

        return new TmpfsMount(path, sizeBytes);
    }

    /// <summary>
    /// Fills the file system to the last byte with one file, as another writer on the device would (a camera
    /// writing into a folder on the same disk). Returns the ballast's path.
    /// </summary>
    public string FillCompletely(string name = "ballast.bin")
    {
        var path = System.IO.Path.Combine(Path, name);
        var chunk = new byte[4096];
        using var fs = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough);
        try
        {
            while (true)
            {
                fs.Write(chunk);
            }
        }
        catch (IOException)
        {
            // ENOSPC: full.
        }

        return path;
    }

    public void Dispose()
    {
        // Lazy unmount: a process that still has a file open there must not keep the test from finishing.
        Run("umount", "-l", Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var output = p.StandardError.ReadToEnd() + p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }
}
