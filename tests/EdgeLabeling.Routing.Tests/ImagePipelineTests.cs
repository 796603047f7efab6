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

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void DecideInOrder_RealModelWithNearDuplicates_DuplicatesSkipTheModelAndDecisionsStayTheSame(int concurrentRuns)
    {
        var inputs = SampleInputs(10);
        // Near-duplicates right after their original, two in a row, and one after an unrelated frame.
        inputs.Insert(2, Copy(inputs[1], "copy-of-1", 1));
        inputs.Insert(3, Copy(inputs[1], "copy-of-1b", 2));
        inputs.Insert(7, Copy(inputs[5], "copy-of-5", 3));
        inputs.Insert(inputs.Count, Copy(inputs[0], "copy-of-0", 4));

        List<ImageDecision> sequential;
        using (var detector = new OnnxDetector(new OnnxDetectorOptions { ModelPath = Model() }))
        {
            var labeler = Labeler(detector);
            sequential = inputs.Select(labeler.Process).ToList();
        }

        List<ImageDecision?> pipelined;
        long runs;
        using (var detector = new OnnxDetector(new OnnxDetectorOptions { ModelPath = Model() }))
        {
            var labeler = Labeler(detector);
            pipelined = (concurrentRuns == 1
                    ? ((IImageLabeler)labeler).DecideInOrder(inputs, i => i)
                    : ImagePipeline.DecideInOrder(labeler, inputs, i => i, decodeThreads: 1, concurrentRuns: concurrentRuns))
                .Select(r => r.Decision).ToList();
            runs = detector.RunCount;
        }

        var duplicates = sequential.Select((d, i) => (d, i)).Where(x => x.d.Outcome == RoutingOutcome.Duplicate).Select(x => x.i).ToHashSet();
        Assert.Subset(duplicates, new HashSet<int> { 2, 3, 7, 13 });
        AssertSameDecisions(sequential, pipelined);
        Assert.Equal(inputs.Count - duplicates.Count, runs);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void DecideInOrder_StoppedAfterTheFirstDecision_ForgetsTheFramesItCheckedAhead(int concurrentRuns)
    {
        var inputs = SampleInputs(8);
        List<ImageDecision> fresh;
        using (var detector = new OnnxDetector(new OnnxDetectorOptions { ModelPath = Model() }))
        {
            fresh = inputs.Select(Labeler(detector).Process).ToList();
        }

        using (var detector = new OnnxDetector(new OnnxDetectorOptions { ModelPath = Model() }))
        {
            var labeler = Labeler(detector);

            // The pipeline has read and checked frames beyond the first by the time the first decision is handed out.
            var first = (concurrentRuns == 1
                ? ((IImageLabeler)labeler).DecideInOrder(inputs, i => i)
                : ImagePipeline.DecideInOrder(labeler, inputs, i => i, decodeThreads: 1, concurrentRuns: concurrentRuns)).First();
            // Taken again later (as the device takes frames it did not finish): none is a duplicate of itself.
            var rest = inputs.Skip(1).Select(labeler.Process).ToList();

            AssertSameDecisions(fresh, [first.Decision, .. rest]);
            Assert.Equal(RoutingOutcome.Duplicate, labeler.Process(Copy(inputs[0], "copy-of-0", 1)).Outcome);
        }
    }

    [Fact]
    public void DecideInOrder_AbandonThenStopThenTakeAllAgain_DecidesAsAFreshRunWould()
    {
        var inputs = SampleInputs(6);
        inputs.Insert(2, Copy(inputs[0], "copy-of-0", 1));
        inputs.Insert(4, Copy(inputs[3], "copy-of-3", 2));
        List<ImageDecision> fresh;
        using (var detector = new OnnxDetector(new OnnxDetectorOptions { ModelPath = Model() }))
        {
            fresh = inputs.Select(Labeler(detector).Process).ToList();
        }

        using (var detector = new OnnxDetector(new OnnxDetectorOptions { ModelPath = Model() }))
        {
            IImageLabeler labeler = Labeler(detector);
            // The intake worker's pattern when the queue refuses a frame: abandon it and end the round.
            foreach (var (_, decision) in labeler.DecideInOrder(inputs, i => i))
            {
                labeler.Abandon(decision!);
                break;
            }

            var again = labeler.DecideInOrder(inputs, i => i).Select(r => r.Decision).ToList();

            AssertSameDecisions(fresh, again);
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

    private static string Model() => Path.Combine(RepoRoot(), "samples", "models", "parts-detector.onnx");

    /// <summary>The first <paramref name="count"/> sample JPEGs (distinct scenes), one second apart on one camera.</summary>
    private static List<ImageInput> SampleInputs(int count)
    {
        var samples = Directory.GetFiles(Path.Combine(RepoRoot(), "samples", "images"), "*.jpg").Order(StringComparer.Ordinal).Take(count).ToList();
        Assert.True(File.Exists(Model()) && samples.Count == count, "demo model and sample images expected under samples/");
        return samples.Select((f, i) => new ImageInput(f, File.ReadAllBytes(f), "cam1", T0.AddSeconds(i))).ToList();
    }

    private static ImageInput Copy(ImageInput original, string name, int seconds) =>
        original with { SourcePath = $"/in/{name}.jpg", CaptureTime = original.CaptureTime.AddSeconds(seconds) };

    private static void AssertSameDecisions(IReadOnlyList<ImageDecision> expected, IReadOnlyList<ImageDecision?> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var (a, b) = (expected[i], actual[i]!);
            Assert.Equal((a.Input.SourcePath, a.Outcome, a.Reason, a.Sha256, a.PerceptualHash, a.Size), (b.Input.SourcePath, b.Outcome, b.Reason, b.Sha256, b.PerceptualHash, b.Size));
            Assert.Equal(a.Boxes, b.Boxes);
        }
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
