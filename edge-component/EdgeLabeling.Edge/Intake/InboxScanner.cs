using EdgeLabeling.Contracts;

namespace EdgeLabeling.Edge.Intake;

/// <summary>
/// Finds frames in the watch folder that are safe to read. A camera writer may either write in place or
/// write <c>*.tmp</c>/<c>*.part</c>/dotfiles and rename; both are handled: temporary names are ignored, and
/// a file is ready only once its size and modification time have not changed for the stability period and
/// it can be opened without sharing (a writer holding a lock keeps it back).
/// </summary>
public sealed class InboxScanner(string directory, TimeSpan stableFor, TimeProvider? time = null)
{
    private static readonly string[] TemporarySuffixes = [".tmp", ".part", ".partial", ".crdownload", ".swp"];

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<string, Observation> _seen = new(StringComparer.Ordinal);
    private readonly HashSet<string> _ignored = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unreadable = new(StringComparer.Ordinal);

    private readonly record struct Observation(long Length, DateTime WriteTimeUtc, long SinceTimestamp);

    public string Directory => directory;

    /// <summary>Raised once per file name that is not a frame (wrong extension), so it can be logged once.</summary>
    public event Action<string>? Ignored;

    /// <summary>
    /// Raised once when a stable frame cannot be opened for lack of permission (the camera wrote it with a
    /// mode or group this user cannot read), with the error; raised again only if it became readable and then
    /// unreadable again.
    /// </summary>
    public event Action<string, string>? Unreadable;

    /// <summary>Frames in the folder now that this user is not allowed to read; they wait and are counted.</summary>
    public int UnreadableCount => _unreadable.Count;

    /// <summary>True for names a writer uses while a file is still being written.</summary>
    public static bool IsTemporaryName(string fileName) =>
        fileName.StartsWith('.') || fileName.StartsWith('~')
        || TemporarySuffixes.Any(s => fileName.EndsWith(s, StringComparison.OrdinalIgnoreCase));

    /// <summary>True for names of frames the component takes (.jpg, .jpeg, .png, any case).</summary>
    public static bool IsImageName(string fileName) => ObjectKeyLayout.HasImageExtension(fileName);

    /// <summary>Scans once and returns the files ready to read, oldest name first.</summary>
    public IReadOnlyList<string> ScanReady()
    {
        var now = _time.GetTimestamp();
        var present = new HashSet<string>(StringComparer.Ordinal);
        var ready = new List<string>();
        IEnumerable<string> files;
        try
        {
            files = System.IO.Directory.EnumerateFiles(directory);
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }

        foreach (var path in files)
        {
            var name = Path.GetFileName(path);
            if (IsTemporaryName(name))
            {
                continue;
            }

            if (!IsImageName(name))
            {
                if (_ignored.Add(path))
                {
                    Ignored?.Invoke(path);
                }

                continue;
            }

            FileInfo fi;
            try
            {
                fi = new FileInfo(path);
                if (!fi.Exists)
                {
                    continue;
                }
            }
            catch (IOException)
            {
                continue;
            }

            present.Add(path);
            if (!_seen.TryGetValue(path, out var obs) || obs.Length != fi.Length || obs.WriteTimeUtc != fi.LastWriteTimeUtc)
            {
                _seen[path] = new Observation(fi.Length, fi.LastWriteTimeUtc, now);
                if (stableFor > TimeSpan.Zero)
                {
                    continue;
                }

                obs = _seen[path];
            }

            string? denied = null;
            if (_time.GetElapsedTime(obs.SinceTimestamp, now) >= stableFor && CanOpenExclusively(path, out denied))
            {
                _unreadable.Remove(path);
                ready.Add(path);
            }
            else if (denied is not null)
            {
                if (_unreadable.Add(path))
                {
                    Unreadable?.Invoke(path, denied);
                }
            }
        }

        foreach (var gone in _seen.Keys.Where(k => !present.Contains(k)).ToList())
        {
            _seen.Remove(gone);
        }

        _ignored.RemoveWhere(p => !File.Exists(p));
        _unreadable.RemoveWhere(p => !present.Contains(p));
        ready.Sort(StringComparer.Ordinal);
        return ready;
    }

    /// <summary>Forgets a file (after it was taken or moved), so a new file of the same name is watched afresh.</summary>
    public void Forget(string path) => _seen.Remove(path);

    /// <summary>True when the file can be opened without sharing; <paramref name="denied"/> says why not when permissions forbid it.</summary>
    private static bool CanOpenExclusively(string path, out string? denied)
    {
        denied = null;
        try
        {
            // On Linux .NET takes an advisory lock for FileShare.None; a writer holding one keeps the file back.
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None);
            return true;
        }
        catch (UnauthorizedAccessException ex)
        {
            denied = ex.Message;
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
