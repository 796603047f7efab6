using EdgeLabeling.Contracts;

namespace EdgeLabeling.Routing.Tests;

public class RoutingPolicyTests
{
    private const string Sha = "0000000000000000000000000000000000000000000000000000000000000000";
    private static readonly string[] Classes = ["bolt", "nut", "washer"];

    private static RoutingPolicy Policy(RoutingOptions? options = null) =>
        new((options ?? new RoutingOptions()) with { AuditRate = 0 }, Classes);

    private static PixelBox Box(int classId, double score, double left = 10) => new(classId, left, 20, 30, 40, score);

    [Fact]
    public void Route_AllAboveThreshold_AutoLabelsAllConfident()
    {
        var result = Policy().Route(Sha, [Box(0, 0.9), Box(1, 0.5)]);

        Assert.Equal(RoutingOutcome.AutoLabel, result.Outcome);
        Assert.Equal("all-confident", result.Reason);
        Assert.Equal(2, result.Boxes.Count);
    }

    [Fact]
    public void Route_ScoreExactlyAtThreshold_IsConfident()
    {
        var result = Policy().Route(Sha, [Box(1, 0.5)]);

        Assert.Equal(RoutingOutcome.AutoLabel, result.Outcome);
    }

    [Fact]
    public void Route_ScoreJustBelowThreshold_GoesToReviewNamingClassAndTruncatedScore()
    {
        var result = Policy().Route(Sha, [Box(0, 0.95), Box(1, 0.4999)]);

        Assert.Equal(RoutingOutcome.HumanReview, result.Outcome);
        // Truncated, not rounded: 0.4999 must not read as 0.50 and look accepted.
        Assert.Equal("uncertain:nut@0.49", result.Reason);
        Assert.Equal(2, result.Boxes.Count);
    }

    [Fact]
    public void Route_ScoreExactlyAtLowEdge_IsUncertainNotBackground()
    {
        var result = Policy().Route(Sha, [Box(2, 0.25)]);

        Assert.Equal(RoutingOutcome.HumanReview, result.Outcome);
        Assert.Equal("uncertain:washer@0.25", result.Reason);
        Assert.Single(result.Boxes);
    }

    [Fact]
    public void Route_ScoreBelowLowEdge_IsDroppedAsBackground()
    {
        var result = Policy().Route(Sha, [Box(0, 0.8), Box(1, 0.2499)]);

        Assert.Equal(RoutingOutcome.AutoLabel, result.Outcome);
        Assert.Equal([0], result.Boxes.Select(b => b.ClassId));
    }

    [Fact]
    public void Route_SeveralUncertain_NamesTheLeastConfident()
    {
        var result = Policy().Route(Sha, [Box(0, 0.45), Box(2, 0.3), Box(1, 0.41)]);

        Assert.Equal("uncertain:washer@0.30", result.Reason);
    }

    [Fact]
    public void Route_KeptBoxes_AreOrderedByScoreDescending()
    {
        var result = Policy().Route(Sha, [Box(0, 0.6), Box(1, 0.9), Box(2, 0.7)]);

        Assert.Equal([0.9, 0.7, 0.6], result.Boxes.Select(b => b.Confidence));
    }

    [Fact]
    public void Route_PerClassThresholdHigherThanGlobal_SendsThatClassToReview()
    {
        var policy = Policy(new RoutingOptions { ClassThresholds = new Dictionary<string, double> { ["nut"] = 0.8 } });

        var nut = policy.Route(Sha, [Box(1, 0.7)]);
        var bolt = policy.Route(Sha, [Box(0, 0.7)]);

        Assert.Equal((RoutingOutcome.HumanReview, "uncertain:nut@0.70"), (nut.Outcome, nut.Reason));
        Assert.Equal(RoutingOutcome.AutoLabel, bolt.Outcome);
        Assert.Equal(0.8, policy.ThresholdFor(1));
        Assert.Equal(0.5, policy.ThresholdFor(0));
    }

