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

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RunAsync_MixedInputs_YieldsInOrderWithSameBoxesAsSequentialDetect(int concurrentRuns)
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
        await foreach (var r in PipelinedDetection.RunAsync(detector, decoder, inputs, i => i.Bytes, concurrentRuns: concurrentRuns))
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

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RunAsync_DecodeAnswersNull_SkipsTheModelForThatItemAndKeepsItsPlace(int concurrentRuns)
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
        await foreach (var r in PipelinedDetection.RunAsync(detector, inputs, i => i.Name is "b" or "d" ? null : decoder.Decode(i.Bytes, 64, 64), concurrentRuns: concurrentRuns))
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

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RunAsync_ImageStillReadableWhileCurrent_AndDisposedAfterMoveNext(int concurrentRuns)
    {
        using var detector = Detector();
        var images = new List<DecodedImage>();
        await foreach (var r in PipelinedDetection.RunAsync(detector, new ImageDecoder(), Inputs().Take(2), i => i.Bytes, concurrentRuns: concurrentRuns))
        {
            Assert.NotNull(r.Image);
            Assert.True(r.Image.Bitmap.Width > 0);
            Assert.NotEqual(IntPtr.Zero, r.Image.Bitmap.GetPixels());
            images.Add(r.Image);
        }

        Assert.All(images, i => Assert.Equal(IntPtr.Zero, i.Bitmap.Handle));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RunAsync_ConsumerStopsEarly_StopsProducerAndDisposesEverything(int concurrentRuns)
    {
        using var detector = Detector();
        var decoded = 0;
        var items = Enumerable.Range(0, 1000);
        await foreach (var r in PipelinedDetection.RunAsync(detector, items, _ =>
                       {
                           Interlocked.Increment(ref decoded);
                           return new DecodedImage(TestImages.Solid(64, 64, SKColors.Gray), new ImageSize(64, 64));
                       }, concurrentRuns: concurrentRuns))
        {
            if (r.Item == 2)
            {
                break;
            }
        }

        // The producer runs at most a couple of items ahead of the consumer (one more per extra run in flight).
        Assert.InRange(decoded, 3, 8 + concurrentRuns - 1);
        // The detector is free again for direct use.
        using var image = new DecodedImage(TestImages.Solid(64, 64, SKColors.Gray), new ImageSize(64, 64));
        Assert.NotEmpty(detector.Detect(image));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RunAsync_DecodeThrowsUnexpectedException_SurfacesItToConsumer(int concurrentRuns)
    {
        using var detector = Detector();
        var seen = new List<int>();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var r in PipelinedDetection.RunAsync(detector, [0, 1, 2], i => i == 1
                               ? throw new InvalidOperationException("disk gone")
                               : new DecodedImage(TestImages.Solid(64, 64, SKColors.Gray), new ImageSize(64, 64)), concurrentRuns: concurrentRuns))
            {
                seen.Add(r.Item);
            }
        });
        Assert.Equal("disk gone", ex.Message);
        Assert.Equal([0], seen);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RunAsync_Cancelled_ThrowsOperationCanceled(int concurrentRuns)
    {
        using var detector = Detector();
        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var r in PipelinedDetection.RunAsync(detector, Enumerable.Range(0, 1000),
                               _ => new DecodedImage(TestImages.Solid(64, 64, SKColors.Gray), new ImageSize(64, 64)), cts.Token, concurrentRuns))
            {
                if (r.Item == 1)
                {
                    await cts.CancelAsync();
                }
            }
        });
    }

    [Fact]
    public async Task RunAsync_TwoRunsInFlight_ManyDistinctImages_SameBoxesInTheSameOrderAsOneRun()
    {
        using var detector = Detector();
        var decoder = new ImageDecoder();
        // Different sizes and colors, so every item's boxes (mapped to its own size) differ from its neighbours'.
        var inputs = Enumerable.Range(0, 40)
            .Select(i => (Name: i, Bytes: TestImages.Jpeg(48 + (i * 7 % 150), 40 + (i * 13 % 90), i % 3 == 0 ? SKColors.Gray : i % 3 == 1 ? SKColors.DarkRed : SKColors.White)))
            .ToList();

        async Task<List<(int Name, IReadOnlyList<PixelBox> Boxes)>> Run(int runs)
        {
            var list = new List<(int, IReadOnlyList<PixelBox>)>();
            await foreach (var r in PipelinedDetection.RunAsync(detector, decoder, inputs, i => i.Bytes, concurrentRuns: runs))
            {
                list.Add((r.Item.Name, r.Boxes));
            }

            return list;
        }

        var one = await Run(1);
        var two = await Run(2);

        Assert.Equal(Enumerable.Range(0, 40), two.Select(r => r.Name));
        Assert.Equal(one.Select(r => r.Boxes.Count), two.Select(r => r.Boxes.Count));
        Assert.All(one.Zip(two), p => Assert.Equal(p.First.Boxes, p.Second.Boxes));
        Assert.Equal(80, detector.RunCount);
    }

    [Fact]
    public async Task RunAsync_ConcurrentRunsOutOfRange_IsRefused()
    {
        using var detector = Detector();
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () =>
        {
            await foreach (var r in PipelinedDetection.RunAsync(detector, [0], _ => null, concurrentRuns: 0))
            {
                Assert.Fail("nothing is run");
            }
        });
    }
}
