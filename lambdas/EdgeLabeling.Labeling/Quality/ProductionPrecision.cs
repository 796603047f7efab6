using System.Globalization;
using EdgeLabeling.Contracts;
using EdgeLabeling.Evaluation;

namespace EdgeLabeling.Labeling.Quality;

/// <summary>How production precision is measured and reported.</summary>
public sealed record ProductionPrecisionOptions
{
    /// <summary>Days of capture time that count, ending with today (today included).</summary>
    public int WindowDays { get; init; } = 7;

    /// <summary>z of the Wilson interval (1.96: 95 % two-sided).</summary>
    public double Z { get; init; } = WilsonInterval.Z95;

    /// <summary>
    /// Audited model boxes a group needs before its precision is reported as a metric: below it the interval is
    /// so wide that an alarm on the lower bound would fire on too few audits instead of on a worse model.
    /// </summary>
    public int MinBoxes { get; init; } = 50;

    /// <summary>The precision automatic labels must keep; null when only measuring (the Lambda: the alarm holds the target).</summary>
    public double? TargetPrecision { get; init; }

    /// <summary>At most this many devices and this many model versions get their own metric series (worst lower bound first).</summary>
    public int MaxSeriesPerDimension { get; init; } = 20;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that cannot work.</summary>
    public ProductionPrecisionOptions Validate()
    {
        if (WindowDays is < 1 or > 366)
        {
            throw new ArgumentException($"window of {WindowDays} days must be within 1-366");
        }

        if (!(Z is >= 0 and <= 5))
        {
            throw new ArgumentException($"z {Z} must be within 0-5");
        }

        if (MinBoxes < 1)
        {
            throw new ArgumentException($"minimum of {MinBoxes} audited boxes must be at least 1");
        }

        if (TargetPrecision is { } t && !(t is > 0 and < 1))
        {
            throw new ArgumentException($"target precision {t} must be between 0 and 1 (exclusive)");
        }

        if (MaxSeriesPerDimension is < 1 or > 500)
        {
            throw new ArgumentException($"{MaxSeriesPerDimension} series per dimension must be within 1-500");
        }

        return this;
    }
}

/// <summary>Precision and recall of the automatic labels for one group (a class, a device, a model, or a pair of them).</summary>
public sealed record PrecisionRow
{
    public string? Class { get; init; }
    public string? Device { get; init; }
    public string? Model { get; init; }
    public long Images { get; init; }

    /// <summary>Model boxes people saw (the sample size of precision).</summary>
    public long ModelBoxes { get; init; }
    public long MatchedBoxes { get; init; }

    /// <summary>Boxes people drew (the sample size of recall).</summary>
    public long HumanBoxes { get; init; }
    public double? Precision { get; init; }
    public double? PrecisionLower { get; init; }
    public double? PrecisionUpper { get; init; }
    public double? Recall { get; init; }
    public double? RecallLower { get; init; }
    public double? RecallUpper { get; init; }

    /// <summary>At least <see cref="ProductionPrecisionOptions.MinBoxes"/> audited boxes.</summary>
    public bool Enough { get; init; }

    /// <summary>Enough boxes and the lower bound below the target; null without a target.</summary>
    public bool? BelowTarget { get; init; }

    /// <summary>"bolt / cam-3 / 1a2b3c4d5e6f", the parts that are set.</summary>
    public string Label => string.Join(" / ", new[] { Class, Device, Model is null ? null : ProductionPrecision.ShortModel(Model) }.Where(s => s is not null));
}

/// <summary>The production precision over one window, from audit images only (the unbiased sample of automatic labels).</summary>
public sealed record ProductionPrecisionReport
{
    public required DateOnly From { get; init; }
    public required DateOnly To { get; init; }
    public required int WindowDays { get; init; }
    public required int MinBoxes { get; init; }
    public double? TargetPrecision { get; init; }
    public required PrecisionRow Overall { get; init; }
    public required IReadOnlyList<PrecisionRow> ByClass { get; init; }
    public required IReadOnlyList<PrecisionRow> ByDevice { get; init; }
    public required IReadOnlyList<PrecisionRow> ByModel { get; init; }
    public required IReadOnlyList<PrecisionRow> ByClassAndDevice { get; init; }
    public required IReadOnlyList<PrecisionRow> ByClassAndModel { get; init; }

