using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.Quality;

using EdgeLabeling.Labeling.Tests.Support;
using EdgeLabeling.Simulation;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Tests.Quality;

public sealed class ProductionPrecisionTests : IDisposable
{
    private static readonly DateOnly FirstDay = new(2026, 11, 1);
    private const string Bucket = "data-bucket";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>cam-steady keeps its 0.5 % wrong boxes; cam-dirty's bolt boxes turn 25 % wrong from day 10 (dirt on the lens).</summary>
    internal static ProductionHistoryRequest DegradingFleet(int days = 14) => new()
    {
        FirstDay = FirstDay,
        Days = days,
        Devices =
        [
            new SimulatedDevice { ThingName = "cam-steady" },
            new SimulatedDevice { ThingName = "cam-dirty", DegradedFrom = 10, DegradedFalseRate = new Dictionary<string, double> { ["bolt"] = 0.25 } },
        ],
    };

    internal static ProductionHistoryRequest SteadyFleet(int days = 14) => new()
    {
        FirstDay = FirstDay,
        Days = days,
        Devices = [new SimulatedDevice { ThingName = "cam-steady" }, new SimulatedDevice { ThingName = "cam-other" }],
    };

    private async Task<(MergedHistory History, RecordingMetrics Metrics, FileSystemObjectStore Store)> MergeAsync(ProductionHistoryRequest request, ProductionPrecisionOptions? options = null)
    {
        var store = new FileSystemObjectStore(Path.Combine(_dir.Path, "store"));
        var metrics = new RecordingMetrics();
        var history = await ProductionHistoryMerge.MergeAsync(store, Bucket, ProductionHistory.Generate(request), request.FirstDay, Path.Combine(_dir.Path, "work"), metrics,
            options ?? new ProductionPrecisionOptions { WindowDays = 4, MinBoxes = 50 });
        return (history, metrics, store);
    }

    [Fact]
    public async Task Merge_DeviceWhoseCameraDegrades_ClassLowerBoundFallsBelowTargetOnlyForThatDevice()
    {
        var (history, metrics, _) = await MergeAsync(DegradingFleet());

        var last = history.Jobs[^1].Precision!;
        var target = new ProductionPrecisionOptions { WindowDays = 4, MinBoxes = 50, TargetPrecision = 0.95 };
        var withTarget = ProductionPrecision.Compute(await ReadEvidenceAsync(), last.To, target);
        Assert.Equal(["bolt"], withTarget.ClassesBelowTarget.Select(r => r.Class));
        Assert.True(withTarget.ByClassAndDevice.Single(r => r is { Class: "bolt", Device: "cam-dirty" }).BelowTarget);
        Assert.False(withTarget.ByClassAndDevice.Single(r => r is { Class: "bolt", Device: "cam-steady" }).BelowTarget);
        Assert.False(withTarget.ByClass.Single(r => r.Class == "nut").BelowTarget);

        // The alarm reads this metric: the bolt lower bound of the last merge is under 95 %, the nut one is not.
        var lastBolt = metrics.Lines.Last(l => l.Name == LabelingMetricNames.ProductionPrecisionLowerBound && l.Dimensions.GetValueOrDefault(LabelingMetricNames.ClassDimension) == "bolt");
        var lastNut = metrics.Lines.Last(l => l.Name == LabelingMetricNames.ProductionPrecisionLowerBound && l.Dimensions.GetValueOrDefault(LabelingMetricNames.ClassDimension) == "nut");
        Assert.True(lastBolt.Value < 95, $"bolt lower bound {lastBolt.Value}");
        Assert.True(lastNut.Value >= 95, $"nut lower bound {lastNut.Value}");

        // Before the camera degraded (the merge of day 9) bolt was fine too.
        var day9 = metrics.Lines.Where(l => l.Name == LabelingMetricNames.ProductionPrecisionLowerBound && l.Dimensions.GetValueOrDefault(LabelingMetricNames.ClassDimension) == "bolt").ElementAt(8);
        Assert.True(day9.Value >= 95, $"bolt lower bound before the degradation {day9.Value}");

        async Task<IReadOnlyList<PrecisionEvidence>> ReadEvidenceAsync()
        {
            var store = new FileSystemObjectStore(Path.Combine(_dir.Path, "store"));
            var bytes = await store.ReadBytesAsync(Bucket, DatasetKeys.IndexKey("parts"));
            return System.Text.Json.JsonSerializer.Deserialize(bytes!, DatasetIndexJsonContext.Default.DatasetIndex)!.Evidence.ToList();
        }
    }

