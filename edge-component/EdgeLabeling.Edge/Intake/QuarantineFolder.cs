namespace EdgeLabeling.Edge.Intake;

/// <summary>
/// Keeps the quarantine folder (frames that could not be read, each with a <c>.reason.txt</c>) under a byte
/// cap. Quarantined frames were never accepted into the queue, so deleting the oldest loses no labeling
/// work; it keeps a camera that writes garbage for days from filling the device's disk.
/// </summary>
public static class QuarantineFolder
{
    /// <summary>Suffix of the note written beside each quarantined frame.</summary>
    public const string ReasonSuffix = ".reason.txt";

    /// <summary>
    /// Deletes the oldest frames (by last write time, each with its reason note) until the folder holds at
    /// most <paramref name="maxBytes"/>. The newest frame is always kept, even if it alone is larger.
    /// Returns the names of the deleted frames, oldest first.
    /// </summary>
    public static IReadOnlyList<string> Prune(string directory, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        var info = new DirectoryInfo(directory);
        if (!info.Exists)
        {
            return [];
        }

        // One entry per frame: its own size plus its note's.
        var frames = new List<(FileInfo Frame, long Bytes)>();
        long total = 0;
        foreach (var file in info.EnumerateFiles())
        {
            if (file.Name.EndsWith(ReasonSuffix, StringComparison.Ordinal))
            {
                total += file.Length;
                continue;
            }

            var note = new FileInfo(file.FullName + ReasonSuffix);
            frames.Add((file, file.Length + (note.Exists ? note.Length : 0)));
            total += file.Length;
        }

        var deleted = new List<string>();
        frames.Sort((a, b) => a.Frame.LastWriteTimeUtc.CompareTo(b.Frame.LastWriteTimeUtc));
        for (var i = 0; i < frames.Count - 1 && total > maxBytes; i++)
        {
            var (frame, bytes) = frames[i];
            try
            {
                frame.Delete();
                File.Delete(frame.FullName + ReasonSuffix);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            total -= bytes;
            deleted.Add(frame.Name);
        }

        return deleted;
    }
}
