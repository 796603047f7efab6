namespace EdgeLabeling.Inference;

/// <summary>Class-aware greedy non-maximum suppression.</summary>
public static class Nms
{
    /// <summary>Intersection over union of two corner-form boxes; 0 when either is empty.</summary>
    public static float IoU(in Candidate a, in Candidate b)
    {
        var iw = Math.Min(a.X2, b.X2) - Math.Max(a.X1, b.X1);
        var ih = Math.Min(a.Y2, b.Y2) - Math.Max(a.Y1, b.Y1);
        if (iw <= 0 || ih <= 0)
        {
            return 0;
        }

        var inter = iw * ih;
        var union = a.Area + b.Area - inter;
        return union > 0 ? inter / union : 0;
    }

    /// <summary>
    /// Keeps the highest-scoring box of each overlapping group within a class; boxes of different classes never
    /// suppress each other. The result is sorted by score (descending, ties by class id then position, so runs are
    /// deterministic) and holds at most <paramref name="maxDetections"/> boxes.
    /// </summary>
    /// <param name="candidates">Usable candidates (finite, positive area); reordered in place.</param>
    /// <param name="iouThreshold">Boxes overlapping a kept box of the same class by more than this are dropped.</param>
    /// <param name="maxDetections">Cap on kept boxes.</param>
    /// <param name="kept">Receives the kept boxes (cleared first).</param>
    public static void Apply(List<Candidate> candidates, float iouThreshold, int maxDetections, List<Candidate> kept)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(kept);
        if (!(iouThreshold is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(iouThreshold), iouThreshold, "The IoU threshold must be within [0, 1].");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(maxDetections, 1);
        kept.Clear();
        candidates.Sort(static (a, b) =>
        {
            var byScore = b.Score.CompareTo(a.Score);
            if (byScore != 0)
            {
                return byScore;
            }

            var byClass = a.ClassId.CompareTo(b.ClassId);
            return byClass != 0 ? byClass : (a.X1 + a.Y1).CompareTo(b.X1 + b.Y1);
        });

        foreach (var candidate in candidates)
        {
            var suppressed = false;
            foreach (var k in kept)
            {
                if (k.ClassId == candidate.ClassId && IoU(k, candidate) > iouThreshold)
                {
                    suppressed = true;
                    break;
                }
            }

            if (!suppressed)
            {
                kept.Add(candidate);
                if (kept.Count == maxDetections)
                {
                    break;
                }
            }
        }
    }
}
