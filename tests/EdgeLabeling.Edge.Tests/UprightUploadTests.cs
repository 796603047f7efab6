using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Hosting;
using EdgeLabeling.Edge.Intake;
using EdgeLabeling.Edge.Upload;
using EdgeLabeling.Routing;
using EdgeLabeling.Storage;
using EdgeLabeling.TestSupport;
using Microsoft.Extensions.Hosting;
using SkiaSharp;

namespace EdgeLabeling.Edge.Tests;

/// <summary>The intake re-encodes EXIF-rotated frames upright before queueing; one it cannot re-encode is set aside.</summary>
public sealed class UprightUploadTests : IDisposable
{
    private const string Bucket = "edge-test";
    private static readonly SceneBlock Red = new(0, new SKColor(220, 30, 30), new SKRectI(16, 8, 40, 32));
    private static readonly SceneBlock Blue = new(1, new SKColor(30, 40, 220), new SKRectI(72, 40, 104, 56));
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Run_TaggedFrameThatCannotBeReencoded_IsQuarantinedAndTheNextFrameGoesUpUpright()
    {
        var store = new FileSystemObjectStore(_dir.Sub("s3"));
        var inbox = _dir.Sub("in");
        var work = Path.Combine(_dir.Path, "work");
        using var scene = OrientedTestImages.Scene(128, 64, [Red, Blue]);
        var whole = OrientedTestImages.OrientedJpeg(scene, 8);
        // Sorted first, so a frame that failed the round (instead of being set aside) would block the second.
        File.WriteAllBytes(Path.Combine(inbox, "a-cut.jpg"), OrientedTestImages.CutInScan(whole));
        File.WriteAllBytes(Path.Combine(inbox, "b-whole.jpg"), whole);
        string[] args =
        [
            "--ThingName", "dev1", "--InputDirectory", inbox, "--WorkDirectory", work, "--Bucket", Bucket, "--Region", "us-east-1",
            "--FileStableMilliseconds", "50", "--PollMilliseconds", "50", "--StatusIntervalSeconds", "1",
        ];
        using var host = EdgeComponentHost.CreateBuilder(args, new EdgeComponentOverrides
        {
            // Decides without decoding (as a model-side failure would not be seen), so the re-encode meets the cut frame.
            Labeler = _ => new SceneLabeler(),
            Stores = _ => new FixedObjectStoreProvider(store),
        }).Build();
        await host.StartAsync();
        List<string> keys = [];
        await Eventually.Until(
            () => (keys = store.ListAsync(Bucket, "incoming/").ToBlockingEnumerable().Select(o => o.Key).ToList()).Count >= 2 && Directory.GetFiles(inbox).Length == 0,
            TimeSpan.FromSeconds(20),
            "the whole frame's upload and an empty inbox",
            () => $"{keys.Count} objects, inbox {string.Join(", ", Directory.GetFiles(inbox).Select(Path.GetFileName))}");

        await host.StopAsync();

        var reason = File.ReadAllText(Path.Combine(work, "quarantine", "a-cut.jpg" + QuarantineFolder.ReasonSuffix));
        Assert.StartsWith(UploadImageNormalizer.ReencodeFailedReason + ": " + EdgeLabeling.Inference.ImageDecoder.Reasons.TruncatedImage, reason, StringComparison.Ordinal);
        var imageKey = Assert.Single(keys, k => !k.EndsWith(ObjectKeyLayout.SidecarSuffix, StringComparison.Ordinal));
        var uploaded = (await store.ReadBytesAsync(Bucket, imageKey))!;
        Assert.Equal(1, OrientedTestImages.OrientationOf(uploaded));
        var sidecar = ReviewRecord.Parse((await ObjectContent.ReadJsonBytesAsync(store, Bucket, ObjectKeyLayout.SidecarKey(imageKey), ReviewRecord.MaxSidecarBytes))!);
        Assert.Contains(sidecar.ImageSha256, imageKey, StringComparison.Ordinal);
        using var stored = OrientedTestImages.StoredPixels(uploaded);
        Assert.Equal((sidecar.ImageSize.Width, sidecar.ImageSize.Height), (stored.Width, stored.Height));
        foreach (var p in sidecar.PreAnnotations)
        {
            var color = p.ClassId == 0 ? Red.Color : Blue.Color;
            Assert.True(OrientedTestImages.ShareOfColor(stored, p.ToPixelBox(), color) > 0.9, $"pre-annotation of class {p.ClassId} is not on its block");
        }
    }

    /// <summary>Routes every frame to review with the scene's upright boxes, without decoding it.</summary>
    private sealed class SceneLabeler : IImageLabeler
    {
        public EdgeLabeling.Inference.DetectorInfo Detector { get; } = new("/models/fake.onnx", new string('a', 64), 320, 320, ["red", "blue"], "fake");

        public ImageDecision Process(ImageInput input) =>
            new(input, Bytes.Sha(input.Bytes.ToArray()), "jpg", new ImageSize(128, 64), RoutingOutcome.HumanReview, "uncertain:blue@0.40", [Red.Box(0.9), Blue.Box(0.4)]);
    }
}
