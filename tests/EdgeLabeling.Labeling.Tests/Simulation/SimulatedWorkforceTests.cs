using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Simulation;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Tests.Simulation;

public sealed partial class SimulatedWorkforceTests
{
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$")]
    private static partial Regex CreationDate();

    private static async Task<string[]> OutputLinesAsync(SimulatorHarness h, string job)
    {
        var bytes = await h.Store.ReadBytesAsync(SimulatorHarness.Bucket, $"jobs/output/{job}/manifests/output/output.manifest");
        return Encoding.UTF8.GetString(bytes!).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public async Task CompleteJobAsync_AdjustmentJob_WritesGroundTruthLayoutThatRoundTripsThroughParse()
    {
        await using var h = await SimulatorHarness.StartAsync();
        await h.GivenInputAsync("job-layout", 4);
        await h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-layout"));

        await h.Simulator.CompleteJobAsync("job-layout");

        var lines = await OutputLinesAsync(h, "job-layout");
        Assert.Equal(4, lines.Length);
        foreach (var line in lines)
        {
            var label = GroundTruthManifest.Parse(line, "parts-human");
            var raw = JsonNode.Parse(line)!.AsObject();
            var meta = raw["parts-human-metadata"]!;
            Assert.Equal("labeling-job/job-layout", meta["job-name"]!.GetValue<string>());
            Assert.Equal("job-layout", label.JobName);
            Assert.Equal("yes", meta["human-annotated"]!.GetValue<string>());
            Assert.Equal("groundtruth/object-detection", meta["type"]!.GetValue<string>());
            Assert.Matches(CreationDate(), meta["creation-date"]!.GetValue<string>());
            Assert.Equal("adjusted", meta["adjustment-status"]!.GetValue<string>());
            Assert.Equal(["0", "2"], meta["class-map"]!.AsObject().Select(kv => kv.Key).Order());
            Assert.Equal(label.Boxes.Count, meta["objects"]!.AsArray().Count);

            // The input line's keys pass through unchanged.
            Assert.NotNull(raw["parts-model"]);
            Assert.NotNull(raw["parts-model-metadata"]);
            Assert.Equal("feedface", raw["provenance"]!["model-sha256"]!.GetValue<string>());

            // Jitter 0: the boxes are the oracle's truth.
            Assert.Equal(h.Truth[ImageIdentity.KeyOf(label.SourceRef)].Select(b => (b.ClassId, b.Left, b.Top, b.Width, b.Height)), label.Boxes.Select(b => (b.ClassId, b.Left, b.Top, b.Width, b.Height)));
        }

        var keys = await h.Store.ListAsync(SimulatorHarness.Bucket, "jobs/output/job-layout/").Select(o => o.Key).ToListAsync();
        Assert.Equal(4, keys.Count(k => Regex.IsMatch(k, @"^jobs/output/job-layout/annotations/worker-response/iteration-1/\d+/\d{4}-\d{2}-\d{2}_\d{2}:\d{2}:\d{2}\.json$")));
        Assert.Single(keys, k => k.StartsWith("jobs/output/job-layout/annotations/consolidated-annotation/consolidation-response/iteration-1/", StringComparison.Ordinal));

        var response = JsonNode.Parse(await h.Store.ReadBytesAsync(SimulatorHarness.Bucket, keys.First(k => k.Contains("/worker-response/iteration-1/0/", StringComparison.Ordinal))))!;
        var answer = response["answers"]![0]!;
        Assert.Equal("Cognito", answer["workerMetadata"]!["identityData"]!["identityProviderType"]!.GetValue<string>());
        Assert.Equal(2, answer["answerContent"]!["boundingBox"]!["boundingBoxes"]!.AsArray().Count);
        Assert.Equal("bolt", answer["answerContent"]!["boundingBox"]!["boundingBoxes"]![0]!["label"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public async Task CompleteJobAsync_ImageWithExifOrientation_LabelsTheStoredPixelsNotTheRotatedView(int orientation)
    {
        // Ground Truth keeps the browser from applying the tag: workers see, and box, the stored pixels.
        await using var h = await SimulatorHarness.StartAsync();
        var job = $"job-orientation-{orientation}";
        await h.GivenInputAsync(job, 1);
        var stored = orientation >= 5 ? new ImageSize(480, 640) : new ImageSize(640, 480);
        var loc = S3Location.Parse(SimulatorHarness.SourceRef(1));
        await h.Store.PutBytesAsync(loc.Bucket, loc.Key, JpegHeader(stored, orientation), "image/jpeg");
        await h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest(job));

        await h.Simulator.CompleteJobAsync(job);

        var label = GroundTruthManifest.Parse(Assert.Single(await OutputLinesAsync(h, job)), "parts-human");
        Assert.Equal((stored.Width, stored.Height), (label.Size.Width, label.Size.Height));
        var truth = h.Truth[SimulatorHarness.Sha(1)];
        Assert.Equal(truth.Count, label.Boxes.Count);
        foreach (var (box, expected) in label.Boxes.OrderBy(b => b.ClassId).Zip(truth.OrderBy(b => b.ClassId)))
        {
            // Shown with the tag applied, the stored box must cover the truth of the upright image.
            var (x1, y1) = StoredToUpright(orientation, box.Left, box.Top, stored);
            var (x2, y2) = StoredToUpright(orientation, box.Right, box.Bottom, stored);
            Assert.Equal(expected.ClassId, box.ClassId);
            Assert.Equal(expected.Left, Math.Min(x1, x2), 6);
            Assert.Equal(expected.Top, Math.Min(y1, y2), 6);
            Assert.Equal(expected.Right, Math.Max(x1, x2), 6);
            Assert.Equal(expected.Bottom, Math.Max(y1, y2), 6);
        }
    }

    // EXIF 2.32 Orientation, on continuous coordinates: where a stored point appears once the tag is applied.
    private static (double X, double Y) StoredToUpright(int orientation, double x, double y, ImageSize stored)
    {
        double w = stored.Width, h = stored.Height;
        return orientation switch
        {
            1 => (x, y),
            2 => (w - x, y),
            3 => (w - x, h - y),
            4 => (x, h - y),
            5 => (y, x),
            6 => (h - y, x),
            7 => (h - y, w - x),
            _ => (y, w - x),
        };
    }

    /// <summary>SOI, an EXIF APP1 holding only the Orientation tag (big-endian TIFF), SOF0 and EOI: all the simulator reads.</summary>
    private static byte[] JpegHeader(ImageSize stored, int orientation)
    {
        byte[] tiff = [(byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte)orientation, 0, 0, 0, 0, 0, 0];
        var app1 = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        byte[] sof = [8, (byte)(stored.Height >> 8), (byte)stored.Height, (byte)(stored.Width >> 8), (byte)stored.Width, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
        return
        [
            0xFF, 0xD8,
            0xFF, 0xE1, (byte)((app1.Length + 2) >> 8), (byte)(app1.Length + 2), .. app1,
            0xFF, 0xC0, (byte)((sof.Length + 2) >> 8), (byte)(sof.Length + 2), .. sof,
            0xFF, 0xD9,
        ];
    }

    [Fact]
    public async Task CompleteJobAsync_NoPriorLabel_TakesImageSizeFromTheSidecarAndOmitsAdjustmentStatus()
    {
        await using var h = await SimulatorHarness.StartAsync();
        await h.GivenInputAsync("job-plain", 2, withPrior: false);
        await h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-plain", adjustment: false));

        await h.Simulator.CompleteJobAsync("job-plain");

        var lines = await OutputLinesAsync(h, "job-plain");
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.Equal(new ImageSize(640, 480), GroundTruthManifest.Parse(l, "parts-human").Size));
        Assert.All(lines, l => Assert.Null(JsonNode.Parse(l)!["parts-human-metadata"]!["adjustment-status"]));
    }

    [Theory]
    [InlineData(ExpiredObjectStyle.FailureReasonLine, 5)]
    [InlineData(ExpiredObjectStyle.OmitLine, 0)]
    public async Task CompleteJobAsync_AllTasksExpire_WritesFailedObjectsAsConfigured(ExpiredObjectStyle style, int expectedLines)
    {
        await using var h = await SimulatorHarness.StartAsync(new WorkforceOptions { ExpiredFraction = 1, ExpiredStyle = style });
        await h.GivenInputAsync("job-expired", 5);
        await h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-expired"));

        await h.Simulator.CompleteJobAsync("job-expired");

        var lines = await OutputLinesAsync(h, "job-expired");
        Assert.Equal(expectedLines, lines.Length);
        Assert.All(lines, l => Assert.Throws<FormatException>(() => GroundTruthManifest.Parse(l, "parts-human")));
        Assert.All(lines, l => Assert.StartsWith("ClientError", JsonNode.Parse(l)!["parts-human-metadata"]!["failure-reason"]!.GetValue<string>(), StringComparison.Ordinal));
        var (_, d) = await h.CallAsync("DescribeLabelingJob", new JsonObject { ["LabelingJobName"] = "job-expired" });
        Assert.Equal(5, d["LabelCounters"]!["FailedNonRetryableError"]!.GetValue<long>());
        Assert.Equal(0, d["LabelCounters"]!["TotalLabeled"]!.GetValue<long>());
    }

    [Fact]
    public async Task CompleteJobAsync_NoisyWorkforce_JittersWithinBoundsAndIsReproducible()
    {
        var noisy = new WorkforceOptions { BoxJitterPixels = 3, MissRate = 0.3, WrongClassRate = 0.3, Seed = 7 };
        await using var h = await SimulatorHarness.StartAsync(noisy);
        await h.GivenInputAsync("job-noise", 40);
        await h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-noise"));
        await h.Simulator.CompleteJobAsync("job-noise");
        var first = await OutputLinesAsync(h, "job-noise");

        await using var again = await SimulatorHarness.StartAsync(noisy);
        await again.GivenInputAsync("job-noise", 40);
        await again.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-noise"));
        await again.Simulator.CompleteJobAsync("job-noise");
        var second = await OutputLinesAsync(again, "job-noise");

        var labels = first.Select(l => GroundTruthManifest.Parse(l, "parts-human")).ToList();
        var boxes = labels.SelectMany(l => l.Boxes).ToList();
        Assert.InRange(boxes.Count, 30, 70);
        Assert.Contains(boxes, b => b.Left != Math.Round(b.Left));
        Assert.All(labels, l => Assert.All(l.Boxes, b => Assert.True(b.Left >= 0 && b.Top >= 0 && b.Right <= l.Size.Width && b.Bottom <= l.Size.Height)));
        var truth = labels.SelectMany(l => h.Truth[ImageIdentity.KeyOf(l.SourceRef)]).ToList();
        Assert.True(labels.Sum(l => BoxAgreement.Match(h.Truth[ImageIdentity.KeyOf(l.SourceRef)], l.Boxes, 0.5)) < truth.Count, "noise should lose or relabel some boxes");
        Assert.Equal(first.Select(l => GroundTruthManifest.Parse(l, "parts-human").Boxes.Count), second.Select(l => GroundTruthManifest.Parse(l, "parts-human").Boxes.Count));
    }

    [Fact]
    public async Task CompleteJobAsync_ThreeWorkersPerObject_WritesThreeAnswersAndConsolidatesByMajority()
    {
        await using var h = await SimulatorHarness.StartAsync(new WorkforceOptions { BoxJitterPixels = 4, Seed = 5 });
        await h.GivenInputAsync("job-three", 3);
        var request = SimulatorHarness.ValidRequest("job-three");
        request["HumanTaskConfig"]!["NumberOfHumanWorkersPerDataObject"] = 3;
        await h.CallAsync("CreateLabelingJob", request);

        await h.Simulator.CompleteJobAsync("job-three");

        var labels = (await OutputLinesAsync(h, "job-three")).Select(l => GroundTruthManifest.Parse(l, "parts-human")).ToList();
        Assert.All(labels, l => Assert.Equal(2, l.Boxes.Count));
        Assert.All(labels.SelectMany(l => l.Boxes), b => Assert.Equal(1.0, b.Confidence));
        Assert.All(labels, l => Assert.All(l.Boxes.Zip(h.Truth[ImageIdentity.KeyOf(l.SourceRef)]), p => Assert.InRange(p.First.Left - p.Second.Left, -4, 4)));
        var key = (await h.Store.ListAsync(SimulatorHarness.Bucket, "jobs/output/job-three/annotations/worker-response/iteration-1/0/").ToListAsync()).Single().Key;
        var answers = JsonNode.Parse(await h.Store.ReadBytesAsync(SimulatorHarness.Bucket, key))!["answers"]!.AsArray();
        Assert.Equal(3, answers.Count);
        Assert.Equal(3, answers.Select(a => a!["workerId"]!.GetValue<string>()).Distinct().Count());
    }

    [Fact]
    public void WorkforceOptions_RateOutsideZeroToOne_IsRefusedNamingIt()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new WorkforceOptions { MissRate = 1.5 }.Validate());

        Assert.Equal("MissRate", ex.ParamName);
    }

    [Fact]
    public void YoloLabelOracle_SampleLabelFile_ConvertsNormalizedCentersToPixelBoxes()
    {
        using var dir = new TempDir("yolo-");
        var labels = dir.Sub("labels");
        var images = dir.Sub("images");
        File.WriteAllText(Path.Combine(labels, "scene-01.txt"), "1 0.5 0.25 0.2 0.1\n\n0 0.1 0.1 0.2 0.2\n");
        File.WriteAllBytes(Path.Combine(images, "scene-01.jpg"), [1, 2, 3, 4]);
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(new byte[] { 1, 2, 3, 4 }));
        var oracle = new YoloLabelOracle(labels, images);

        var bySha = oracle.Answer($"s3://b/incoming/t/2026/11/26/{sha}.jpg", new ImageSize(640, 480));
        var byName = oracle.Answer("s3://b/demo/scene-01.jpg", new ImageSize(640, 480));
        var unknown = oracle.Answer("s3://b/demo/other.jpg", new ImageSize(640, 480));

        Assert.NotNull(bySha);
        Assert.Equal(2, bySha.Boxes.Count);
        var b = bySha.Boxes[0];
        Assert.Equal((1, 256.0, 96.0, 128.0, 48.0), (b.ClassId, b.Left, b.Top, b.Width, b.Height));
        Assert.Equal(bySha.Boxes, byName!.Boxes);
        Assert.Null(unknown);
    }

    [Fact]
    public void ParseYolo_ValueOutsideZeroToOne_NamesFileAndLine()
    {
        var ex = Assert.Throws<FormatException>(() => YoloLabelOracle.ParseYolo(["0 0.5 0.5 0.1 0.1", "2 1.5 0.5 0.1 0.1"], new ImageSize(10, 10), "x.txt"));

        Assert.Contains("x.txt line 2", ex.Message, StringComparison.Ordinal);
    }
}
