using EdgeLabeling.Contracts;
using EdgeLabeling.Evaluation;
using EdgeLabeling.Labeling.Batching;

namespace EdgeLabeling.Labeling.Quality;

/// <summary>The edge routing in force (cdk.json <c>routing</c>).</summary>
public sealed record RoutingSettings
{
    public required double AutoAcceptThreshold { get; init; }
    public required double UncertainLow { get; init; }
    public required double AuditRate { get; init; }
    public IReadOnlyDictionary<string, double> ClassThresholds { get; init; } = new Dictionary<string, double>(StringComparer.Ordinal);

    public double ThresholdOf(string className) => ClassThresholds.TryGetValue(className, out var t) ? t : AutoAcceptThreshold;

    /// <summary>The thresholds as the router's one type, so they are checked by its one rule (<see cref="RoutingThresholds.Problems"/>).</summary>
    public RoutingThresholds Thresholds => new() { AutoAcceptThreshold = AutoAcceptThreshold, UncertainLow = UncertainLow, ClassThresholds = ClassThresholds };
}

/// <summary>How <see cref="ThresholdRetuner"/> decides.</summary>
public sealed record RetuneOptions
{
    public required double TargetPrecision { get; init; }
    public int WindowDays { get; init; } = 28;

    /// <summary>z of the Wilson lower bound that must meet the target (the same bound the alarm watches).</summary>
    public double Z { get; init; } = WilsonInterval.Z95;

    /// <summary>Audited boxes of a class in the window below which production evidence is not trusted (calibration is used instead).</summary>
    public int MinBoxes { get; init; } = 50;

    /// <summary>A threshold moves only when the evidence asks for at least this much change (no churn on noise).</summary>
    public double MinChange { get; init; } = 0.05;

    /// <summary>Upper bound of a raised audit rate.</summary>
    public double MaxAuditRate { get; init; } = 0.2;

    /// <summary>Raise the audit rate for classes with too few audits (bounded by <see cref="MaxAuditRate"/>).</summary>
    public bool RaiseAuditRate { get; init; } = true;

    /// <summary>Per-class thresholds from <c>edgelabel calibrate</c> (its calibration.json), used where audits are too few.</summary>
    public IReadOnlyDictionary<string, double> CalibrationThresholds { get; init; } = new Dictionary<string, double>(StringComparer.Ordinal);

    /// <summary>Prices for the monthly cost (the built-in backend: free tiers).</summary>
    public BudgetPolicy Budget { get; init; } = new();

    public RetuneOptions Validate()
    {
        if (!(TargetPrecision is > 0 and < 1))
        {
            throw new ArgumentException($"target precision {TargetPrecision} must be between 0 and 1 (exclusive)");
        }

        if (WindowDays is < 1 or > 366)
        {
            throw new ArgumentException($"window of {WindowDays} days must be within 1-366");
        }

        if (MinBoxes < 1)
        {
            throw new ArgumentException($"minimum of {MinBoxes} audited boxes must be at least 1");
        }

        if (!(MinChange is >= 0 and < 1))
        {
            throw new ArgumentException($"minimum change {MinChange} must be within [0, 1)");
        }

        if (!(MaxAuditRate is > 0 and <= 1))
        {
            throw new ArgumentException($"maximum audit rate {MaxAuditRate} must be within (0, 1]");
        }

        return this;
    }
}

/// <summary>Where a class's recommended threshold comes from.</summary>
public static class RetuneSources
{
    /// <summary>Audits (and reviews) of the window.</summary>
    public const string Production = "production";

    /// <summary>Too few audits: the calibration set's threshold.</summary>
    public const string Calibration = "calibration";

    /// <summary>Too few audits and no calibration: today's threshold stays.</summary>
    public const string Kept = "kept";

    /// <summary>No threshold meets the target: every image with the class goes to people.</summary>
    public const string NoThreshold = "no-threshold-meets-target";
}

