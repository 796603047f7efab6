using System.Security.Cryptography;
using EdgeLabeling.Contracts;
using EdgeLabeling.Inference;
using EdgeLabeling.TestSupport;
using SkiaSharp;

namespace EdgeLabeling.Routing.Tests;

public sealed class UploadImageNormalizerTests
{
    private static readonly SceneBlock Red = new(0, new SKColor(220, 30, 30), new SKRectI(16, 8, 40, 32));
    private static readonly SceneBlock Blue = new(1, new SKColor(30, 40, 220), new SKRectI(72, 40, 104, 56));

    private static string Sha(ReadOnlySpan<byte> b) => Convert.ToHexStringLower(SHA256.HashData(b));

    private static byte[] Jpeg(int w, int h)
    {
        using var bmp = OrientedTestImages.Scene(w, h, [Red with { Rect = new SKRectI(w / 4, h / 4, w * 3 / 4, h * 3 / 4) }]);
        using var img = SKImage.FromBitmap(bmp);
        using var data = img.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    private static ImageDecision Decision(byte[] bytes, ImageSize size, IReadOnlyList<PixelBox> boxes, RoutingOutcome outcome = RoutingOutcome.HumanReview, string ext = "jpg") =>
        new(new ImageInput("/in/a." + ext, bytes, "cam0", DateTimeOffset.UnixEpoch), Sha(bytes), ext, size, outcome, "uncertain:nut@0.41", boxes);

    [Fact]
    public void Apply_WhenLargerThanMaxSide_ScalesImageBoxesAndRehashes()
    {
        var bytes = Jpeg(1600, 1200);
        var (d, jpeg) = new UploadImageNormalizer(800, 85).Apply(Decision(bytes, new ImageSize(1600, 1200), [new PixelBox(1, 400, 300, 200, 100, 0.41)]), bytes);
        Assert.Equal(new ImageSize(800, 600), d.Size);
        Assert.Equal(Sha(jpeg.Span), d.Sha256);
        Assert.NotEqual(Sha(bytes), d.Sha256);
        var box = Assert.Single(d.Boxes);
        Assert.Equal((200.0, 150.0, 100.0, 50.0), (box.Left, box.Top, box.Width, box.Height));
        using var decoded = SKBitmap.Decode(jpeg.ToArray());
        Assert.Equal((800, 600), (decoded.Width, decoded.Height));
    }

    [Fact]
    public void Apply_WhenUprightAndSmallOrScalingDisabled_ReturnsInputUnchanged()
    {
        var bytes = Jpeg(320, 240);
        var decision = Decision(bytes, new ImageSize(320, 240), [new PixelBox(1, 10, 10, 20, 20, 0.4)]);
        var small = new UploadImageNormalizer(800, 85).Apply(decision, bytes);
        Assert.True(small.Bytes.Span == bytes.AsSpan(), "the same buffer, not a copy");
        Assert.Same(decision, small.Decision);
        var big = Jpeg(1600, 1200);
        var unscaled = Decision(big, new ImageSize(1600, 1200), []);
        Assert.Same(unscaled, new UploadImageNormalizer(0, 85).Apply(unscaled, big).Decision);
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
    public void Apply_ExifOrientation_UploadsPixelsWhereTheBoxesAreWithoutTheTag(int orientation)
    {
        // The decision is what the labeler produces: size and boxes of the upright (EXIF-applied) scene.
        using var upright = OrientedTestImages.Scene(128, 64, [Red, Blue]);
        var bytes = OrientedTestImages.OrientedJpeg(upright, orientation);
        var decision = Decision(bytes, new ImageSize(128, 64, 3), [Red.Box(0.9), Blue.Box(0.4)]);

        var (d, upload) = new UploadImageNormalizer().Apply(decision, bytes);

        Assert.Equal(1, OrientationOf(upload.Span));
        Assert.Equal(Sha(upload.Span), d.Sha256);
        Assert.Equal(new ImageSize(128, 64, 3), d.Size);
        Assert.Equal(decision.Boxes, d.Boxes);
        Assert.Equal("jpg", d.Extension);
        using var stored = OrientedTestImages.StoredPixels(upload.Span);
        Assert.Equal((128, 64), (stored.Width, stored.Height));
        Assert.True(OrientedTestImages.ShareOfColor(stored, Red.Box(1), Red.Color) > 0.95, $"red block not under its box in the stored pixels (orientation {orientation})");
        Assert.True(OrientedTestImages.ShareOfColor(stored, Blue.Box(1), Blue.Color) > 0.95, $"blue block not under its box in the stored pixels (orientation {orientation})");
        if (orientation == 1)
        {
            Assert.True(upload.Span == bytes.AsSpan(), "an upright frame is uploaded byte for byte");
            Assert.Same(decision, d);
        }
        else
        {
            Assert.NotEqual(decision.Sha256, d.Sha256);
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(6)]
    public void Apply_ExifRotatedAndLargerThanMaxSide_ScalesTheUprightImage(int orientation)
    {
        using var upright = OrientedTestImages.Scene(128, 64, [Red, Blue]);
        var bytes = OrientedTestImages.OrientedJpeg(upright, orientation);
        var (d, upload) = new UploadImageNormalizer(64, 90).Apply(Decision(bytes, new ImageSize(128, 64), [Red.Box(0.9)]), bytes);

        Assert.Equal(new ImageSize(64, 32), d.Size);
        using var stored = OrientedTestImages.StoredPixels(upload.Span);
        Assert.Equal((64, 32), (stored.Width, stored.Height));
        Assert.True(OrientedTestImages.ShareOfColor(stored, Assert.Single(d.Boxes), Red.Color) > 0.9);
    }

    [Theory]
    [InlineData(RoutingOutcome.Quarantine)]
    [InlineData(RoutingOutcome.Duplicate)]
    public void Apply_DecisionWithoutUpload_LeavesRotatedBytesAlone(RoutingOutcome outcome)
    {
        using var upright = OrientedTestImages.Scene(128, 64, [Red]);
        var bytes = OrientedTestImages.OrientedJpeg(upright, 6);
        var decision = Decision(bytes, new ImageSize(128, 64), [], outcome);
        var (d, upload) = new UploadImageNormalizer().Apply(decision, bytes);
        Assert.Same(decision, d);
        Assert.True(upload.Span == bytes.AsSpan());
    }

    [Fact]
    public void Apply_PngWithExifChunk_DropsTheChunkAndKeepsPixelsAndBoxes()
    {
        // SkiaSharp does not apply a PNG eXIf orientation, so the decision is in the stored frame; a reader that
        // honored the chunk would not be, so it must not travel.
        using var scene = OrientedTestImages.Scene(128, 64, [Red, Blue]);
        var bytes = OrientedTestImages.PngWithExifOrientation(scene, 6);
        Assert.Equal(1, ImageDecoder.ReadOrientation(bytes));
        var decision = Decision(bytes, new ImageSize(128, 64), [Red.Box(0.9), Blue.Box(0.4)], ext: "png");

        var (d, upload) = new UploadImageNormalizer().Apply(decision, bytes);

        Assert.Equal(-1, upload.Span.IndexOf("eXIf"u8));
        Assert.Equal(bytes.Length - 38, upload.Length);
        Assert.Equal(Sha(upload.Span), d.Sha256);
        Assert.Equal(("png", new ImageSize(128, 64)), (d.Extension, d.Size));
        Assert.Equal(decision.Boxes, d.Boxes);
        using var before = OrientedTestImages.StoredPixels(bytes);
        using var after = OrientedTestImages.StoredPixels(upload.Span);
        Assert.True(before.GetPixelSpan().SequenceEqual(after.GetPixelSpan()), "the pixels are kept as they are");
    }

    [Fact]
    public void Apply_TaggedFrameThatCannotBeDecodedAtFullSize_QuarantinesItWithTheReason()
    {
        using var upright = OrientedTestImages.Scene(128, 64, [Red]);
        var whole = OrientedTestImages.OrientedJpeg(upright, 6);
        var cut = OrientedTestImages.CutInScan(whole);
        var decision = Decision(cut, new ImageSize(128, 64), [Red.Box(0.9)]);

        var (d, upload) = new UploadImageNormalizer().Apply(decision, cut);

        Assert.Equal(RoutingOutcome.Quarantine, d.Outcome);
        Assert.Equal(UploadImageNormalizer.ReencodeFailedReason, d.Reason);
        Assert.StartsWith(ImageDecoder.Reasons.TruncatedImage, d.Detail, StringComparison.Ordinal);
        Assert.Empty(d.Boxes);
        Assert.True(upload.Span == cut.AsSpan(), "the frame's own bytes, for the quarantine folder");
    }

    [Fact]
    public void Apply_BytesThatAreNoImage_ReturnsThemUnchanged()
    {
        // A labeler double may route bytes it never decoded; without an orientation tag nothing is re-encoded.
        byte[] bytes = [1, 2, 3, 4];
        var decision = Decision(bytes, new ImageSize(640, 480), []);
        Assert.Same(decision, new UploadImageNormalizer().Apply(decision, bytes).Decision);
    }

    [Fact]
    public void UploadBytes_ForARotatedFrame_AreTheBytesApplyUploads()
    {
        using var upright = OrientedTestImages.Scene(128, 64, [Red]);
        var bytes = OrientedTestImages.OrientedJpeg(upright, 8);
        var normalizer = new UploadImageNormalizer();
        var (d, _) = normalizer.Apply(Decision(bytes, new ImageSize(128, 64), [Red.Box(0.9)]), bytes);
        Assert.Equal(d.Sha256, Sha(normalizer.UploadBytes(bytes).Span));
        var plain = Jpeg(64, 48);
        Assert.True(normalizer.UploadBytes(plain).Span == plain.AsSpan());
    }

    private static int OrientationOf(ReadOnlySpan<byte> bytes)
    {
        Assert.Equal(ImageDecoder.ReadOrientation(bytes), OrientedTestImages.OrientationOf(bytes));
        return ImageDecoder.ReadOrientation(bytes);
    }
}