    /// <summary>Classes whose lower bound is below the target (the alarm condition).</summary>
    public IReadOnlyList<PrecisionRow> ClassesBelowTarget => ByClass.Where(r => r.BelowTarget == true).ToList();
}

/// <summary>
/// Production precision and recall of auto-accepted boxes, from the evidence cells the merge keeps per job:
/// per class, device and model version over a rolling window, with Wilson intervals and sample sizes. Only
/// audit images count: they are auto-accepted images drawn at random, so their boxes are the automatic labels as
/// the dataset gets them. Reviewed images (uncertain, so harder) are kept apart for threshold retuning.
/// </summary>
public static class ProductionPrecision
{
    /// <summary>The first 12 hex digits of a model SHA-256 (the metric dimension value; a full hash is noise on a graph).</summary>
    public static string ShortModel(string model) => model.Length > 12 && model.All(char.IsAsciiHexDigit) ? model[..12] : model;

    /// <summary>Cells whose capture day falls in the window ending with <paramref name="today"/>.</summary>
    public static IEnumerable<PrecisionEvidence> InWindow(IEnumerable<PrecisionEvidence> cells, DateOnly today, int windowDays)
    {
        var from = today.AddDays(-(windowDays - 1));
        return cells.Where(c => c.CaptureDay >= from && c.CaptureDay <= today);
    }

    /// <summary>The report over the window ending with <paramref name="today"/>.</summary>
    public static ProductionPrecisionReport Compute(IEnumerable<PrecisionEvidence> cells, DateOnly today, ProductionPrecisionOptions options)
    {
        options.Validate();
        var audit = InWindow(cells, today, options.WindowDays).Where(c => c.Sample == EvidenceSamples.Audit && c.Class != PrecisionEvidence.AllClasses).ToList();
        IReadOnlyList<PrecisionRow> Group(Func<PrecisionEvidence, (string? Class, string? Device, string? Model)> key) =>
            audit.GroupBy(key)
                .Select(g => Row(g, g.Key.Class, g.Key.Device, g.Key.Model, options))
                .OrderBy(r => r.Class, StringComparer.Ordinal).ThenBy(r => r.Device, StringComparer.Ordinal).ThenBy(r => r.Model, StringComparer.Ordinal)
                .ToList();

        return new ProductionPrecisionReport
        {
            From = today.AddDays(-(options.WindowDays - 1)),
            To = today,
            WindowDays = options.WindowDays,
            MinBoxes = options.MinBoxes,
            TargetPrecision = options.TargetPrecision,
            Overall = Row(audit, null, null, null, options),
            ByClass = Group(c => (c.Class, null, null)),
            ByDevice = Group(c => (null, c.Device, null)),
            ByModel = Group(c => (null, null, c.Model)),
            ByClassAndDevice = Group(c => (c.Class, c.Device, null)),
            ByClassAndModel = Group(c => (c.Class, null, c.Model)),
        };
    }

