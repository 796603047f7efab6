using EdgeLabeling.Contracts;
using EdgeLabeling.Inference;
using SkiaSharp;

namespace EdgeLabeling.Routing.Tests;

/// <summary>A detector that answers from a script keyed by image width, so tests choose detections per image.</summary>
internal sealed class FakeDetector : IDetector
{
    private readonly Func<DecodedImage, IReadOnlyList<PixelBox>> _answer;

    public FakeDetector(Func<DecodedImage, IReadOnlyList<PixelBox>> answer, params string[] classNames)
    {
        _answer = answer;
        Info = new DetectorInfo("/models/fake.onnx", new string('a', 64), 320, 320, classNames.Length == 0 ? ["bolt", "nut", "washer"] : classNames, "fake");
    }

    public DetectorInfo Info { get; }

    public int Calls { get; private set; }

    public IReadOnlyList<PixelBox> Detect(DecodedImage image)
    {
        Calls++;
        return _answer(image);
    }

    public void Dispose()
    {
    }
}

internal static class TestImages
{
    /// <summary>A PNG whose content is a seeded pattern of rectangles (different seeds → different dHash).</summary>
    public static byte[] Png(int width, int height, int seed, int noise = 0, int frame = 0) => Encode(width, height, seed, noise, frame, SKEncodedImageFormat.Png);

    public static byte[] Jpeg(int width, int height, int seed, int noise = 0, int frame = 0) => Encode(width, height, seed, noise, frame, SKEncodedImageFormat.Jpeg);

    private static byte[] Encode(int width, int height, int seed, int noise, int frame, SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            var rng = new Random(seed);
            canvas.Clear(new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256)));
            using var paint = new SKPaint();
            for (var i = 0; i < 12; i++)
            {
                paint.Color = new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256));
                canvas.DrawRect(rng.Next(width), rng.Next(height), 10 + rng.Next(width / 2), 10 + rng.Next(height / 2), paint);
            }
        }

        if (noise > 0)
        {
            // Sensor-like noise on top of the same scene: what two frames of a static camera differ by.
            var rng = new Random((seed * 7919) + (frame * 104729) + noise);
            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < width; x++)
                {
                    var c = bitmap.GetPixel(x, y);
                    bitmap.SetPixel(x, y, new SKColor(Jitter(c.Red, rng, noise), Jitter(c.Green, rng, noise), Jitter(c.Blue, rng, noise)));
                }
            }
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 90);
        return data.ToArray();
    }

    private static byte Jitter(byte v, Random rng, int noise) => (byte)Math.Clamp(v + rng.Next(-noise, noise + 1), 0, 255);
}