    [Fact]
    public void Route_PerClassThresholdLowerThanGlobal_AcceptsThatClassEarlier()
    {
        var policy = Policy(new RoutingOptions { ClassThresholds = new Dictionary<string, double> { ["washer"] = 0.3 } });

        Assert.Equal(RoutingOutcome.AutoLabel, policy.Route(Sha, [Box(2, 0.35)]).Outcome);
        Assert.Equal(RoutingOutcome.HumanReview, policy.Route(Sha, [Box(0, 0.35)]).Outcome);
    }

    [Fact]
    public void Route_NoDetectionsWithDefaultRule_GoesToReview()
    {
        var result = Policy().Route(Sha, []);

        Assert.Equal((RoutingOutcome.HumanReview, "no-detections"), (result.Outcome, result.Reason));
        Assert.Empty(result.Boxes);
    }

    [Fact]
    public void Route_OnlyBackgroundDetections_CountsAsNoDetections()
    {
        var result = Policy().Route(Sha, [Box(0, 0.1), Box(1, 0.05)]);

        Assert.Equal((RoutingOutcome.HumanReview, "no-detections"), (result.Outcome, result.Reason));
    }

    [Fact]
    public void Route_NoDetectionsWithAutoLabelRule_AutoLabelsEmpty()
    {
        var result = Policy(new RoutingOptions { NoDetections = NoDetectionsRule.AutoLabel }).Route(Sha, []);

        Assert.Equal((RoutingOutcome.AutoLabel, "no-detections"), (result.Outcome, result.Reason));
        Assert.Empty(result.Boxes);
    }

    [Fact]
    public void Route_MoreThanCap_GoesToReviewKeepingTopScores()
    {
        var policy = Policy(new RoutingOptions { MaxDetections = 3 });
        var boxes = Enumerable.Range(0, 5).Select(i => Box(0, 0.6 + (i * 0.05), left: i)).ToList();

        var result = policy.Route(Sha, boxes);

        Assert.Equal((RoutingOutcome.HumanReview, "too-many-detections"), (result.Outcome, result.Reason));
        Assert.Equal([4.0, 3.0, 2.0], result.Boxes.Select(b => b.Left));
    }

    [Fact]
    public void Route_ExactlyCap_IsNotTooMany()
    {
        var policy = Policy(new RoutingOptions { MaxDetections = 3 });

        var result = policy.Route(Sha, [Box(0, 0.9), Box(1, 0.9), Box(2, 0.9)]);

        Assert.Equal(RoutingOutcome.AutoLabel, result.Outcome);
    }

    [Fact]
    public void Route_CapCountsOnlyKeptDetections_BackgroundDoesNotTripIt()
    {
        var policy = Policy(new RoutingOptions { MaxDetections = 2 });

        var result = policy.Route(Sha, [Box(0, 0.9), Box(1, 0.9), Box(2, 0.1), Box(2, 0.1), Box(2, 0.1)]);

        Assert.Equal(RoutingOutcome.AutoLabel, result.Outcome);
    }

    [Fact]
    public void Route_UnknownClassId_ThrowsNamingTheId()
    {
        var ex = Assert.Throws<ArgumentException>(() => Policy().Route(Sha, [Box(7, 0.9)]));

        Assert.Contains("class id 7", ex.Message);
    }

    [Fact]
    public void Route_NaNScore_Throws()
    {
        Assert.Throws<ArgumentException>(() => Policy().Route(Sha, [Box(0, double.NaN)]));
    }

    [Fact]
    public void Constructor_ClassThresholdForUnknownClass_ThrowsNamingClassAndModelClasses()
    {
        var options = new RoutingOptions { ClassThresholds = new Dictionary<string, double> { ["nutt"] = 0.7 } };

        var ex = Assert.Throws<RoutingConfigException>(() => new RoutingPolicy(options, Classes));

        Assert.Contains("classThresholds.nutt", ex.Message);
        Assert.Contains("bolt, nut, washer", ex.Message);
    }

