using EdgeLabeling.Contracts;

namespace EdgeLabeling.Evaluation;

/// <summary>
/// The usual detection-evaluation matching: predictions in descending confidence each take the unmatched
/// ground-truth box of the same class with the highest IoU, if that IoU reaches the threshold.
/// </summary>
public static class GreedyMatcher
{
    /// <summary>Returns, for each prediction (in the given order), whether it is a true positive.</summary>
    public static bool[] Match(IReadOnlyList<PixelBox> predictions, IReadOnlyList<PixelBox> truth, double iouThreshold)
    {
        var order = Enumerable.Range(0, predictions.Count).OrderByDescending(i => predictions[i].Confidence).ThenBy(i => i).ToArray();
        var taken = new bool[truth.Count];
        var tp = new bool[predictions.Count];
        foreach (var i in order)
        {
            var best = -1;
            var bestIou = iouThreshold;
            for (var g = 0; g < truth.Count; g++)
            {
                if (taken[g] || truth[g].ClassId != predictions[i].ClassId)
                {
                    continue;
                }

                var iou = BoxMath.IoU(predictions[i], truth[g]);
                if (iou >= bestIou)
                {
                    bestIou = iou;
                    best = g;
                }
            }

            if (best >= 0)
            {
                taken[best] = true;
                tp[i] = true;
            }
        }

        return tp;
    }
}

/// <summary>Counts of a set of labels against ground truth.</summary>
public readonly record struct DetectionCounts(int TruePositives, int FalsePositives, int FalseNegatives)
{
    public double Precision => TruePositives + FalsePositives == 0 ? 1.0 : (double)TruePositives / (TruePositives + FalsePositives);
    public double Recall => TruePositives + FalseNegatives == 0 ? 1.0 : (double)TruePositives / (TruePositives + FalseNegatives);

    public static DetectionCounts operator +(DetectionCounts a, DetectionCounts b) =>
        new(a.TruePositives + b.TruePositives, a.FalsePositives + b.FalsePositives, a.FalseNegatives + b.FalseNegatives);

    public static DetectionCounts Of(IReadOnlyList<PixelBox> predictions, IReadOnlyList<PixelBox> truth, double iou)
    {
        var tp = GreedyMatcher.Match(predictions, truth, iou).Count(t => t);
        return new DetectionCounts(tp, predictions.Count - tp, truth.Count - tp);
    }
}