    [Fact]
    public async Task Merge_SteadyFleet_NoClassBelowTarget()
    {
        var (history, _, _) = await MergeAsync(SteadyFleet());

        var report = history.Jobs[^1].Precision!;
        Assert.Equal(2, report.ByClass.Count);
        Assert.All(report.ByClass, r => Assert.True(r.Enough && r.PrecisionLower >= 0.95, $"{r.Class}: lower bound {r.PrecisionLower} over {r.ModelBoxes} boxes"));
    }

    [Fact]
    public async Task Merge_EachJobSummary_CarriesItsEvidenceSoTheMergeNeverRereadsShards()
    {
        var (history, _, store) = await MergeAsync(SteadyFleet(days: 2));

        var summary = history.Jobs[0].Shard!;
        Assert.All(summary.Evidence, c => Assert.Equal("2026-11-01", c.Day));
        Assert.Equal(60, summary.Evidence.Where(c => c is { Class: PrecisionEvidence.AllClasses, Sample: EvidenceSamples.Audit }).Sum(c => c.Images));
        Assert.Equal(["cam-other", "cam-steady"], summary.Evidence.Select(c => c.Device).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal([EvidenceSamples.Audit, EvidenceSamples.Reviewed], summary.Evidence.Select(c => c.Sample).Distinct().Order(StringComparer.Ordinal));
        // 2 devices × 30 audit images × 2 bolts: every real bolt's model box is in the audit cells.
        Assert.Equal(120, summary.Evidence.Where(c => c is { Class: "bolt", Sample: EvidenceSamples.Audit }).Sum(c => c.HumanBoxes));
        var stored = await store.ReadBytesAsync(Bucket, DatasetKeys.JobSummaryKey("parts", summary.Job));
        var reread = System.Text.Json.JsonSerializer.Deserialize(stored!, DatasetIndexJsonContext.Default.ShardSummary)!;
        Assert.Equal(summary.Evidence.Sum(c => c.ModelBoxes), reread.Evidence.Sum(c => c.ModelBoxes));
    }

    [Fact]
    public void Compute_CellsOutsideTheWindow_AreLeftOut()
    {
        PrecisionEvidence Cell(string day, long boxes, long matched) => new()
        {
            Day = day, Device = "d", Model = "m", Class = "bolt", Sample = EvidenceSamples.Audit, Images = boxes, HumanBoxes = matched, Bins = [45, boxes, matched],
        };

        var report = ProductionPrecision.Compute([Cell("2026-11-01", 100, 10), Cell("2026-11-05", 100, 99), Cell("2026-11-07", 100, 100)], new DateOnly(2026, 11, 7),
            new ProductionPrecisionOptions { WindowDays = 3, MinBoxes = 10 });

        Assert.Equal(new DateOnly(2026, 11, 5), report.From);
        Assert.Equal(200, report.Overall.ModelBoxes);
        Assert.Equal(0.995, report.Overall.Precision);
    }

    [Fact]
    public void Row_SmallSample_HasAWideIntervalAndIsNotEnough()
    {
        var cell = new PrecisionEvidence { Day = "2026-11-01", Device = "d", Model = "m", Class = "bolt", Sample = EvidenceSamples.Audit, Images = 10, HumanBoxes = 10, Bins = [45, 10, 10] };

        var row = ProductionPrecision.Row([cell], "bolt", null, null, new ProductionPrecisionOptions { MinBoxes = 50, TargetPrecision = 0.95 });

        Assert.Equal(1.0, row.Precision);
        Assert.Equal(0.7225, row.PrecisionLower!.Value, 3);
        Assert.False(row.Enough);
        Assert.False(row.BelowTarget);
    }

    [Fact]
    public void Emit_ManyDevices_StaysWithinTheBoundedDimensionSets()
    {
        var cells = Enumerable.Range(0, 40).SelectMany(d => new[] { "bolt", "nut" }.Select(c => new PrecisionEvidence
        {
            Day = "2026-11-01", Device = $"cam-{d:00}", Model = new string('a', 64), Class = c, Sample = EvidenceSamples.Audit, Images = 60, HumanBoxes = 60, Bins = [40, 60, 60 - (d % 5)],
        })).ToList();
        var options = new ProductionPrecisionOptions { WindowDays = 1, MinBoxes = 50, MaxSeriesPerDimension = 5 };
        var metrics = new RecordingMetrics();

        ProductionPrecision.Emit(metrics, ProductionPrecision.Compute(cells, new DateOnly(2026, 11, 1), options), options);

        var lines = metrics.Lines.ToList();
        Assert.All(lines, l => Assert.Single(l.Dimensions));
        Assert.All(lines, l => Assert.Contains(l.Dimensions.Keys.Single(), new[] { LabelingMetricNames.ClassDimension, FleetMetricNames.ThingDimension, LabelingMetricNames.ModelVersionDimension }));
        var devices = lines.Where(l => l.Dimensions.ContainsKey(FleetMetricNames.ThingDimension)).Select(l => l.Dimensions[FleetMetricNames.ThingDimension]).Distinct().ToList();
        Assert.Equal(5, devices.Count);
        // The worst devices (4 of 60 boxes wrong: d % 5 == 4) are the ones kept.
        Assert.All(devices, d => Assert.Equal(4, int.Parse(d[4..], System.Globalization.CultureInfo.InvariantCulture) % 5));
        Assert.Equal(["aaaaaaaaaaaa"], lines.Where(l => l.Dimensions.ContainsKey(LabelingMetricNames.ModelVersionDimension)).Select(l => l.Dimensions[LabelingMetricNames.ModelVersionDimension]).Distinct());
    }

    [Fact]
    public void Emit_GroupWithTooFewBoxes_EmitsOnlyItsSampleSize()
    {
        var cell = new PrecisionEvidence { Day = "2026-11-01", Device = "d", Model = "m", Class = "bolt", Sample = EvidenceSamples.Audit, Images = 5, HumanBoxes = 5, Bins = [45, 5, 1] };
        var options = new ProductionPrecisionOptions { WindowDays = 1, MinBoxes = 50 };
        var metrics = new RecordingMetrics();

        ProductionPrecision.Emit(metrics, ProductionPrecision.Compute([cell], new DateOnly(2026, 11, 1), options), options);

        Assert.DoesNotContain(metrics.Lines, l => l.Name == LabelingMetricNames.ProductionPrecisionLowerBound);
        Assert.Equal(5, metrics.Sum(LabelingMetricNames.ProductionAuditedBoxes, LabelingMetricNames.ClassDimension, "bolt"));
    }

    [Fact]
    public void Builder_AuditLine_TakesDeviceModelAndDayFromProvenanceAndKey()
    {
        var line = ProductionHistory.Generate(new ProductionHistoryRequest
        {
            FirstDay = FirstDay, Days = 1, AuditImagesPerDay = 1, ReviewedImagesPerDay = 0, Devices = [new SimulatedDevice { ThingName = "cam-7", BaseFalseRate = 0 }],
        })[0][0];
        var parsed = ManifestLineParser.Parse(line);
        var builder = new PrecisionEvidenceBuilder();

        builder.Add(parsed, parsed.Find("parts-model")!, parsed.Find("parts-human")!, DateTimeOffset.UnixEpoch);

        var all = builder.ToEvidence();
        Assert.Equal(1, Assert.Single(all, c => c.Class == PrecisionEvidence.AllClasses).Images);
        var cells = all.Where(c => c.Class != PrecisionEvidence.AllClasses).ToList();
        Assert.Equal(2, cells.Count);
        Assert.All(cells, c => Assert.Equal(("2026-11-01", "cam-7", EvidenceSamples.Audit, 2L, 2L, 2L), (c.Day, c.Device, c.Sample, c.ModelBoxes, c.MatchedBoxes, c.HumanBoxes)));
        Assert.All(cells, c => Assert.StartsWith("5f1e2d3c", c.Model, StringComparison.Ordinal));
        Assert.Equal(["bolt", "nut"], cells.Select(c => c.Class));
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(0.5, 25)]
    [InlineData(0.519, 25)]
    [InlineData(0.52, 26)]
    [InlineData(1.0, 49)]
    public void ConfidenceBins_Of_PutsGridPointsInTheirOwnBin(double confidence, int bin) => Assert.Equal(bin, ConfidenceBins.Of(confidence));
}