/// <summary>
/// One point of a class's precision curve. At or above today's threshold (<see cref="Band"/> false): the audited boxes at or
/// above <see cref="Threshold"/>. Below it (<see cref="Band"/> true): the reviewed boxes between <see cref="Threshold"/> and
/// today's threshold, the ones a lower threshold would add.
/// </summary>
public sealed record CurvePoint(double Threshold, long Boxes, long Matched, double? Precision, double? Lower, bool Band = false);

/// <summary>What retuning recommends for one class.</summary>
public sealed record ClassRetune
{
    public required string Class { get; init; }
    public required double CurrentThreshold { get; init; }
    public required double RecommendedThreshold { get; init; }
    public required string Source { get; init; }
    public long AuditedBoxes { get; init; }
    public CurvePoint? AtCurrent { get; init; }
    public CurvePoint? AtRecommended { get; init; }
    public bool Changed => Math.Abs(RecommendedThreshold - CurrentThreshold) > 1e-9;

    /// <summary>One sentence on why.</summary>
    public required string Note { get; init; }
    public required IReadOnlyList<CurvePoint> Curve { get; init; }
}

/// <summary>
/// Images to people and their monthly cost at one set of thresholds. <see cref="AutoVolumeKnown"/> is false when the window
/// has no audit image: the auto-labeled volume is then unknown and only the images people saw are counted.
/// </summary>
public sealed record RoutingForecast(double HumanShare, double ImagesPerMonth, double ImagesToPeoplePerMonth, decimal MonthlyCostUsd, bool AutoVolumeKnown = true);

/// <summary>The recommendation.</summary>
public sealed record RetuneResult
{
    public required RetuneOptions Options { get; init; }
    public required RoutingSettings Current { get; init; }
    public required RoutingSettings Recommended { get; init; }
    public required IReadOnlyList<ClassRetune> Classes { get; init; }
    public required DateOnly From { get; init; }
    public required DateOnly To { get; init; }
    public required RoutingForecast Today { get; init; }
    public required RoutingForecast AtRecommended { get; init; }

    /// <summary>Classes with too few audits, and the audit rate that would give them enough in the same window.</summary>
    public IReadOnlyList<string> TooFewAudits { get; init; } = [];
    public string? AuditRateNote { get; init; }
    public bool AnyChange => Classes.Any(c => c.Changed) || Math.Abs(Recommended.AuditRate - Current.AuditRate) > 1e-9 || Math.Abs(Recommended.AutoAcceptThreshold - Current.AutoAcceptThreshold) > 1e-9;
}

