using EdgeLabeling.Cli.Estimation;
using EdgeLabeling.Labeling.Batching;

namespace EdgeLabeling.Cli.Tests;

public class EstimateTests
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

    [Fact]
    public void Cli_WithBothShareAndRun_FailsWithOneLineReason()
    {
        var (code, _, err) = CliRunner.Run("estimate", "--images", "100", "--review-share", "0.2", "--from-run", Path.GetTempPath());
        Assert.Equal(2, code);
        Assert.Contains("give exactly one of --review-share or --from-run", err);
    }

    [Fact]
    public void Cli_Json_ReportsBothScenarios()
    {
        var (code, stdout, _) = CliRunner.Run("estimate", "--images", "20000", "--review-share", "0.3", "--json");
        Assert.Equal(0, code);
        var node = System.Text.Json.Nodes.JsonNode.Parse(stdout)!;
        Assert.Equal(6000, node["edgeLabeling"]!["objectsToPeople"]!.GetValue<long>());
        Assert.Equal(20000, node["allByHand"]!["objectsToPeople"]!.GetValue<long>());
        Assert.True(node["savedUsd"]!.GetValue<decimal>() > 0);
    }
}

public class CommandLineErrorTests
{
    [Fact]
    public void Cli_MissingRequiredOption_FailsWithOneLineNamingIt()
    {
        var (code, stdout, stderr) = CliRunner.Run("label", "--input", "x", "--output", "y");
        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("edgelabel label: error:", line);
        Assert.Contains("--model", line);
        Assert.Equal("", stdout.Trim());
    }

    [Fact]
    public void Label_InferenceThreadsOutOfRange_FailsNamingTheOption()
    {
        var model = Path.Combine(CliRunner.RepoRoot, "samples", "models", "parts-detector.onnx");
        var (code, _, stderr) = CliRunner.Run("label", "--model", model, "--input", Path.GetTempPath(), "--output", Path.GetTempPath(), "--inference-threads", "0");
        Assert.Equal(2, code);
        Assert.Contains("--inference-threads 0 must be between 1 and 64", stderr);
    }

    [Fact]
    public void Cli_UnknownCommand_FailsWithOneLine()
    {
        var (code, _, stderr) = CliRunner.Run("frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("frobnicate", stderr);
    }
}
