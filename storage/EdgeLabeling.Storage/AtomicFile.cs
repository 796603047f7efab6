namespace EdgeLabeling.Storage;

/// <summary>Write-temp, fsync, rename: after a crash a file is either the old one or the whole new one.</summary>
public static class AtomicFile
{
    public const string TempPrefix = ".tmp-";

    public static async Task WriteAsync(string path, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        await using var ms = new MemoryStream(bytes.ToArray(), writable: false);
        await WriteAsync(path, ms, cancellationToken).ConfigureAwait(false);
    }

    public static async Task WriteAsync(string path, Stream content, CancellationToken cancellationToken = default)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, TempPrefix + Path.GetFileName(path) + "-" + Guid.NewGuid().ToString("N"));
        try
        {
            if (!TryCopyWholeFile(content, tmp))
            {
                await using var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true);
                await content.CopyToAsync(fs, cancellationToken).ConfigureAwait(false);
                await fs.FlushAsync(cancellationToken).ConfigureAwait(false);
                fs.Flush(flushToDisk: true);
            }

            File.Move(tmp, path, overwrite: true);
            FsyncDirectory(dir);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    /// <summary>
    /// Moves <paramref name="source"/> to <paramref name="path"/> with the same guarantee as <see cref="WriteAsync(string, Stream, CancellationToken)"/>:
    /// after a crash the target is the old file or the whole new one. Within one file system the bytes are not copied.
    /// </summary>
    public static void MoveInto(string source, string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, TempPrefix + Path.GetFileName(path) + "-" + Guid.NewGuid().ToString("N"));
        try
        {
            // Through a temporary name in the target folder: a move across file systems is a copy, which must not be
            // seen half-written under the real name.
            File.Move(source, tmp);
            using (var moved = new FileStream(tmp, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
            {
                moved.Flush(flushToDisk: true);
            }

            File.Move(tmp, path, overwrite: true);
            FsyncDirectory(dir);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    /// <summary>
    /// A stream that is a whole file from its start (the merge's spooled shard) is copied by the kernel
    /// (copy_file_range) instead of passing every byte through a user-space buffer: a tenth of the merge's CPU for
    /// a 1 GB shard. False (and nothing left at <paramref name="tmp"/>) when the stream is anything else or the
    /// file cannot be opened again, so the caller copies the stream.
    /// </summary>
    private static bool TryCopyWholeFile(Stream content, string tmp)
    {
        if (content is not FileStream { CanSeek: true, Position: 0 } source || !File.Exists(source.Name))
        {
            return false;
        }

        try
        {
            File.Copy(source.Name, tmp);
            using var copied = new FileStream(tmp, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            copied.Flush(flushToDisk: true);
            return true;
        }
        catch (IOException)
        {
            TryDelete(tmp);
            return false;
        }
    }

    /// <summary>Makes a rename durable: on Linux the directory entry must be flushed too.</summary>
    public static void FsyncDirectory(string dir)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // .NET cannot open a directory as a file handle, so go to libc for open(O_RDONLY|O_DIRECTORY)+fsync.
        var fd = NativeMethods.open(dir, NativeMethods.O_RDONLY | NativeMethods.O_DIRECTORY);
        if (fd < 0)
        {
            return;
        }

        try
        {
            _ = NativeMethods.fsync(fd);
        }
        finally
        {
            _ = NativeMethods.close(fd);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }
}

internal static class NativeMethods
{
    internal const int O_RDONLY = 0;
    internal const int O_DIRECTORY = 0x10000;

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    internal static extern int open([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int flags);

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    internal static extern int fsync(int fd);

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    internal static extern int close(int fd);
}
