using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.Quality;
using EdgeLabeling.Labeling.Tests.Simulation;
using EdgeLabeling.Labeling.Tests.Support;
using EdgeLabeling.Simulation;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Tests.Quality;

/// <summary>The production-precision flow against the real S3 server (radosgw): merge, index, metrics, retune.</summary>
[Trait("Category", "Integration")]
public sealed class ProductionPrecisionIntegrationTests
{
    [Fact]
    public async Task MergeOnRadosgw_DeviceWhoseCameraDegrades_LowerBoundAlarmsAndRetuneRaisesTheClass()
    {
        await using var bucket = await RadosgwBucket.CreateAsync("precision");
        using var dir = new TempDir();
        var request = ProductionPrecisionTests.DegradingFleet(days: 12) with
        {
            Devices =
            [
                new SimulatedDevice { ThingName = "cam-steady" },
                new SimulatedDevice { ThingName = "cam-dirty", DegradedFrom = 8, DegradedFalseRate = new Dictionary<string, double> { ["bolt"] = 0.25 } },
            ],
        };
        var metrics = new RecordingMetrics();

        var history = await ProductionHistoryMerge.MergeAsync(bucket.Store, bucket.Name, ProductionHistory.Generate(request), request.FirstDay, dir.Path, metrics,
            new ProductionPrecisionOptions { WindowDays = 4, MinBoxes = 50 });

        var lastBolt = metrics.Lines.Last(l => l.Name == LabelingMetricNames.ProductionPrecisionLowerBound && l.Dimensions.GetValueOrDefault(LabelingMetricNames.ClassDimension) == "bolt");
        Assert.True(lastBolt.Value < 95, $"bolt lower bound {lastBolt.Value}");
        Assert.Equal(12, history.Jobs.Count);
        var bytes = await bucket.Store.ReadBytesAsync(bucket.Name, DatasetKeys.IndexKey("parts"));
        var index = JsonSerializer.Deserialize(bytes!, DatasetIndexJsonContext.Default.DatasetIndex)!;
        var retune = ThresholdRetuner.Recommend(index.Evidence, request.FirstDay.AddDays(11),
            new RoutingSettings { AutoAcceptThreshold = 0.5, UncertainLow = 0.25, AuditRate = 0.05 }, new RetuneOptions { TargetPrecision = 0.95, WindowDays = 4 });
        Assert.True(retune.Recommended.ClassThresholds["bolt"] > 0.5);
        Assert.False(retune.Classes.Single(c => c.Class == "nut").Changed);
    }
}
