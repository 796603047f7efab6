using EdgeLabeling.Contracts;

namespace EdgeLabeling.Evaluation;

/// <summary>One validation image: every detection above the model's score floor, and its ground truth.</summary>
public sealed record CalibrationImage(string Name, IReadOnlyList<PixelBox> Detections, IReadOnlyList<PixelBox> Truth);

/// <summary>
/// A band the calibrator scores (recommended, it becomes the routing thresholds of contracts' RoutingThresholds):
/// detections below <see cref="Low"/> are background; a detection of class c
/// with score in [Low, High(c)) makes the image uncertain (people); otherwise the image is auto-labeled.
/// </summary>
public sealed record CalibrationBand(double Low, double High, IReadOnlyDictionary<int, double>? PerClassHigh = null, bool ReviewWhenNoDetections = true)
{
    public double HighFor(int classId) => PerClassHigh is not null && PerClassHigh.TryGetValue(classId, out var t) ? t : High;
}

/// <summary>What a set of thresholds does to a validation set.</summary>
public sealed record RoutingEvaluation(CalibrationBand Thresholds, int Images, int ReviewImages, int AutoImages, DetectionCounts AutoCounts)
{
    public double HumanShare => Images == 0 ? 0 : (double)ReviewImages / Images;
    public double AutoPrecision => AutoCounts.Precision;
    public double AutoRecall => AutoCounts.Recall;
    public int AutoBoxes => AutoCounts.TruePositives + AutoCounts.FalsePositives;
}

public sealed record CalibrationOptions
{
    public required double TargetPrecision { get; init; }
    public double IouThreshold { get; init; } = 0.5;

    /// <summary>
    /// Precision alone can be bought by dropping low-scored true objects as background, which silently
    /// removes them from auto-labeled images; a recall floor on auto-labeled images prevents that.
    /// </summary>
    public double MinAutoRecall { get; init; } = 0.85;

    /// <summary>A recommendation needs this many auto-labeled boxes, or its precision is noise.</summary>
    public int MinSupportBoxes { get; init; } = 30;

    public bool ReviewWhenNoDetections { get; init; } = true;

    /// <summary>
    /// Picking the cheapest thresholds that meet the target on one sample favours thresholds whose precision
    /// was lucky there; requiring the Wilson lower bound (this many standard errors) to meet the target instead
    /// of the point estimate keeps the realized precision on new images near the target. 0 uses the point estimate.
    /// </summary>
    public double ConfidenceZ { get; init; } = 0.5;

    public void Validate()
    {
        if (!(TargetPrecision is > 0 and < 1))
        {
            throw new ArgumentException($"target precision {TargetPrecision} must be between 0 and 1 (exclusive)");
        }

        if (!(IouThreshold is > 0 and < 1))
        {
            throw new ArgumentException($"IoU threshold {IouThreshold} must be between 0 and 1 (exclusive)");
        }

        if (!(ConfidenceZ is >= 0 and <= 5))
        {
            throw new ArgumentException($"confidence z {ConfidenceZ} must be between 0 and 5");
        }

        if (!(MinAutoRecall is >= 0 and <= 1))
        {
            throw new ArgumentException($"minimum auto recall {MinAutoRecall} must be between 0 and 1");
        }
    }
}

public sealed record ClassRecommendation(int ClassId, string ClassName, double? High, double PrecisionAtHigh, int Support);

public sealed record CalibrationResult(
    CalibrationOptions Options,
    RoutingEvaluation? Global,
    RoutingEvaluation? PerClass,
    IReadOnlyList<ClassRecommendation> Classes,
    IReadOnlyList<RoutingEvaluation> TradeOff)
{
    public bool MeetsTarget => Global is not null;

    /// <summary>Per-class thresholds when they send fewer images to people than one global threshold; else the global one.</summary>
    public RoutingEvaluation? Recommended =>
        PerClass is not null && Global is not null && PerClass.ReviewImages < Global.ReviewImages ? PerClass : Global;
}