/// <summary>
/// Recommends auto-accept thresholds from production evidence: for each class, the lowest threshold on the
/// confidence grid whose boxes' Wilson lower bound of precision meets the target (the same bound the alarm
/// watches, so a deployed recommendation keeps the alarm quiet). Boxes at or above today's threshold come from
/// audit images (a random sample of what is auto-accepted); below it only reviewed images have boxes, which are
/// harder than average, so lowering a threshold is judged conservatively. A class with too few audited boxes falls
/// back to the calibration set (or keeps its threshold) and is named. Thresholds move only by at least
/// <see cref="RetuneOptions.MinChange"/>, so a steady fleet gets no change.
/// </summary>
public static class ThresholdRetuner
{
    public static RetuneResult Recommend(IEnumerable<PrecisionEvidence> evidence, DateOnly today, RoutingSettings current, RetuneOptions options)
    {
        options.Validate();
        var cells = ProductionPrecision.InWindow(evidence, today, options.WindowDays).ToList();
        var classNames = cells.Where(c => c.Class != PrecisionEvidence.AllClasses).Select(c => c.Class)
            .Concat(current.ClassThresholds.Keys).Concat(options.CalibrationThresholds.Keys)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

        var classes = classNames.Select(name => RetuneClass(name, cells.Where(c => c.Class == name).ToList(), current, options)).ToList();

        // The global threshold is the most common recommendation (the fleet default); every other class gets its own entry.
        var global = classes.Count == 0 ? current.AutoAcceptThreshold
            : classes.GroupBy(c => c.RecommendedThreshold).OrderByDescending(g => g.Count()).ThenBy(g => Math.Abs(g.Key - current.AutoAcceptThreshold)).First().Key;
        var perClass = classes.Where(c => Math.Abs(c.RecommendedThreshold - global) > 1e-9).ToDictionary(c => c.Class, c => c.RecommendedThreshold, StringComparer.Ordinal);

        var tooFew = classes.Where(c => c.AuditedBoxes < options.MinBoxes).Select(c => c.Class).ToList();
        var auditRate = current.AuditRate;
        string? auditNote = null;
        if (tooFew.Count > 0)
        {
            var fewest = Math.Max(1, classes.Where(c => tooFew.Contains(c.Class)).Min(c => c.AuditedBoxes));
            var wanted = Math.Min(1, current.AuditRate <= 0 ? options.MaxAuditRate : current.AuditRate * options.MinBoxes / fewest);
            var bounded = Math.Min(options.MaxAuditRate, Math.Round(wanted, 4));
            auditNote = $"too few audited boxes (< {options.MinBoxes} in {options.WindowDays} days) for {string.Join(", ", tooFew)}: an audit rate of {wanted:0.###} would give enough; " +
                $"the edge's audit rate is one rate for every class (no per-class rate), so the fleet rate is {(options.RaiseAuditRate ? "raised" : "left")} to {(options.RaiseAuditRate ? bounded : current.AuditRate):0.###} (at most {options.MaxAuditRate:0.###})";
            if (options.RaiseAuditRate && bounded > current.AuditRate)
            {
                auditRate = bounded;
            }
        }

        var recommended = current with { AutoAcceptThreshold = global, ClassThresholds = perClass, AuditRate = auditRate };
        return new RetuneResult
        {
            Options = options,
            Current = current,
            Recommended = recommended,
            Classes = classes,
            From = today.AddDays(-(options.WindowDays - 1)),
            To = today,
            Today = Forecast(cells, current, current, options),
            AtRecommended = Forecast(cells, current, recommended, options),
            TooFewAudits = tooFew,
            AuditRateNote = auditNote,
        };
    }