    /// <summary>Sums cells into one row with Wilson intervals.</summary>
    public static PrecisionRow Row(IEnumerable<PrecisionEvidence> cells, string? className, string? device, string? model, ProductionPrecisionOptions options)
    {
        long images = 0, boxes = 0, matched = 0, human = 0;
        foreach (var c in cells)
        {
            images += c.Images;
            boxes += c.ModelBoxes;
            matched += c.MatchedBoxes;
            human += c.HumanBoxes;
        }

        // A model box matches at most one human box of its class and the other way round, so the matched
        // count is both precision's and recall's numerator.
        var p = boxes == 0 ? (WilsonInterval?)null : WilsonInterval.Of(matched, boxes, options.Z);
        var r = human == 0 ? (WilsonInterval?)null : WilsonInterval.Of(Math.Min(matched, human), human, options.Z);
        var enough = boxes >= options.MinBoxes;
        return new PrecisionRow
        {
            Class = className,
            Device = device,
            Model = model,
            Images = images,
            ModelBoxes = boxes,
            MatchedBoxes = matched,
            HumanBoxes = human,
            Precision = boxes == 0 ? null : Math.Round((double)matched / boxes, 4),
            PrecisionLower = p is { } pi ? Math.Round(pi.Lower, 4) : null,
            PrecisionUpper = p is { } pu ? Math.Round(pu.Upper, 4) : null,
            Recall = human == 0 ? null : Math.Round((double)Math.Min(matched, human) / human, 4),
            RecallLower = r is { } ri ? Math.Round(ri.Lower, 4) : null,
            RecallUpper = r is { } ru ? Math.Round(ru.Upper, 4) : null,
            Enough = enough,
            BelowTarget = options.TargetPrecision is { } target ? enough && p!.Value.Lower < target : null,
        };
    }

    /// <summary>
    /// Emits the report as EMF metrics (namespace <see cref="LabelingMetricNames.Namespace"/>), in three bounded
    /// dimension sets: {Class} for every class (Ground Truth allows at most 50), {ThingName} and {ModelVersion} for at
    /// most <see cref="ProductionPrecisionOptions.MaxSeriesPerDimension"/> each, worst lower bound first. Pairs
    /// (class × device) are not metrics: their count grows with the fleet times the classes, and every distinct
    /// dimension value set is a billed custom metric; they are in the report and the log line instead.
    /// The sample size is always emitted; precision, its lower bound and recall only for groups with enough boxes.
    /// </summary>
    public static int Emit(ILabelingMetrics metrics, ProductionPrecisionReport report, ProductionPrecisionOptions options)
    {
        var series = 0;
        void EmitRow(PrecisionRow row, string dimension, string value)
        {
            var dims = new Dictionary<string, string> { [dimension] = value };
            var props = new Dictionary<string, string>
            {
                ["WindowDays"] = report.WindowDays.ToString(CultureInfo.InvariantCulture),
                ["From"] = report.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            };
            metrics.Emit(LabelingMetricNames.ProductionAuditedBoxes, row.ModelBoxes, "Count", dims, props);
            series++;
            if (row.Enough && row.Precision is { } precision && row.PrecisionLower is { } lower)
            {
                metrics.Emit(LabelingMetricNames.ProductionPrecision, precision * 100, "Percent", dims, props);
                metrics.Emit(LabelingMetricNames.ProductionPrecisionLowerBound, lower * 100, "Percent", dims, props);
                series += 2;
                if (row.Recall is { } recall)
                {
                    metrics.Emit(LabelingMetricNames.ProductionRecall, recall * 100, "Percent", dims, props);
                    series++;
                }
            }
        }

        foreach (var row in report.ByClass)
        {
            EmitRow(row, LabelingMetricNames.ClassDimension, row.Class!);
        }

        foreach (var row in Worst(report.ByDevice, options.MaxSeriesPerDimension))
        {
            EmitRow(row, FleetMetricNames.ThingDimension, row.Device!);
        }

        foreach (var row in Worst(report.ByModel, options.MaxSeriesPerDimension))
        {
            EmitRow(row, LabelingMetricNames.ModelVersionDimension, ShortModel(row.Model!));
        }

        return series;
    }

    /// <summary>Rows with enough boxes by ascending lower bound, then the rest by descending sample size.</summary>
    private static IEnumerable<PrecisionRow> Worst(IEnumerable<PrecisionRow> rows, int max) =>
        rows.OrderByDescending(r => r.Enough).ThenBy(r => r.PrecisionLower ?? 1).ThenByDescending(r => r.ModelBoxes).Take(max);
}
