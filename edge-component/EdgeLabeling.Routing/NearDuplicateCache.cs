namespace EdgeLabeling.Routing;

/// <summary>
/// Remembers the perceptual hashes of recently kept frames, per camera, and tells whether a new frame
/// is a near-duplicate of one of them (Hamming distance ≤ d and capture times at most the window apart).
/// Bounded: at most <c>capacityPerCamera</c> frames per camera, oldest evicted first. Thread-safe.
/// </summary>
/// <remarks>
/// Only frames that were <em>not</em> duplicates are remembered. Otherwise a camera staring at a static
/// scene would chain duplicates forever; this way the scene is sampled again once per window.
/// </remarks>
public sealed class NearDuplicateCache
{
    private readonly int _maxDistance;
    private readonly TimeSpan _window;
    private readonly int _capacity;
    private readonly Dictionary<string, LinkedList<Entry>> _byCamera = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Creates a cache; arguments are validated (see <see cref="RoutingOptions"/>).</summary>
    public NearDuplicateCache(int maxDistance, TimeSpan window, int capacityPerCamera)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxDistance);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxDistance, 64);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityPerCamera, 1);
        _maxDistance = maxDistance;
        _window = window;
        _capacity = capacityPerCamera;
    }

    /// <summary>Camera key used when a frame names none.</summary>
    public const string DefaultCamera = "default";

    /// <summary>
    /// Returns the SHA-256 of the remembered frame this one duplicates (closest hash wins), or null;
    /// in the null case the frame is remembered for later comparisons.
    /// </summary>
    public string? MatchOrAdd(string? camera, DateTimeOffset captureTime, ulong hash, string sha256)
    {
        var key = string.IsNullOrEmpty(camera) ? DefaultCamera : camera;
        lock (_lock)
        {
            if (!_byCamera.TryGetValue(key, out var frames))
            {
                frames = new LinkedList<Entry>();
                _byCamera[key] = frames;
            }

            string? best = null;
            var bestDistance = int.MaxValue;
            foreach (var f in frames)
            {
                // Absolute difference: files are not always handed over in capture order.
                if ((captureTime - f.CaptureTime).Duration() > _window)
                {
                    continue;
                }

                var d = PerceptualHash.Distance(hash, f.Hash);
                if (d <= _maxDistance && d < bestDistance)
                {
                    best = f.Sha256;
                    bestDistance = d;
                }
            }

            if (best is not null)
            {
                return best;
            }

            frames.AddLast(new Entry(captureTime, hash, sha256));
            while (frames.Count > _capacity)
            {
                frames.RemoveFirst();
            }

            return null;
        }
    }

    /// <summary>Forgets the remembered frame with this SHA-256 (the caller did not keep it); false when none is remembered.</summary>
    public bool Remove(string? camera, string sha256)
    {
        var key = string.IsNullOrEmpty(camera) ? DefaultCamera : camera;
        lock (_lock)
        {
            if (!_byCamera.TryGetValue(key, out var frames))
            {
                return false;
            }

            for (var node = frames.Last; node is not null; node = node.Previous)
            {
                if (string.Equals(node.Value.Sha256, sha256, StringComparison.Ordinal))
                {
                    frames.Remove(node);
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Frames currently remembered for a camera (for tests and diagnostics).</summary>
    public int CountFor(string? camera)
    {
        lock (_lock)
        {
            return _byCamera.TryGetValue(string.IsNullOrEmpty(camera) ? DefaultCamera : camera, out var f) ? f.Count : 0;
        }
    }

    private readonly record struct Entry(DateTimeOffset CaptureTime, ulong Hash, string Sha256);
}