/// <summary>
/// Sweeps routing thresholds on a labeled validation set and recommends the ones that meet a target
/// precision for automatic labels while sending the fewest images to people.
/// </summary>
public sealed class ThresholdCalibrator
{
    private readonly IReadOnlyList<CalibrationImage> _images;
    private readonly CalibrationOptions _options;
    private readonly bool[][] _tp;

    public ThresholdCalibrator(IReadOnlyList<CalibrationImage> images, CalibrationOptions options)
    {
        options.Validate();
        if (images.Count == 0)
        {
            throw new ArgumentException("the validation set has no images");
        }

        _images = images;
        _options = options;

        // Greedy matching in descending confidence means a detection's TP/FP status depends only on
        // detections scored above it, so flags computed once hold for every threshold subset.
        _tp = images.Select(i => GreedyMatcher.Match(i.Detections, i.Truth, options.IouThreshold)).ToArray();
    }

    public static IReadOnlyList<double> Grid(double from, double to, double step) =>
        Enumerable.Range(0, (int)Math.Round((to - from) / step) + 1).Select(i => Math.Round(from + (i * step), 4)).ToList();

    public RoutingEvaluation Evaluate(CalibrationBand t)
    {
        int review = 0, auto = 0;
        var counts = default(DetectionCounts);
        for (var i = 0; i < _images.Count; i++)
        {
            var img = _images[i];
            var uncertain = false;
            var kept = 0;
            int tp = 0, fp = 0;
            for (var d = 0; d < img.Detections.Count; d++)
            {
                var det = img.Detections[d];
                if (det.Confidence < t.Low)
                {
                    continue;
                }

                kept++;
                if (det.Confidence < t.HighFor(det.ClassId))
                {
                    uncertain = true;
                    break;
                }

                if (_tp[i][d])
                {
                    tp++;
                }
                else
                {
                    fp++;
                }
            }

            if (uncertain || (kept == 0 && t.ReviewWhenNoDetections))
            {
                review++;
                continue;
            }

            auto++;
            counts += new DetectionCounts(tp, fp, img.Truth.Count - tp);
        }

        return new RoutingEvaluation(t, _images.Count, review, auto, counts);
    }

    public CalibrationResult Calibrate(IReadOnlyList<string> classNames)
    {
        var highs = Grid(0.05, 0.99, 0.01);
        var lows = Grid(0.05, 0.95, 0.05);
        RoutingEvaluation? best = null;
        var tradeOff = new List<RoutingEvaluation>();
        foreach (var high in highs)
        {
            RoutingEvaluation? bestForHigh = null;
            RoutingEvaluation? curvePoint = null;
            // Strictly below: a band with low == high is empty, which the routing rule (contracts RoutingThresholds) refuses.
            foreach (var low in lows.Where(l => l < high))
            {
                var e = Evaluate(new CalibrationBand(low, high, null, _options.ReviewWhenNoDetections));
                if (Better(e, bestForHigh))
                {
                    bestForHigh = e;
                }

                if (BetterCurvePoint(e, curvePoint))
                {
                    curvePoint = e;
                }
            }

            // The trade-off table shows every 0.05 step: the band with the fewest images to people that
            // still keeps the recall floor, whatever its precision, so the rows read as one curve.
            if (curvePoint is not null && Math.Abs((high * 20) - Math.Round(high * 20)) < 1e-9)
            {
                tradeOff.Add(curvePoint);
            }

            if (bestForHigh is not null && Feasible(bestForHigh) && Better(bestForHigh, best))
            {
                best = bestForHigh;
            }
        }

        var classes = RecommendPerClass(classNames);
        RoutingEvaluation? perClass = null;
        if (best is not null && classes.Any(c => c.High is not null))
        {
            // A class whose boxes never reach the target on their own is never auto-accepted (threshold 1.0):
            // any detection of it above the band's floor sends the image to people.
            var map = classes.ToDictionary(c => c.ClassId, c => c.High is { } h ? Math.Max(h, best.Thresholds.Low) : 1.0);
            foreach (var low in lows.Where(l => l < map.Values.Min()))
            {
                var e = Evaluate(new CalibrationBand(low, best.Thresholds.High, map, _options.ReviewWhenNoDetections));
                if (Feasible(e) && Better(e, perClass))
                {
                    perClass = e;
                }
            }
        }

        return new CalibrationResult(_options, best, perClass, classes, tradeOff);
    }

