using System.Text.Json;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.Quality;
using EdgeLabeling.Labeling.Tests.Support;
using EdgeLabeling.Simulation;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Tests.Quality;

/// <summary>
/// Promotion of a canary model, on generated histories merged through the real merge: the fleet (two devices, one model)
/// and the canary group (one device, the new model) audited over the same days.
/// </summary>
public sealed class CanaryComparisonTests : IDisposable
{
    internal const string FleetModel = "f1ee70000000000000000000000000000000000000000000000000000000000a";
    internal const string CanaryModel = "ca0a70000000000000000000000000000000000000000000000000000000000b";
    private static readonly DateOnly FirstDay = new(2026, 11, 1);
    private const string Bucket = "data-bucket";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Fleet and canary lines per day, the canary's from <paramref name="canary"/>'s device on the new model.</summary>
    internal static IReadOnlyList<IReadOnlyList<string>> History(SimulatedDevice canary, int days = 4, int canaryAuditsPerDay = 30)
    {
        var fleet = ProductionHistory.Generate(new ProductionHistoryRequest
        {
            FirstDay = FirstDay, Days = days, ModelSha256 = FleetModel,
            Devices = [new SimulatedDevice { ThingName = "cam-fleet-1" }, new SimulatedDevice { ThingName = "cam-fleet-2" }],
        });
        var canaryDays = ProductionHistory.Generate(new ProductionHistoryRequest
        {
            FirstDay = FirstDay, Days = days, ModelSha256 = CanaryModel, Seed = 29, AuditImagesPerDay = canaryAuditsPerDay, Devices = [canary],
        });
        return fleet.Zip(canaryDays, (f, c) => (IReadOnlyList<string>)[.. f, .. c]).ToList();
    }

    internal static DateOnly LastDay(int days = 4) => FirstDay.AddDays(days - 1);

    private async Task<ProductionPrecisionReport> ReportAsync(IReadOnlyList<IReadOnlyList<string>> days)
    {
        var store = new FileSystemObjectStore(Path.Combine(_dir.Path, "store"));
        await ProductionHistoryMerge.MergeAsync(store, Bucket, days, FirstDay, Path.Combine(_dir.Path, "work"));
        var index = JsonSerializer.Deserialize((await store.ReadBytesAsync(Bucket, DatasetKeys.IndexKey("parts")))!, DatasetIndexJsonContext.Default.DatasetIndex)!;
        return ProductionPrecision.Compute(index.Evidence, LastDay(days.Count), new ProductionPrecisionOptions { WindowDays = 7, MinBoxes = 50, TargetPrecision = 0.95 });
    }

    [Fact]
    public async Task Compare_CanaryAsGoodAsFleet_Promotes()
    {
        var report = await ReportAsync(History(new SimulatedDevice { ThingName = "cam-canary" }));

        var verdict = CanaryComparison.Compare(report, CanaryComparison.ResolveModel(report, CanaryModel[..12], "--canary-model"), null);

        Assert.True(verdict.Promote, string.Join("; ", verdict.Reasons));
        Assert.Equal("promote", verdict.Decision);
        Assert.Equal(FleetModel, verdict.Fleet!.Model);
        Assert.True(verdict.Canary.ModelBoxes >= 50);
        Assert.True(verdict.Canary.PrecisionLower >= 0.95);
        Assert.Equal(["bolt", "nut"], verdict.Classes.Select(c => c.Class));
        Assert.All(verdict.Classes, c => Assert.False(c.Worse));
    }

    [Fact]
    public async Task Compare_CanaryWithWrongBoltBoxes_HoldsNamingTheNumbersAndTheClass()
    {
        var degraded = new SimulatedDevice { ThingName = "cam-canary", DegradedFrom = 0, DegradedFalseRate = new Dictionary<string, double> { ["bolt"] = 0.25 } };
        var report = await ReportAsync(History(degraded));

        var verdict = CanaryComparison.Compare(report, CanaryModel, FleetModel);

        Assert.False(verdict.Promote);
        Assert.Equal("hold", verdict.Decision);
        Assert.Contains(verdict.Reasons, r => r.StartsWith("class 'bolt': the canary's precision", StringComparison.Ordinal) && r.Contains("below the fleet model's interval", StringComparison.Ordinal));
        Assert.True(verdict.Classes.Single(c => c.Class == "bolt").Worse);
        Assert.False(verdict.Classes.Single(c => c.Class == "nut").Worse);
    }

    [Fact]
    public async Task Compare_CanaryWithTooFewAudits_HoldsSayingHowManyAreMissing()
    {
        var report = await ReportAsync(History(new SimulatedDevice { ThingName = "cam-canary" }, days: 1, canaryAuditsPerDay: 3));

        var verdict = CanaryComparison.Compare(report, CanaryModel, null);

        Assert.False(verdict.Promote);
        Assert.Contains(verdict.Reasons, r => r.Contains($"{verdict.Canary.ModelBoxes} audited boxes, fewer than the 50 needed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ResolveModel_PrefixOfNoModel_FailsNamingTheModelsThatHaveAudits()
    {
        var report = await ReportAsync(History(new SimulatedDevice { ThingName = "cam-canary" }, days: 1));

        var ex = Assert.Throws<ArgumentException>(() => CanaryComparison.ResolveModel(report, "0123456789ab", "--canary-model"));

        Assert.Contains("'0123456789ab' has no audited boxes", ex.Message, StringComparison.Ordinal);
        Assert.Contains(CanaryModel[..12], ex.Message, StringComparison.Ordinal);
        Assert.Contains(FleetModel[..12], ex.Message, StringComparison.Ordinal);
    }
}
