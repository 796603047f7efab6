using EdgeLabeling.Labeling.Quality;
using EdgeLabeling.Simulation;

namespace EdgeLabeling.Labeling.Tests.Quality;

public sealed class ThresholdRetunerTests
{
    private static readonly RoutingSettings Today = new() { AutoAcceptThreshold = 0.5, UncertainLow = 0.25, AuditRate = 0.05 };

    /// <summary>The evidence cells the merge would keep for a generated history (the builder over every line).</summary>
    internal static IReadOnlyList<PrecisionEvidence> EvidenceOf(ProductionHistoryRequest request)
    {
        var builder = new PrecisionEvidenceBuilder();
        foreach (var line in ProductionHistory.Generate(request).SelectMany(d => d))
        {
            var parsed = EdgeLabeling.Contracts.ManifestLineParser.Parse(line);
            builder.Add(parsed, parsed.Find("parts-model")!, parsed.Find("parts-human")!, DateTimeOffset.UnixEpoch);
        }

        return builder.ToEvidence();
    }

    private static DateOnly LastDay(ProductionHistoryRequest r) => r.FirstDay.AddDays(r.Days - 1);

    [Fact]
    public void Recommend_DeviceWhoseCameraDegrades_RaisesThatClassOnly()
    {
        var request = ProductionPrecisionTests.DegradingFleet();

        var result = ThresholdRetuner.Recommend(EvidenceOf(request), LastDay(request), Today, new RetuneOptions { TargetPrecision = 0.95, WindowDays = 4 });

        var bolt = result.Classes.Single(c => c.Class == "bolt");
        Assert.Equal(RetuneSources.Production, bolt.Source);
        Assert.True(bolt.RecommendedThreshold > 0.5, bolt.Note);
        Assert.True(bolt.AtCurrent!.Lower < 0.95);
        Assert.True(bolt.AtRecommended!.Lower >= 0.95, $"lower bound at {bolt.RecommendedThreshold}: {bolt.AtRecommended.Lower}");
        Assert.False(result.Classes.Single(c => c.Class == "nut").Changed);
        Assert.Equal(0.5, result.Recommended.AutoAcceptThreshold);
        Assert.Equal(bolt.RecommendedThreshold, result.Recommended.ClassThresholds["bolt"]);
        Assert.True(result.AtRecommended.HumanShare > result.Today.HumanShare, "a higher threshold sends more images to people");
        Assert.True(result.AtRecommended.MonthlyCostUsd > result.Today.MonthlyCostUsd);
    }

    [Fact]
    public void Recommend_SteadyFleet_RecommendsNoChange()
    {
        var request = ProductionPrecisionTests.SteadyFleet();

        var result = ThresholdRetuner.Recommend(EvidenceOf(request), LastDay(request), Today, new RetuneOptions { TargetPrecision = 0.95, WindowDays = 4 });

        Assert.All(result.Classes, c => Assert.False(c.Changed, $"{c.Class}: {c.Note}"));
        Assert.False(result.AnyChange);
        Assert.Equal(result.Today, result.AtRecommended);
        Assert.Empty(result.TooFewAudits);
    }

    [Fact]
    public void Recommend_ClassWithTooFewAudits_FallsBackToCalibrationAndRaisesTheAuditRateWithinItsBound()
    {
        var request = ProductionPrecisionTests.SteadyFleet(days: 1) with { AuditImagesPerDay = 5 };
        var options = new RetuneOptions
        {
            TargetPrecision = 0.95, WindowDays = 4, MinBoxes = 50, MaxAuditRate = 0.12,
            CalibrationThresholds = new Dictionary<string, double> { ["bolt"] = 0.62 },
        };

        var result = ThresholdRetuner.Recommend(EvidenceOf(request), LastDay(request), Today, options);

        var bolt = result.Classes.Single(c => c.Class == "bolt");
        Assert.Equal((RetuneSources.Calibration, 0.62), (bolt.Source, bolt.RecommendedThreshold));
        Assert.Contains("calibration", bolt.Note, StringComparison.Ordinal);
        var nut = result.Classes.Single(c => c.Class == "nut");
        Assert.Equal((RetuneSources.Kept, 0.5), (nut.Source, nut.RecommendedThreshold));
        Assert.Equal(["bolt", "nut"], result.TooFewAudits);
        Assert.Equal(0.12, result.Recommended.AuditRate);
        Assert.Contains("no per-class rate", result.AuditRateNote, StringComparison.Ordinal);
        Assert.True(result.Today.AutoVolumeKnown);
    }

