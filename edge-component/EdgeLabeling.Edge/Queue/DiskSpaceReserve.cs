using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Edge.Queue;

/// <summary>
/// A file of <see cref="SizeBytes"/> kept beside the database and given up when SQLite finds the disk full, so the
/// writes that shrink the queue (a finished upload, a removal) can still commit. SQLite needs free pages even to
/// delete a row (the WAL grows first); without the reserve a disk filled by something else would leave the queue
/// unable to record the uploads that would free it.
/// </summary>
internal sealed class DiskSpaceReserve
{
    public const long SizeBytes = 1024 * 1024;

    private const int SqliteFull = 13;
    private const int Enospc = 28;

    private readonly string _path;
    private readonly Func<long> _availableFreeSpace;

    /// <param name="path">The reserve file.</param>
    /// <param name="volumeDirectory">A folder on the reserve's file system, whose free space decides whether the reserve is put back.</param>
    public DiskSpaceReserve(string path, string volumeDirectory)
        : this(path, () => new DriveInfo(volumeDirectory).AvailableFreeSpace)
    {
    }

    /// <param name="path">The reserve file.</param>
    /// <param name="availableFreeSpace">Free bytes on the reserve's file system (tests stand in for a nearly full disk).</param>
    internal DiskSpaceReserve(string path, Func<long> availableFreeSpace)
    {
        _path = path;
        _availableFreeSpace = availableFreeSpace;
    }

    public bool IsPresent => File.Exists(_path);

    /// <summary>
    /// True when <paramref name="ex"/> says the file system is full: ENOSPC from a file write, or SQLITE_FULL
    /// (SQLite needs free space even to delete rows, because the WAL grows first).
    /// </summary>
    public static bool IsDiskFull(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case SqliteException sq when (sq.SqliteErrorCode & 0xFF) == SqliteFull:
                // On Unix .NET puts the errno in the HResult of the IOException it raises.
                case IOException io when io.HResult == Enospc || io.Message.Contains("No space left on device", StringComparison.Ordinal):
                    return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Runs a write that shrinks the queue; if SQLite finds the disk full, gives up the reserve and tries once more.
    /// Without a reserve to give up, the disk-full error reaches the caller.
    /// </summary>
    public T RunShrinkingWrite<T>(Func<T> write)
    {
        try
        {
            return write();
        }
        catch (SqliteException ex) when (IsDiskFull(ex) && Release())
        {
            return write();
        }
    }

    /// <summary>Deletes the reserve; true only when there was one and it is gone.</summary>
    public bool Release()
    {
        if (!File.Exists(_path))
        {
            return false;
        }

        QueueFiles.TryDelete(_path);
        return !File.Exists(_path);
    }

    /// <summary>Writes the reserve back once the disk has room for it twice over; quietly skipped otherwise (small or full disks).</summary>
    public void Restore()
    {
        if (File.Exists(_path))
        {
            return;
        }

        try
        {
            if (_availableFreeSpace() < 2 * SizeBytes)
            {
                return;
            }

            using var fs = new FileStream(_path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            // Real blocks, not a sparse file: the space must be taken now to be given back later.
            var zeros = new byte[64 * 1024];
            for (long written = 0; written < SizeBytes; written += zeros.Length)
            {
                fs.Write(zeros);
            }

            fs.Flush(flushToDisk: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            QueueFiles.TryDelete(_path);
        }
    }
}
