using EdgeLabeling.Contracts;
using EdgeLabeling.Inference;

namespace EdgeLabeling.Routing.Tests;

public class ImageLabelerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 8, 0, 0, TimeSpan.Zero);

    private static (ImageLabeler Labeler, FakeDetector Detector) Create(Func<DecodedImage, IReadOnlyList<PixelBox>> answer, RoutingOptions? options = null)
    {
        var detector = new FakeDetector(answer);
        var policy = new RoutingPolicy((options ?? new RoutingOptions()) with { AuditRate = 0 }, detector.Info.ClassNames);
        return (new ImageLabeler(detector, policy), detector);
    }

    private static ImageInput Input(byte[] bytes, string name = "frame.png", string? camera = "cam1", DateTimeOffset? at = null) =>
        new($"/data/{name}", bytes, camera, at ?? T0);

    [Fact]
    public void Process_ConfidentPng_AutoLabelsWithShaExtensionAndSize()
    {
        var bytes = TestImages.Png(64, 48, seed: 1);
        var (labeler, _) = Create(_ => [new PixelBox(0, 1, 2, 10, 10, 0.9)]);

        var d = labeler.Process(Input(bytes));

        Assert.Equal(RoutingOutcome.AutoLabel, d.Outcome);
        Assert.Equal("all-confident", d.Reason);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), d.Sha256);
        Assert.Equal("png", d.Extension);
        Assert.Equal(new ImageSize(64, 48), d.Size);
        Assert.Equal(1, d.RawDetectionCount);
        Assert.NotEqual(0UL, d.PerceptualHash);
    }

    [Fact]
    public void Process_JpegNamedPng_ReportsJpgFromContent()
    {
        var (labeler, _) = Create(_ => [new PixelBox(0, 1, 2, 10, 10, 0.9)]);

        var d = labeler.Process(Input(TestImages.Jpeg(64, 48, seed: 2), name: "lying.png"));

        Assert.Equal("jpg", d.Extension);
    }

    [Theory]
    [InlineData(new byte[0], "empty-file")]
    [InlineData(new byte[] { 0x68, 0x65, 0x6c, 0x6c, 0x6f }, "not-an-image")]
    [InlineData(new byte[] { 0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0 }, "unsupported-format")]
    public void Process_BadBytes_QuarantinesWithDecoderReasonAndNeverCallsDetector(byte[] bytes, string reason)
    {
        var (labeler, detector) = Create(_ => throw new InvalidOperationException("must not run"));

        var d = labeler.Process(Input(bytes));

        Assert.Equal(RoutingOutcome.Quarantine, d.Outcome);
        Assert.Equal(reason, d.Reason);
        Assert.Null(d.Size);
        Assert.Empty(d.Boxes);
        Assert.False(string.IsNullOrEmpty(d.Detail));
        Assert.Equal(0, detector.Calls);
    }

    [Fact]
    public void Process_TruncatedJpeg_IsQuarantinedAsTruncated()
    {
        var bytes = TestImages.Jpeg(200, 150, seed: 5);
        var (labeler, _) = Create(_ => []);

        var d = labeler.Process(Input(bytes[..(bytes.Length / 2)]));

        Assert.Equal(RoutingOutcome.Quarantine, d.Outcome);
        Assert.Equal("truncated-image", d.Reason);
        Assert.Equal("jpg", d.Extension);
    }

    [Fact]
    public void Process_DetectorThrows_QuarantinesAsInferenceFailed()
    {
        var (labeler, _) = Create(_ => throw new InvalidOperationException("session broke"));

        var d = labeler.Process(Input(TestImages.Png(64, 48, seed: 1)));

        Assert.Equal((RoutingOutcome.Quarantine, "inference-failed"), (d.Outcome, d.Reason));
        Assert.Equal("session broke", d.Detail);
    }

    [Fact]
    public void Process_DetectorRejectsImage_QuarantinesWithItsReason()
    {
        var (labeler, _) = Create(_ => throw new ImageRejectedException("too-small", "tiny"));

        var d = labeler.Process(Input(TestImages.Png(64, 48, seed: 1)));

        Assert.Equal((RoutingOutcome.Quarantine, "too-small"), (d.Outcome, d.Reason));
    }

    [Fact]
    public void Process_NearDuplicateOfSameCamera_IsDuplicateAndSkipsInference()
    {
        var (labeler, detector) = Create(_ => [new PixelBox(0, 1, 2, 10, 10, 0.9)]);
        var first = labeler.Process(Input(TestImages.Png(160, 120, seed: 8), at: T0));

        var second = labeler.Process(Input(TestImages.Png(160, 120, seed: 8, noise: 5, frame: 1), at: T0.AddMinutes(1)));

        Assert.Equal(RoutingOutcome.Duplicate, second.Outcome);
        Assert.Equal("duplicate-of:" + first.Sha256[..12], second.Reason);
        Assert.Equal(1, detector.Calls);
    }

    [Fact]
    public void Process_SameSceneOtherCamera_IsNotDuplicate()
    {
        var (labeler, _) = Create(_ => [new PixelBox(0, 1, 2, 10, 10, 0.9)]);
        labeler.Process(Input(TestImages.Png(160, 120, seed: 8), camera: "cam1"));

        var other = labeler.Process(Input(TestImages.Png(160, 120, seed: 8), camera: "cam2"));

        Assert.Equal(RoutingOutcome.AutoLabel, other.Outcome);
    }

    [Fact]
    public void Process_SameSceneOutsideWindow_IsNotDuplicate()
    {
        var (labeler, _) = Create(_ => [new PixelBox(0, 1, 2, 10, 10, 0.9)]);
        labeler.Process(Input(TestImages.Png(160, 120, seed: 8), at: T0));

        var later = labeler.Process(Input(TestImages.Png(160, 120, seed: 8), at: T0.AddMinutes(11)));

        Assert.Equal(RoutingOutcome.AutoLabel, later.Outcome);
    }

    [Fact]
    public void Process_DuplicateDetectionOff_SameFrameTwiceIsLabeledTwice()
    {
        var (labeler, detector) = Create(_ => [new PixelBox(0, 1, 2, 10, 10, 0.9)], new RoutingOptions { DuplicateDetection = false });
        var bytes = TestImages.Png(160, 120, seed: 8);

        labeler.Process(Input(bytes));
        var again = labeler.Process(Input(bytes));

        Assert.Equal(RoutingOutcome.AutoLabel, again.Outcome);
        Assert.Equal(2, detector.Calls);
    }

    [Fact]
    public void Process_QuarantinedFrame_IsNotRememberedForDuplicates()
    {
        var (labeler, _) = Create(_ => [new PixelBox(0, 1, 2, 10, 10, 0.9)]);
        var bytes = TestImages.Jpeg(200, 150, seed: 5);
        labeler.Process(Input(bytes[..(bytes.Length / 2)]));

        Assert.Equal(RoutingOutcome.AutoLabel, labeler.Process(Input(bytes)).Outcome);
    }

    [Fact]
    public void Constructor_PolicyForOtherClasses_Throws()
    {
        var detector = new FakeDetector(_ => []);
        var policy = new RoutingPolicy(new RoutingOptions(), ["cat", "dog"]);

        Assert.Throws<ArgumentException>(() => new ImageLabeler(detector, policy));
    }
}