    [Fact]
    public void Recommend_AuditRaiseDisabled_KeepsTheRateButSaysSo()
    {
        var request = ProductionPrecisionTests.SteadyFleet(days: 1) with { AuditImagesPerDay = 5 };

        var result = ThresholdRetuner.Recommend(EvidenceOf(request), LastDay(request), Today, new RetuneOptions { TargetPrecision = 0.95, RaiseAuditRate = false });

        Assert.Equal(0.05, result.Recommended.AuditRate);
        Assert.NotNull(result.AuditRateNote);
        Assert.Contains("the fleet rate is left to 0.05", result.AuditRateNote, StringComparison.Ordinal);
    }

    /// <summary>Audits of everything at or above 0.6 (all right), reviewed boxes in [0.5, 0.6) all right, in [0.4, 0.5) half wrong.</summary>
    private static IReadOnlyList<PrecisionEvidence> PreciseBandBelowToday()
    {
        PrecisionEvidence Cell(string sample, long[] bins) => new() { Day = "2026-11-01", Device = "d", Model = "m", Class = "bolt", Sample = sample, Images = 100, HumanBoxes = 100, Bins = bins };
        var audit = Enumerable.Range(30, 20).SelectMany(b => new long[] { b, 25, 25 }).ToArray();
        var band = Enumerable.Range(25, 5).SelectMany(b => new long[] { b, 150, 150 }).Concat(Enumerable.Range(20, 5).SelectMany(b => new long[] { b, 150, 75 })).ToArray();
        return [Cell(EvidenceSamples.Audit, audit), Cell(EvidenceSamples.Reviewed, band)];
    }

    [Fact]
    public void Recommend_ReviewedBandBelowTodayMeetsTheTargetOnItsOwn_LowersToWhereItStopsMeetingIt()
    {
        var today = Today with { AutoAcceptThreshold = 0.6 };

        var result = ThresholdRetuner.Recommend(PreciseBandBelowToday(), new DateOnly(2026, 11, 1), today, new RetuneOptions { TargetPrecision = 0.95, WindowDays = 1 });

        var bolt = Assert.Single(result.Classes);
        Assert.Equal(0.5, bolt.RecommendedThreshold);
        Assert.Contains("lower to 0.50", bolt.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void Recommend_NoAuditImage_ForecastSaysTheAutoVolumeIsUnknown()
    {
        var request = ProductionPrecisionTests.SteadyFleet(days: 1) with { AuditImagesPerDay = 0 };

        var result = ThresholdRetuner.Recommend(EvidenceOf(request), LastDay(request), Today, new RetuneOptions { TargetPrecision = 0.95 });

        Assert.False(result.Today.AutoVolumeKnown);
        Assert.Contains("audit rate of 1 would", result.AuditRateNote, StringComparison.Ordinal);
    }

    [Fact]
    public void Recommend_LoweringSmallerThanMinChange_KeepsToday()
    {
        var today = Today with { AutoAcceptThreshold = 0.6 };

        var result = ThresholdRetuner.Recommend(PreciseBandBelowToday(), new DateOnly(2026, 11, 1), today, new RetuneOptions { TargetPrecision = 0.95, WindowDays = 1, MinChange = 0.15 });

        Assert.False(Assert.Single(result.Classes).Changed);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.0)]
    public void Recommend_TargetOutsideTheOpenInterval_Throws(double target) =>
        Assert.Throws<ArgumentException>(() => ThresholdRetuner.Recommend([], new DateOnly(2026, 11, 1), Today, new RetuneOptions { TargetPrecision = target }));
}
