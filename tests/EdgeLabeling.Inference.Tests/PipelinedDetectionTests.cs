using EdgeLabeling.Contracts;
using SkiaSharp;

namespace EdgeLabeling.Inference.Tests;

public class PipelinedDetectionTests
{
    private static OnnxDetector Detector() =>
        new(new OnnxDetectorOptions { ModelPath = TestPaths.Asset("models", "yolov8-tiny.onnx") });

    /// <summary>Images of different widths (so mapped boxes differ per item) with a bad one in the middle.</summary>
    private static List<(string Name, byte[] Bytes)> Inputs() =>
    [
        ("a", TestImages.Png(64, 64, SKColors.Gray)),
        ("b", TestImages.Jpeg(128, 64, SKColors.Gray)),
        ("bad", "not an image"u8.ToArray()),
        ("c", TestImages.Png(64, 96, SKColors.Gray)),
        ("empty", []),
        ("d", TestImages.Jpeg(200, 100, SKColors.Gray)),
    ];

    [Fact]
    public async Task RunAsync_MixedInputs_YieldsInOrderWithSameBoxesAsSequentialDetect()
    {
        using var detector = Detector();
        var decoder = new ImageDecoder();
        var inputs = Inputs();
        var expected = new Dictionary<string, IReadOnlyList<PixelBox>>();
        foreach (var (name, bytes) in inputs.Where(i => ImageDecoder.Sniff(i.Bytes) != ImageFormat.Unknown))
        {
            using var image = decoder.Decode(bytes, 64, 64);
            expected[name] = detector.Detect(image);
        }

        var results = new List<(string Name, ImageSize? Size, IReadOnlyList<PixelBox> Boxes, string? Reason)>();
        await foreach (var r in PipelinedDetection.RunAsync(detector, decoder, inputs, i => i.Bytes))
        {
            results.Add((r.Item.Name, r.Size, r.Boxes, r.Rejection?.Reason));
        }

        Assert.Equal(inputs.Select(i => i.Name), results.Select(r => r.Name));
        Assert.Equal([null, null, "not-an-image", null, "empty-file", null], results.Select(r => r.Reason));
        foreach (var r in results.Where(r => r.Reason is null))
        {
            Assert.Equal(expected[r.Name], r.Boxes);
            Assert.NotEmpty(r.Boxes);
        }

        Assert.Equal(new ImageSize(200, 100), results[^1].Size);
        Assert.Empty(results[2].Boxes);
    }

    [Fact]
    public async Task RunAsync_DecodeAnswersNull_SkipsTheModelForThatItemAndKeepsItsPlace()
    {
        using var detector = Detector();
        var decoder = new ImageDecoder();
        var inputs = Inputs().Where(i => ImageDecoder.Sniff(i.Bytes) != ImageFormat.Unknown).ToList();
        var expected = new Dictionary<string, IReadOnlyList<PixelBox>>();
        foreach (var (name, bytes) in inputs)
        {
            using var image = decoder.Decode(bytes, 64, 64);
            expected[name] = detector.Detect(image);
        }

        var runsBefore = detector.RunCount;
        var results = new List<(string Name, ImageSize? Size, IReadOnlyList<PixelBox> Boxes, ImageRejectedException? Rejection)>();
        await foreach (var r in PipelinedDetection.RunAsync(detector, inputs, i => i.Name is "b" or "d" ? null : decoder.Decode(i.Bytes, 64, 64)))
        {
            results.Add((r.Item.Name, r.Size, r.Boxes, r.Rejection));
        }

        Assert.Equal(["a", "b", "c", "d"], results.Select(r => r.Name));
        Assert.Equal(2, detector.RunCount - runsBefore);
        Assert.All(results.Where(r => r.Name is "b" or "d"), r => Assert.True(r.Boxes.Count == 0 && r.Rejection is null && r.Size is null));
        Assert.All(results.Where(r => r.Name is "a" or "c"), r =>
        {
            Assert.NotNull(r.Size);
            Assert.Equal(expected[r.Name], r.Boxes);
        });
    }

    [Fact]
    public async Task RunAsync_ImageStillReadableWhileCurrent_AndDisposedAfterMoveNext()
    {
        using var detector = Detector();
        var images = new List<DecodedImage>();
        await foreach (var r in PipelinedDetection.RunAsync(detector, new ImageDecoder(), Inputs().Take(2), i => i.Bytes))
        {
            Assert.NotNull(r.Image);
            Assert.True(r.Image.Bitmap.Width > 0);
            Assert.NotEqual(IntPtr.Zero, r.Image.Bitmap.GetPixels());
            images.Add(r.Image);
        }

        Assert.All(images, i => Assert.Equal(IntPtr.Zero, i.Bitmap.Handle));
    }

    [Fact]
    public async Task RunAsync_ConsumerStopsEarly_StopsProducerAndDisposesEverything()
    {
        using var detector = Detector();
        var decoded = 0;
        var items = Enumerable.Range(0, 1000);
        await foreach (var r in PipelinedDetection.RunAsync(detector, items, _ =>
                       {
                           Interlocked.Increment(ref decoded);
                           return new DecodedImage(TestImages.Solid(64, 64, SKColors.Gray), new ImageSize(64, 64));
                       }))
        {
            if (r.Item == 2)
            {
                break;
            }
        }

        // The producer runs at most a couple of items ahead of the consumer.
        Assert.InRange(decoded, 3, 8);
        // The detector is free again for direct use.
        using var image = new DecodedImage(TestImages.Solid(64, 64, SKColors.Gray), new ImageSize(64, 64));
        Assert.NotEmpty(detector.Detect(image));
    }

    [Fact]
    public async Task RunAsync_DecodeThrowsUnexpectedException_SurfacesItToConsumer()
    {
        using var detector = Detector();
        var seen = new List<int>();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var r in PipelinedDetection.RunAsync(detector, [0, 1, 2], i => i == 1
                               ? throw new InvalidOperationException("disk gone")
                               : new DecodedImage(TestImages.Solid(64, 64, SKColors.Gray), new ImageSize(64, 64))))
            {
                seen.Add(r.Item);
            }
        });
        Assert.Equal("disk gone", ex.Message);
        Assert.Equal([0], seen);
    }

    [Fact]
    public async Task RunAsync_Cancelled_ThrowsOperationCanceled()
    {
        using var detector = Detector();
        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var r in PipelinedDetection.RunAsync(detector, Enumerable.Range(0, 1000),
                               _ => new DecodedImage(TestImages.Solid(64, 64, SKColors.Gray), new ImageSize(64, 64)), cts.Token))
            {
                if (r.Item == 1)
                {
                    await cts.CancelAsync();
                }
            }
        });
    }
}