    private bool Feasible(RoutingEvaluation e) =>
        e.AutoBoxes >= _options.MinSupportBoxes
        && WilsonLowerBound(e.AutoCounts.TruePositives, e.AutoBoxes, _options.ConfidenceZ) >= _options.TargetPrecision
        && e.AutoRecall >= _options.MinAutoRecall;

    /// <summary>Lower end of the Wilson score interval for a proportion of <paramref name="successes"/> in <paramref name="n"/>.</summary>
    public static double WilsonLowerBound(int successes, int n, double z)
    {
        if (n == 0)
        {
            return 0;
        }

        var p = (double)successes / n;
        if (z == 0)
        {
            return p;
        }

        var z2 = z * z;
        var centre = p + (z2 / (2 * n));
        var margin = z * Math.Sqrt((p * (1 - p) / n) + (z2 / (4.0 * n * n)));
        return (centre - margin) / (1 + (z2 / n));
    }

    private bool KeepsRecall(RoutingEvaluation e) => e.AutoRecall >= _options.MinAutoRecall;

    private bool BetterCurvePoint(RoutingEvaluation e, RoutingEvaluation? than)
    {
        if (than is null)
        {
            return true;
        }

        if (KeepsRecall(e) != KeepsRecall(than))
        {
            return KeepsRecall(e);
        }

        if (e.ReviewImages != than.ReviewImages)
        {
            return e.ReviewImages < than.ReviewImages;
        }

        return e.AutoPrecision > than.AutoPrecision;
    }

    /// <summary>Feasible first; then fewer images to people; then higher precision; then higher recall.</summary>
    private bool Better(RoutingEvaluation e, RoutingEvaluation? than)
    {
        if (than is null)
        {
            return true;
        }

        var fe = Feasible(e);
        var ft = Feasible(than);
        if (fe != ft)
        {
            return fe;
        }

        if (e.ReviewImages != than.ReviewImages)
        {
            return e.ReviewImages < than.ReviewImages;
        }

        if (Math.Abs(e.AutoPrecision - than.AutoPrecision) > 1e-12)
        {
            return e.AutoPrecision > than.AutoPrecision;
        }

        return e.AutoRecall > than.AutoRecall;
    }

    private List<ClassRecommendation> RecommendPerClass(IReadOnlyList<string> classNames)
    {
        var result = new List<ClassRecommendation>();
        for (var c = 0; c < classNames.Count; c++)
        {
            var scored = new List<(double Score, bool Tp)>();
            for (var i = 0; i < _images.Count; i++)
            {
                for (var d = 0; d < _images[i].Detections.Count; d++)
                {
                    if (_images[i].Detections[d].ClassId == c)
                    {
                        scored.Add((_images[i].Detections[d].Confidence, _tp[i][d]));
                    }
                }
            }

            double? chosen = null;
            double precisionAt = 0;
            var support = 0;
            foreach (var t in Grid(0.05, 0.99, 0.01))
            {
                var above = scored.Where(s => s.Score >= t).ToList();
                if (above.Count < Math.Max(5, _options.MinSupportBoxes / Math.Max(1, classNames.Count)))
                {
                    break;
                }

                var p = (double)above.Count(s => s.Tp) / above.Count;
                if (p >= _options.TargetPrecision)
                {
                    chosen = t;
                    precisionAt = p;
                    support = above.Count;
                    break;
                }
            }

            result.Add(new ClassRecommendation(c, classNames[c], chosen, precisionAt, support));
        }

        return result;
    }
}
