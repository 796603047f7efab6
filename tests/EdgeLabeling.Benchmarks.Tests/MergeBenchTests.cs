using EdgeLabeling.Benchmarks.Merge;

namespace EdgeLabeling.Benchmarks.Tests;

/// <summary>The merge bench on a small size: every stage runs and the merge and export account for every image.</summary>
public sealed class MergeBenchTests
{
    [Fact]
    public async Task MeasureAsync_SmallRunWithDatasetImages_MergesAndExportsEveryImageInEveryStage()
    {
        using var work = new TempDir();

        var result = await MergeBench.MeasureAsync(new MergeBench.Settings { Lines = 1_000, Overlap = 0.05, DatasetImages = 2_000, JobLines = 500, Repeat = 1, WorkDirectory = work.Path }, CancellationToken.None);

        Assert.Equal(1_000, result.MergedLines);
        // 1,000 images labeled by people, 1,000 auto-labeled of which 50 were audited (the human label wins).
        Assert.Equal((1_950, 1_000, 950), (result.Dataset.TotalImages, result.Dataset.HumanImages, result.Dataset.ModelImages));
        // Two boxes on each human line, one on each automatic one.
        Assert.Equal(2_950, result.Dataset.CocoAnnotations);
        Assert.Equal(
        [
            "baseline: read lines",
            "merge job output into empty dataset (shard + settle + index)",
            "export on demand (join + COCO)",
            "merge a 500-line job into an empty dataset (median of 1)",
            $"merge the same job into a {2_000:N0}-image dataset (4 shards; median of 1)",
        ], result.Stages.Select(s => s.Name));
        Assert.Equal([1_000L, 1_000L, 2_000L, 500L, 500L], result.Stages.Select(s => s.Lines));
        Assert.True(result.OutputBytes > 0 && result.AutoLabelBytes > 0);
    }

    [Theory]
    [InlineData("--lines", "0")]
    [InlineData("--overlap", "1.5")]
    [InlineData("--repeat", "0")]
    public async Task RunAsync_OutOfRangeOption_ExitsWith2(string option, string value) =>
        Assert.Equal(2, await MergeBench.RunAsync([option, value]));
}
