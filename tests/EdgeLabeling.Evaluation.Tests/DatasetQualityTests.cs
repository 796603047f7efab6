using EdgeLabeling.Contracts;

namespace EdgeLabeling.Evaluation.Tests;

/// <summary>The dataset scoring of the pipeline report, on a hand-made two-line dataset.</summary>
public sealed class DatasetQualityTests : IDisposable
{
    private static readonly string[] Names = ["bolt", "nut", "washer"];
    private readonly TempDir _temp = new("pipeline-quality-");

    public void Dispose() => _temp.Dispose();

    private static string Sha(char c) => new(c, 64);

    /// <summary>Samples by the image named in the source-ref, the way the pipeline finds them by content address.</summary>
    private Func<string, DatasetSample?> Samples(params (char Sha, IReadOnlyList<PixelBox> ModelBoxes)[] samples) => sourceRef =>
        samples.Where(s => sourceRef.EndsWith("/" + Sha(s.Sha) + ".jpg", StringComparison.Ordinal))
            .Select(s => new DatasetSample(Path.Combine(_temp.Path, s.Sha + ".txt"), s.ModelBoxes))
            .FirstOrDefault();

    private static string Line(char sha, bool human, params PixelBox[] boxes) =>
        GroundTruthManifest.BuildLine($"s3://in/incoming/site/2026/11/26/{Sha(sha)}.jpg", "parts", new ImageSize(100, 100), boxes, Names, human,
            human ? "labeling-job/job-1" : "labeling-job/edge-auto-site", DateTimeOffset.UnixEpoch).ToJsonString();

    [Fact]
    public void Evaluate_WithHumanAndAutomaticLines_ScoresEachSetAndRanksHumanBoxesFirst()
    {
        // Truth: one bolt per image at (10,10)-(30,30) in image a, (50,50)-(70,70) in image b.
        File.WriteAllText(Path.Combine(_temp.Path, "a.txt"), "0 0.2 0.2 0.2 0.2\n");
        File.WriteAllText(Path.Combine(_temp.Path, "b.txt"), "0 0.6 0.6 0.2 0.2\n");
        var manifest = Path.Combine(_temp.Path, "dataset.manifest");
        File.WriteAllLines(manifest,
        [
            // a: the edge's automatic label, one right box (0.9) and one wrong box (0.3).
            Line('a', human: false, new PixelBox(0, 10, 10, 20, 20, 0.9), new PixelBox(0, 80, 80, 10, 10, 0.3)),

            // b: a person's box; Ground Truth writes confidence 0.00 for one worker.
            Line('b', human: true, new PixelBox(0, 50, 50, 20, 20, 0.0)),
        ]);
        var samples = Samples(('a', []), ('b', [new PixelBox(0, 0, 0, 10, 10, 0.4)]));

        var q = DatasetQuality.Evaluate(manifest, "parts", Names.Length, samples);

        Assert.Equal((2, 1, 0), (q.Merged.Counts.TruePositives, q.Merged.Counts.FalsePositives, q.Merged.Counts.FalseNegatives));
        Assert.Equal(2, q.Merged.Images);

        // Ranked by raw confidence the human box (0.00) would fall below the wrong box and give AP 0.83.
        Assert.Equal(1.0, q.Merged.Map50, 6);
        Assert.Equal((1, 1, 0), (q.Automatic.Counts.TruePositives, q.Automatic.Counts.FalsePositives, q.Automatic.Counts.FalseNegatives));
        Assert.Equal(1, q.Automatic.Images);

        // Model only: image b gets the model's pre-annotation, which misses.
        Assert.Equal((1, 2, 1), (q.ModelOnly.Counts.TruePositives, q.ModelOnly.Counts.FalsePositives, q.ModelOnly.Counts.FalseNegatives));
        Assert.Equal(0, q.LinesWithoutSample);
    }

    [Fact]
    public void Evaluate_WithLineForUnknownImage_CountsItAsWithoutSample()
    {
        var manifest = Path.Combine(_temp.Path, "dataset.manifest");
        File.WriteAllLines(manifest, [Line('c', human: false, new PixelBox(1, 1, 1, 5, 5, 0.8))]);

        var q = DatasetQuality.Evaluate(manifest, "parts", Names.Length, Samples());

        Assert.Equal(1, q.LinesWithoutSample);
        Assert.Equal(0, q.Merged.Images);
        Assert.True(double.IsNaN(q.Merged.Map50));
    }
}
