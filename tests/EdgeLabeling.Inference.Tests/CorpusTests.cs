using EdgeLabeling.Contracts;
using SkiaSharp;

namespace EdgeLabeling.Inference.Tests;

/// <summary>The committed bad-input and odd-format corpus in tests/assets/images (see tests/assets/README.md).</summary>
public class CorpusTests
{
    private readonly ImageDecoder _decoder = new();

    private static byte[] Read(string name) => TestPaths.ReadAsset(TestPaths.Asset("images", name));

    [Theory]
    [InlineData("zero-byte.jpg", "empty-file")]
    [InlineData("truncated.jpg", "truncated-image")]
    [InlineData("text-named.jpg", "not-an-image")]
    [InlineData("huge-declared.png", "too-many-pixels")]
    [InlineData("one-pixel.png", "too-small")]
    public void Decode_BadInput_RejectsWithReason(string file, string reason)
    {
        var ex = Assert.Throws<ImageRejectedException>(() => _decoder.Decode(Read(file), 320, 320));
        Assert.Equal(reason, ex.Reason);
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public void Decode_OnePixelWhenAllowed_KeepsItsColor()
    {
        using var image = new ImageDecoder(new ImageDecoderOptions { MinSide = 1 }).Decode(Read("one-pixel.png"));
        Assert.Equal(new SKColor(200, 120, 40), image.Bitmap.GetPixel(0, 0));
    }

    private static double MeanLevel(DecodedImage image)
    {
        var px = image.Bitmap.GetPixelSpan();
        double sum = 0;
        for (var i = 0; i < px.Length; i += 4)
        {
            sum += (px[i] + px[i + 1] + px[i + 2]) / 3.0;
        }

        return sum / (px.Length / 4);
    }

    [Theory]
    [InlineData("gray16.png")]
    [InlineData("rgb16.png")]
    [InlineData("cmyk.jpg")]
    public void Decode_UnusualColorTypes_ConvertToRgba8888WithSameBrightnessAsGrayPng(string file)
    {
        // All of them hold the same 64×48 scene as gray.png; an inverted CMYK or a mis-scaled 16-bit decode
        // would land far from its mean level.
        using var reference = _decoder.Decode(Read("gray.png"));
        using var image = _decoder.Decode(Read(file));
        Assert.Equal(new ImageSize(64, 48), image.OriginalSize);
        Assert.Equal(SKColorType.Rgba8888, image.Bitmap.ColorType);
        Assert.InRange(MeanLevel(image), MeanLevel(reference) - 6, MeanLevel(reference) + 6);
    }

    [Fact]
    public void Decode_GrayPng_ExpandsToThreeEqualChannels()
    {
        using var image = _decoder.Decode(Read("gray.png"));
        var px = image.Bitmap.GetPixelSpan();
        for (var i = 0; i < px.Length; i += 4)
        {
            Assert.True(px[i] == px[i + 1] && px[i] == px[i + 2], $"pixel {i / 4} is not gray");
        }
    }

    [Fact]
    public void Decode_Gray16_MatchesTheEightBitGrayPngWithinOneLevel()
    {
        using var reference = _decoder.Decode(Read("gray.png"));
        using var image = _decoder.Decode(Read("gray16.png"));
        var a = reference.Bitmap.GetPixelSpan();
        var b = image.Bitmap.GetPixelSpan();
        Assert.Equal(a.Length, b.Length);
        for (var i = 0; i < a.Length; i++)
        {
            Assert.True(Math.Abs(a[i] - b[i]) <= 1, $"byte {i}: 8-bit {a[i]} vs 16-bit {b[i]}");
        }
    }

    [Fact]
    public void Decode_ExifRotated6_ReportsUprightSize()
    {
        using var image = _decoder.Decode(Read("exif-rotated-6.jpg"));
        Assert.Equal(new ImageSize(640, 480), image.OriginalSize);
        Assert.Equal((640, 480), (image.Bitmap.Width, image.Bitmap.Height));
    }
}
