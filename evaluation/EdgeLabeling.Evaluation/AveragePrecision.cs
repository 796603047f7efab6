using EdgeLabeling.Contracts;

namespace EdgeLabeling.Evaluation;

/// <summary>
/// mAP@IoU with all-point interpolation (the VOC 2010+ definition): per class, the area under the
/// precision envelope of the confidence-ranked predictions; the mean over classes that have ground truth.
/// </summary>
public sealed class AveragePrecision(int classCount, double iouThreshold = 0.5)
{
    private readonly List<(double Score, bool Tp)>[] _ranked = Enumerable.Range(0, classCount).Select(_ => new List<(double, bool)>()).ToArray();
    private readonly int[] _truthCount = new int[classCount];

    public double IouThreshold => iouThreshold;

    public void Add(IReadOnlyList<PixelBox> predictions, IReadOnlyList<PixelBox> truth)
    {
        var tp = GreedyMatcher.Match(predictions, truth, iouThreshold);
        for (var i = 0; i < predictions.Count; i++)
        {
            var c = predictions[i].ClassId;
            if ((uint)c < (uint)classCount)
            {
                _ranked[c].Add((predictions[i].Confidence, tp[i]));
            }
        }

        foreach (var t in truth)
        {
            if ((uint)t.ClassId < (uint)classCount)
            {
                _truthCount[t.ClassId]++;
            }
        }
    }

    public double ClassAp(int classId)
    {
        var n = _truthCount[classId];
        if (n == 0)
        {
            return double.NaN;
        }

        var ranked = _ranked[classId].OrderByDescending(r => r.Score).ToList();
        var precision = new double[ranked.Count];
        var recall = new double[ranked.Count];
        var tp = 0;
        for (var i = 0; i < ranked.Count; i++)
        {
            if (ranked[i].Tp)
            {
                tp++;
            }

            precision[i] = (double)tp / (i + 1);
            recall[i] = (double)tp / n;
        }

        // Precision envelope from the right, then the area under the step function of recall.
        for (var i = ranked.Count - 2; i >= 0; i--)
        {
            precision[i] = Math.Max(precision[i], precision[i + 1]);
        }

        double ap = 0, prevRecall = 0;
        for (var i = 0; i < ranked.Count; i++)
        {
            ap += (recall[i] - prevRecall) * precision[i];
            prevRecall = recall[i];
        }

        return ap;
    }

    /// <summary>Mean AP over classes with at least one ground-truth box; NaN when there is no ground truth at all.</summary>
    public double Map()
    {
        var aps = Enumerable.Range(0, classCount).Select(ClassAp).Where(a => !double.IsNaN(a)).ToList();
        return aps.Count == 0 ? double.NaN : aps.Average();
    }
}