    private static ClassRetune RetuneClass(string name, IReadOnlyList<PrecisionEvidence> cells, RoutingSettings current, RetuneOptions options)
    {
        var currentThreshold = current.ThresholdOf(name);
        var audit = Sum(cells.Where(c => c.Sample == EvidenceSamples.Audit));
        var reviewed = Sum(cells.Where(c => c.Sample == EvidenceSamples.Reviewed));
        var currentBin = ConfidenceBins.FirstAtOrAbove(currentThreshold);
        var auditedBoxes = audit.Boxes.Sum();
        var curve = new List<CurvePoint>();
        var firstBin = Math.Max(1, ConfidenceBins.FirstAtOrAbove(current.UncertainLow) + 1);
        for (var bin = firstBin; bin < ConfidenceBins.Count; bin++)
        {
            long boxes = 0, matched = 0;
            var band = bin < currentBin;
            // At or above today's threshold: the audited boxes (a random sample of what is auto-accepted). Below it: only the
            // reviewed boxes a lower threshold would add; they must meet the target on their own, or the dataset gets
            // worse boxes than it has today even if the average still looks fine (audits are a small sample, the band is not).
            for (var b = bin; b < (band ? currentBin : ConfidenceBins.Count); b++)
            {
                var source = band ? reviewed : audit;
                boxes += source.Boxes[b];
                matched += source.Matched[b];
            }

            curve.Add(Point(ConfidenceBins.LowerEdge(bin), boxes, matched, options.Z) with { Band = band });
        }

        CurvePoint? At(double threshold) => curve.FirstOrDefault(p => Math.Abs(p.Threshold - threshold) < 1e-9) ?? curve.LastOrDefault(p => p.Threshold <= threshold);
        var atCurrent = At(currentThreshold);
        if (auditedBoxes < options.MinBoxes)
        {
            if (options.CalibrationThresholds.TryGetValue(name, out var calibrated))
            {
                return new ClassRetune
                {
                    Class = name, CurrentThreshold = currentThreshold, RecommendedThreshold = calibrated, Source = RetuneSources.Calibration, AuditedBoxes = auditedBoxes,
                    AtCurrent = atCurrent, Curve = curve,
                    Note = $"only {auditedBoxes} audited boxes (< {options.MinBoxes}): the calibration set's threshold {calibrated:0.00} is used",
                };
            }

            return new ClassRetune
            {
                Class = name, CurrentThreshold = currentThreshold, RecommendedThreshold = currentThreshold, Source = RetuneSources.Kept, AuditedBoxes = auditedBoxes,
                AtCurrent = atCurrent, Curve = curve,
                Note = $"only {auditedBoxes} audited boxes (< {options.MinBoxes}) and no calibration threshold for it: today's {currentThreshold:0.00} is kept",
            };
        }

        // Lowest threshold whose audited boxes meet the target; below today's, every band down to it must meet it too.
        var above = curve.Where(p => !p.Band).ToList();
        var meeting = above.FirstOrDefault(p => p.Lower >= options.TargetPrecision && p.Boxes >= options.MinBoxes);
        if (meeting is not null && ReferenceEquals(meeting, above[0]))
        {
            // Walk down from today's threshold: the band [t, today) grows; once it holds enough boxes to judge, it must
            // keep meeting the target, and the lowest t where it still does is the new threshold.
            var lowered = curve.Where(p => p.Band).Reverse().SkipWhile(p => p.Boxes < options.MinBoxes)
                .TakeWhile(p => p.Lower >= options.TargetPrecision).LastOrDefault();
            meeting = lowered ?? meeting;
        }
        if (meeting is null)
        {
            return new ClassRetune
            {
                Class = name, CurrentThreshold = currentThreshold, RecommendedThreshold = 1.0, Source = RetuneSources.NoThreshold, AuditedBoxes = auditedBoxes,
                AtCurrent = atCurrent, Curve = curve,
                Note = $"no threshold reaches a lower bound of {options.TargetPrecision:P1} with {options.MinBoxes}+ boxes: every image with a '{name}' box goes to people (threshold 1.00)",
            };
        }

        var needsRaise = atCurrent is not { Lower: { } lower } || lower < options.TargetPrecision;
        var recommended = meeting.Threshold;
        if (!needsRaise && currentThreshold - recommended < options.MinChange - 1e-9)
        {
            recommended = currentThreshold;
        }
        else if (needsRaise && recommended <= currentThreshold)
        {
            // Today's bin meets the target while today's exact threshold (between grid points) does not: take the next point up.
            recommended = curve.FirstOrDefault(p => p.Threshold > currentThreshold && p.Lower >= options.TargetPrecision)?.Threshold ?? recommended;
        }

        var note = Math.Abs(recommended - currentThreshold) < 1e-9
            ? $"today's {currentThreshold:0.00} keeps a lower bound of {atCurrent?.Lower:P1} (target {options.TargetPrecision:P1})"
            : recommended > currentThreshold
                ? $"lower bound at today's {currentThreshold:0.00} is {atCurrent?.Lower:P1}, under the target {options.TargetPrecision:P1}: raise to {recommended:0.00}"
                : $"reviewed boxes between {recommended:0.00} and today's {currentThreshold:0.00} keep a lower bound of {meeting.Lower:P1} on their own: lower to {recommended:0.00}";
        return new ClassRetune
        {
            Class = name, CurrentThreshold = currentThreshold, RecommendedThreshold = recommended, Source = RetuneSources.Production, AuditedBoxes = auditedBoxes,
            AtCurrent = atCurrent, AtRecommended = At(recommended), Curve = curve, Note = note,
        };
    }

