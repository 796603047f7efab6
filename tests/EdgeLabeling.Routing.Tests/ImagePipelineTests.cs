using EdgeLabeling.Contracts;
using EdgeLabeling.Inference;

namespace EdgeLabeling.Routing.Tests;

/// <summary>The one edge pipeline both the CLI and the device use: order, skipped items, same decisions as one by one.</summary>
public sealed class ImagePipelineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 8, 0, 0, TimeSpan.Zero);

    private static ImageLabeler Labeler(IDetector detector) => new(detector, new RoutingPolicy(new RoutingOptions().Validate(), detector.Info.ClassNames));

    private static ImageInput Input(int i, byte[] bytes) => new($"/in/frame-{i:D3}.png", bytes, "cam1", T0.AddSeconds(i));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void DecideInOrder_ItemsThatCannotBeRead_KeepTheirPlaceWithoutADecision(int threads)
    {
        var frames = Enumerable.Range(0, 9).Select(i => TestImages.Png(96, 64, seed: 100 + i)).ToList();
        var labeler = Labeler(new FakeDetector(_ => [new PixelBox(0, 1, 1, 20, 20, 0.9)]));

        var results = ImagePipeline.DecideInOrder(labeler, Enumerable.Range(0, frames.Count), i => i % 3 == 1 ? null : Input(i, frames[i]), threads).ToList();

        Assert.Equal(Enumerable.Range(0, frames.Count), results.Select(r => r.Item));
        Assert.All(results.Where(r => r.Item % 3 == 1), r => Assert.Null(r.Decision));
        Assert.All(results.Where(r => r.Item % 3 != 1), r => Assert.Equal(RoutingOutcome.AutoLabel, r.Decision!.Outcome));
        Assert.Equal([0, 2, 3, 5, 6, 8], results.Where(r => r.Decision is not null).Select(r => int.Parse(Path.GetFileNameWithoutExtension(r.Decision!.Input.SourcePath)[6..], System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void DecideInOrder_RealModel_SameDecisionsAsDecidingOneFrameAfterTheOther()
    {
        var model = Path.Combine(RepoRoot(), "samples", "models", "parts-detector.onnx");
        var samples = Directory.GetFiles(Path.Combine(RepoRoot(), "samples", "images"), "*.jpg").Order(StringComparer.Ordinal).Take(12).ToList();
        Assert.True(File.Exists(model) && samples.Count >= 6, "demo model and sample images expected under samples/");
        // A near-duplicate pair in the middle: the duplicate check must see the frames in input order on both paths.
        var inputs = samples.Select((f, i) => new ImageInput(f, File.ReadAllBytes(f), "cam1", T0.AddSeconds(i))).ToList();
        inputs.Insert(4, inputs[3] with { SourcePath = "/in/copy-of-3.jpg", CaptureTime = inputs[3].CaptureTime.AddSeconds(1) });

        List<ImageDecision> sequential;
        using (var detector = new OnnxDetector(new OnnxDetectorOptions { ModelPath = model }))
        {
            var labeler = Labeler(detector);
            sequential = inputs.Select(labeler.Process).ToList();
        }

        List<ImageDecision?> pipelined;
        using (var detector = new OnnxDetector(new OnnxDetectorOptions { ModelPath = model }))
        {
            IImageLabeler labeler = Labeler(detector);
            pipelined = labeler.DecideInOrder(inputs, i => i).Select(r => r.Decision).ToList();
        }

        Assert.Equal(sequential.Count, pipelined.Count);
        Assert.Equal(RoutingOutcome.Duplicate, sequential[4].Outcome);
        for (var i = 0; i < sequential.Count; i++)
        {
            var (a, b) = (sequential[i], pipelined[i]!);
            Assert.Equal((a.Input.SourcePath, a.Outcome, a.Reason, a.Sha256), (b.Input.SourcePath, b.Outcome, b.Reason, b.Sha256));
            Assert.Equal(a.Boxes, b.Boxes);
        }
    }

    [Fact]
    public void Abandon_AFrameTheCallerCouldNotKeep_IsNotADuplicateOfItselfWhenTakenAgain()
    {
        var labeler = Labeler(new FakeDetector(_ => [new PixelBox(0, 1, 1, 20, 20, 0.4)]));
        var frame = Input(1, TestImages.Png(96, 64, seed: 7));
        var first = labeler.Process(frame);
        Assert.Equal(RoutingOutcome.HumanReview, first.Outcome);

        labeler.Abandon(first);
        var again = labeler.Process(frame);

        Assert.Equal(RoutingOutcome.HumanReview, again.Outcome);
        // Kept this time: the same bytes under another name are the duplicate they always were.
        var copy = labeler.Process(frame with { SourcePath = "/in/copy.png" });
        Assert.Equal(RoutingOutcome.Duplicate, copy.Outcome);
        Assert.Equal(RoutingReasons.DuplicateOf(first.Sha256), copy.Reason);
    }

    [Fact]
    public void Abandon_ADuplicate_ForgetsNothingItMatched()
    {
        var labeler = Labeler(new FakeDetector(_ => [new PixelBox(0, 1, 1, 20, 20, 0.4)]));
        var frame = Input(1, TestImages.Png(96, 64, seed: 9));
        labeler.Process(frame);
        var duplicate = labeler.Process(frame with { SourcePath = "/in/copy.png" });
        Assert.Equal(RoutingOutcome.Duplicate, duplicate.Outcome);

        labeler.Abandon(duplicate);

        Assert.Equal(RoutingOutcome.Duplicate, labeler.Process(frame with { SourcePath = "/in/copy-2.png" }).Outcome);
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EdgeLabelingStack.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
