using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Estimation;

namespace EdgeLabeling.Labeling.Tests.Estimation;

/// <summary>The cost estimator (moved from the CLI into the labeling core; <c>edgelabel estimate</c> only prints it).</summary>
public class LabelingEstimatorTests
{
    private static EstimateInput Input(long images, double share, BudgetPolicy? budget = null) => new()
    {
        Images = images,
        ReviewShare = share,
        Budget = budget ?? new BudgetPolicy { Tiers = [new(50_000, 0.08m), new(long.MaxValue, 0.04m)] },
    };

    [Fact]
    public void Run_TwentyThousandImagesAtThirtyPercent_SendsSixThousandToPeople()
    {
        var e = LabelingEstimator.Run(Input(20_000, 0.3));
        Assert.Equal(6_000, e.EdgeLabeling.ObjectsToPeople);
        Assert.Equal(20_000, e.AllByHand.ObjectsToPeople);

        // 6,000 × $0.08 vs 20,000 × $0.08: both inside the first tier and one month's team capacity or not, priced from zero each month.
        Assert.Equal(480m, e.EdgeLabeling.GroundTruthUsd);
        Assert.Equal(1_600m, e.AllByHand.GroundTruthUsd);

        // 6,000 × 20 s = 33.3 h; 20,000 × 35 s = 194.4 h.
        Assert.Equal(6_000 * 20 / 3600.0, e.EdgeLabeling.LabelerHours, 6);
        Assert.Equal(20_000 * 35 / 3600.0, e.AllByHand.LabelerHours, 6);
        Assert.Equal(e.EdgeLabeling.LabelerHours / (5 * 6), e.EdgeLabeling.CalendarDays, 6);
    }

    [Fact]
    public void Run_JobSizes_RespectTeamCapacityCapAndCoverEveryImage()
    {
        var e = LabelingEstimator.Run(Input(20_000, 0.3));

        // 5 labelers × 6 h × 3 days × 3600 s ÷ 20 s = 16,200 images per job.
        Assert.Equal(16_200, e.JobSizeCap);
        Assert.Equal(6_000, e.EdgeLabeling.JobSizes.Sum());
        Assert.All(e.EdgeLabeling.JobSizes, s => Assert.InRange(s, 1, e.JobSizeCap));
        Assert.Equal(20_000, e.AllByHand.JobSizes.Sum());
        Assert.True(e.AllByHand.Jobs >= 2);
    }

    [Fact]
    public void Run_UploadBytes_AreReviewImagesPlusSmallRecordsVersusEverything()
    {
        var e = LabelingEstimator.Run(Input(1_000, 0.25) with { AverageImageBytes = 100_000, SidecarBytes = 1_000, AutoLabelLineBytes = 500 });
        Assert.Equal((250 * 101_000L) + (750 * 500L), e.EdgeLabeling.UploadBytes);
        Assert.Equal(100_000_000L, e.AllByHand.UploadBytes);
    }

    [Fact]
    public void Run_FreeTier_ReducesCost()
    {
        var withFree = LabelingEstimator.Run(Input(1_000, 1.0, new BudgetPolicy { Tiers = [new(long.MaxValue, 0.08m)], FreeObjectsPerMonth = 500 }));
        Assert.Equal(40m, withFree.EdgeLabeling.GroundTruthUsd);
    }

    [Theory]
    [InlineData(0, 0.3, "--images 0 must be at least 1")]
    [InlineData(100, 1.5, "review share 1.5 must be between 0 and 1")]
    public void Run_BadInput_NamesTheProblem(long images, double share, string message)
    {
        var ex = Assert.Throws<ArgumentException>(() => LabelingEstimator.Run(Input(images, share)));
        Assert.Contains(message, ex.Message);
    }
}
