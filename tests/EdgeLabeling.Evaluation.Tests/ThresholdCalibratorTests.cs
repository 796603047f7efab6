using EdgeLabeling.Contracts;
using EdgeLabeling.Evaluation;

namespace EdgeLabeling.Evaluation.Tests;

public class ThresholdCalibratorTests
{
    /// <summary>
    /// A synthetic validation set: each image has two true objects; true detections score high with
    /// some spread, each image may carry a false positive scored low.
    /// </summary>
    private static List<CalibrationImage> Synthetic(int n, int seed, double fpScoreMax = 0.6)
    {
        var rng = new Random(seed);
        var list = new List<CalibrationImage>();
        for (var i = 0; i < n; i++)
        {
            var truth = new List<PixelBox> { new(0, 10, 10, 20, 20, 1), new(1, 100, 100, 30, 30, 1) };
            var dets = truth.Select(t => t with { Confidence = 0.3 + (0.7 * rng.NextDouble()) }).ToList();
            if (rng.NextDouble() < 0.5)
            {
                dets.Add(new PixelBox(rng.Next(2), 200, 200, 15, 15, rng.NextDouble() * fpScoreMax));
            }

            list.Add(new CalibrationImage($"img{i}", dets, truth));
        }

        return list;
    }

    [Fact]
    public void Calibrate_WhenTargetReachable_RecommendationMeetsTargetAndRecall()
    {
        var options = new CalibrationOptions { TargetPrecision = 0.95, MinAutoRecall = 0.85 };
        var result = new ThresholdCalibrator(Synthetic(400, 1), options).Calibrate(["a", "b"]);
        Assert.True(result.MeetsTarget);
        Assert.True(result.Global!.AutoPrecision >= 0.95);
        Assert.True(result.Global.AutoRecall >= 0.85);
        Assert.True(result.Global.HumanShare < 1.0);
    }

    [Theory]
    [InlineData(0.2, 1)]
    [InlineData(0.2, 2)]
    [InlineData(0.6, 3)]
    public void Calibrate_Recommendations_ObeyTheRoutingRuleSoTheyCanBeDeployed(double fpScoreMax, int seed)
    {
        // False positives below every true score make "no band at all" (low == high) look ideal; the router, the
        // component and cdk.json refuse such a band, so calibrate must never recommend one.
        var result = new ThresholdCalibrator(Synthetic(300, seed, fpScoreMax), new CalibrationOptions { TargetPrecision = 0.9, MinAutoRecall = 0.8 }).Calibrate(["a", "b"]);

        Assert.NotNull(result.Global);
        foreach (var band in new[] { result.Global, result.PerClass }.OfType<RoutingEvaluation>().Select(e => e.Thresholds))
        {
            var routing = new RoutingThresholds
            {
                AutoAcceptThreshold = band.High,
                UncertainLow = band.Low,
                ClassThresholds = (band.PerClassHigh ?? new Dictionary<int, double>()).ToDictionary(kv => kv.Key == 0 ? "a" : "b", kv => kv.Value),
            };
            Assert.Empty(routing.Problems());
        }
    }

    [Fact]
    public void Calibrate_Recommendation_HasFewestReviewsAmongFeasibleGlobalThresholds()
    {
        var images = Synthetic(300, 2);
        var options = new CalibrationOptions { TargetPrecision = 0.9, MinAutoRecall = 0.8, ConfidenceZ = 0 };
        var calibrator = new ThresholdCalibrator(images, options);
        var best = calibrator.Calibrate(["a", "b"]).Global!;

        // Brute force over the same grid: nothing feasible sends fewer images to people.
        foreach (var high in ThresholdCalibrator.Grid(0.05, 0.99, 0.01))
        {
            foreach (var low in ThresholdCalibrator.Grid(0.05, 0.95, 0.05).Where(l => l < high))
            {
                var e = calibrator.Evaluate(new CalibrationBand(low, high));
                var feasible = e.AutoBoxes >= options.MinSupportBoxes && e.AutoPrecision >= 0.9 && e.AutoRecall >= 0.8;
                Assert.False(feasible && e.ReviewImages < best.ReviewImages, $"low {low} high {high} beats the recommendation");
            }
        }
    }