    [Fact]
    public void Route_AuditRateOne_TurnsEveryAutoLabelIntoAuditButNotReviews()
    {
        var policy = new RoutingPolicy(new RoutingOptions { AuditRate = 1 }, Classes);

        var confident = policy.Route(Sha, [Box(0, 0.9)]);
        var uncertain = policy.Route(Sha, [Box(0, 0.3)]);

        Assert.Equal((RoutingOutcome.Audit, "audit-sample"), (confident.Outcome, confident.Reason));
        Assert.Single(confident.Boxes);
        Assert.Equal(RoutingOutcome.HumanReview, uncertain.Outcome);
    }

    [Fact]
    public void Route_AuditRateZero_NeverAudits()
    {
        var policy = new RoutingPolicy(new RoutingOptions { AuditRate = 0 }, Classes);

        Assert.All(Enumerable.Range(0, 500).Select(i => policy.Route(FakeSha(i), [Box(0, 0.9)])), r => Assert.Equal(RoutingOutcome.AutoLabel, r.Outcome));
    }

    [Fact]
    public void IsAuditSample_TenThousandImagesAtDefaultRate_IsNearTwoPercent()
    {
        var policy = new RoutingPolicy(new RoutingOptions(), Classes);

        var audited = Enumerable.Range(0, 10_000).Count(i => policy.IsAuditSample(FakeSha(i)));

        // Binomial(10000, 0.02): mean 200, sd 14; ±5 sd never fails by chance and still catches a wrong rate.
        Assert.InRange(audited, 130, 270);
    }

    [Fact]
    public void IsAuditSample_SameSeed_PicksTheSameImages()
    {
        var a = new RoutingPolicy(new RoutingOptions { AuditSeed = 42 }, Classes);
        var b = new RoutingPolicy(new RoutingOptions { AuditSeed = 42 }, Classes);

        var pickedA = Enumerable.Range(0, 2_000).Where(i => a.IsAuditSample(FakeSha(i))).ToList();
        var pickedB = Enumerable.Range(0, 2_000).Where(i => b.IsAuditSample(FakeSha(i))).ToList();

        Assert.NotEmpty(pickedA);
        Assert.Equal(pickedA, pickedB);
    }

    [Fact]
    public void IsAuditSample_DifferentSeed_PicksDifferentImages()
    {
        var a = new RoutingPolicy(new RoutingOptions { AuditSeed = 1 }, Classes);
        var b = new RoutingPolicy(new RoutingOptions { AuditSeed = 2 }, Classes);

        var pickedA = Enumerable.Range(0, 2_000).Where(i => a.IsAuditSample(FakeSha(i))).ToHashSet();
        var pickedB = Enumerable.Range(0, 2_000).Where(i => b.IsAuditSample(FakeSha(i))).ToHashSet();

        Assert.NotEqual(pickedA, pickedB);
    }

    [Fact]
    public void IsAuditSample_HigherRate_IsASupersetOfLowerRate()
    {
        var low = new RoutingPolicy(new RoutingOptions { AuditRate = 0.05, AuditSeed = 9 }, Classes);
        var high = new RoutingPolicy(new RoutingOptions { AuditRate = 0.2, AuditSeed = 9 }, Classes);

        var shas = Enumerable.Range(0, 3_000).Select(FakeSha).ToList();

        Assert.All(shas.Where(low.IsAuditSample), s => Assert.True(high.IsAuditSample(s)));
    }

    [Fact]
    public void Reasons_DuplicateOf_UsesTwelveHexPrefix()
    {
        Assert.Equal("duplicate-of:0123456789ab", RoutingReasons.DuplicateOf("0123456789abcdef" + new string('0', 48)));
    }

    internal static string FakeSha(int i) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i)));
}