    /// <summary>
    /// Images to people per month at <paramref name="thresholds"/>, from the window's image counts (audit images ÷ audit
    /// rate = the auto-labelable images). A class whose threshold rises moves the audited images holding a box between the
    /// two thresholds to people, scaled by the audit rate; one whose threshold falls moves reviewed images holding a box in
    /// the band back. Each such box is counted as its own image, so the move is an upper bound either way.
    /// </summary>
    public static RoutingForecast Forecast(IReadOnlyList<PrecisionEvidence> windowCells, RoutingSettings today, RoutingSettings thresholds, RetuneOptions options)
    {
        var days = windowCells.Select(c => c.Day).Distinct(StringComparer.Ordinal).Count();
        if (days == 0 || today.AuditRate <= 0)
        {
            return new RoutingForecast(0, 0, 0, 0);
        }

        double auditImages = windowCells.Where(c => c is { Class: PrecisionEvidence.AllClasses, Sample: EvidenceSamples.Audit }).Sum(c => c.Images);
        double reviewedImages = windowCells.Where(c => c is { Class: PrecisionEvidence.AllClasses, Sample: EvidenceSamples.Reviewed }).Sum(c => c.Images);
        var autoImages = auditImages / today.AuditRate;
        double toReview = 0, toAuto = 0;
        foreach (var name in windowCells.Where(c => c.Class != PrecisionEvidence.AllClasses).Select(c => c.Class).Distinct(StringComparer.Ordinal))
        {
            var from = today.ThresholdOf(name);
            var to = thresholds.ThresholdOf(name);
            var lo = ConfidenceBins.FirstAtOrAbove(Math.Min(from, to));
            var hi = ConfidenceBins.FirstAtOrAbove(Math.Max(from, to));
            var sample = to > from ? EvidenceSamples.Audit : EvidenceSamples.Reviewed;
            var counts = Sum(windowCells.Where(c => c.Class == name && c.Sample == sample));
            double band = 0;
            for (var b = lo; b < hi; b++)
            {
                band += counts.Boxes[b];
            }

            if (to > from)
            {
                toReview += band / today.AuditRate;
            }
            else
            {
                toAuto += band;
            }
        }

        toReview = Math.Min(toReview, autoImages);
        toAuto = Math.Min(toAuto, reviewedImages);
        var auto = autoImages - toReview + toAuto;
        var total = autoImages + reviewedImages;
        var people = reviewedImages + toReview - toAuto + (thresholds.AuditRate * auto);
        var perMonth = 30.0 / days;
        var peoplePerMonth = people * perMonth;
        var cost = new CostForecaster(options.Budget).Forecast(0, (long)Math.Round(peoplePerMonth));
        return new RoutingForecast(total == 0 ? 0 : Math.Round(people / total, 4), Math.Round(total * perMonth, 1), Math.Round(peoplePerMonth, 1), Math.Round(cost, 2), auditImages > 0);
    }

    private static CurvePoint Point(double threshold, long boxes, long matched, double z)
    {
        if (boxes == 0)
        {
            return new CurvePoint(threshold, 0, 0, null, null);
        }

        var interval = WilsonInterval.Of(matched, boxes, z);
        return new CurvePoint(threshold, boxes, matched, Math.Round((double)matched / boxes, 4), Math.Round(interval.Lower, 4));
    }

    private static (long[] Boxes, long[] Matched) Sum(IEnumerable<PrecisionEvidence> cells)
    {
        var boxes = new long[ConfidenceBins.Count];
        var matched = new long[ConfidenceBins.Count];
        foreach (var c in cells)
        {
            for (var i = 0; i + 2 < c.Bins.Length; i += 3)
            {
                var bin = (int)c.Bins[i];
                if ((uint)bin < ConfidenceBins.Count)
                {
                    boxes[bin] += c.Bins[i + 1];
                    matched[bin] += c.Bins[i + 2];
                }
            }
        }

        return (boxes, matched);
    }
}