    [Fact]
    public void Calibrate_WhenFalsePositivesScoreAsHighAsTruth_SaysNoThresholdMeetsTarget()
    {
        // Every image carries a wrong box scored like the true ones: precision can't exceed ~2/3.
        var rng = new Random(3);
        var images = Enumerable.Range(0, 200).Select(i =>
        {
            var truth = new List<PixelBox> { new(0, 10, 10, 20, 20, 1), new(1, 100, 100, 30, 30, 1) };
            var dets = truth.Select(t => t with { Confidence = 0.5 + (0.5 * rng.NextDouble()) }).ToList();
            dets.Add(new PixelBox(0, 300, 300, 10, 10, 0.5 + (0.5 * rng.NextDouble())));
            return new CalibrationImage($"i{i}", dets, truth);
        }).ToList();
        var result = new ThresholdCalibrator(images, new CalibrationOptions { TargetPrecision = 0.95 }).Calibrate(["a", "b"]);
        Assert.False(result.MeetsTarget);
        Assert.Null(result.Global);
        Assert.NotEmpty(result.TradeOff);
    }

    [Fact]
    public void Evaluate_UncertainDetection_SendsImageToReview()
    {
        var img = new CalibrationImage("x", [new PixelBox(0, 0, 0, 10, 10, 0.4)], [new PixelBox(0, 0, 0, 10, 10, 1)]);
        var e = new ThresholdCalibrator([img], new CalibrationOptions { TargetPrecision = 0.9 }).Evaluate(new CalibrationBand(0.25, 0.5));
        Assert.Equal(1, e.ReviewImages);
        Assert.Equal(0, e.AutoImages);
    }

    [Fact]
    public void Evaluate_DetectionBelowLow_IsBackgroundAndCountsAsMiss()
    {
        var img = new CalibrationImage("x", [new PixelBox(0, 0, 0, 10, 10, 0.1), new PixelBox(0, 50, 50, 10, 10, 0.9)],
            [new PixelBox(0, 0, 0, 10, 10, 1), new PixelBox(0, 50, 50, 10, 10, 1)]);
        var e = new ThresholdCalibrator([img], new CalibrationOptions { TargetPrecision = 0.9 }).Evaluate(new CalibrationBand(0.25, 0.5));
        Assert.Equal(1, e.AutoImages);
        Assert.Equal(new DetectionCounts(1, 0, 1), e.AutoCounts);
    }

    [Fact]
    public void Evaluate_PerClassHigh_AppliesOnlyToThatClass()
    {
        var img = new CalibrationImage("x", [new PixelBox(1, 0, 0, 10, 10, 0.6)], [new PixelBox(1, 0, 0, 10, 10, 1)]);
        var calibrator = new ThresholdCalibrator([img], new CalibrationOptions { TargetPrecision = 0.9 });
        Assert.Equal(1, calibrator.Evaluate(new CalibrationBand(0.25, 0.5, new Dictionary<int, double> { [1] = 0.7 })).ReviewImages);
        Assert.Equal(1, calibrator.Evaluate(new CalibrationBand(0.25, 0.5, new Dictionary<int, double> { [0] = 0.7 })).AutoImages);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void Constructor_InvalidTarget_Throws(double target)
    {
        var ex = Assert.Throws<ArgumentException>(() => new ThresholdCalibrator(Synthetic(3, 1), new CalibrationOptions { TargetPrecision = target }));
        Assert.Contains("target precision", ex.Message);
    }
}

public class WilsonBoundTests
{
    [Fact]
    public void WilsonLowerBound_ZeroZ_IsPointEstimate()
    {
        Assert.Equal(0.9, ThresholdCalibrator.WilsonLowerBound(90, 100, 0), 12);
    }

    [Fact]
    public void WilsonLowerBound_KnownValue_MatchesFormula()
    {
        // 90/100 at z=1.96: the textbook Wilson interval is [0.8256, 0.9448].
        Assert.Equal(0.8256, ThresholdCalibrator.WilsonLowerBound(90, 100, 1.96), 3);
    }

    [Fact]
    public void WilsonLowerBound_FewerSamples_IsMoreCautious()
    {
        Assert.True(ThresholdCalibrator.WilsonLowerBound(9, 10, 1) < ThresholdCalibrator.WilsonLowerBound(900, 1000, 1));
    }
}
