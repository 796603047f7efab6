using System.Runtime.InteropServices;
using CsCheck;
using EdgeLabeling.Contracts;
using SkiaSharp;

namespace EdgeLabeling.Inference.Tests;

public class LetterboxGeometryTests
{
    private static readonly Gen<(int SourceWidth, int SourceHeight, int InputWidth, int InputHeight)> Sizes =
        Gen.Select(Gen.Int[1, 6000], Gen.Int[1, 6000], Gen.Int[16, 1280], Gen.Int[16, 1280]);

    [Fact]
    public void Fit_LandscapeIntoSquare_PadsTopAndBottomEqually()
    {
        var g = LetterboxGeometry.Fit(640, 480, 320, 320);
        Assert.Equal((320, 240, 0, 40), (g.ResizedWidth, g.ResizedHeight, g.PadLeft, g.PadTop));
    }

    [Fact]
    public void Fit_PortraitIntoSquare_PadsLeftAndRight()
    {
        var g = LetterboxGeometry.Fit(480, 640, 320, 320);
        Assert.Equal((240, 320, 40, 0), (g.ResizedWidth, g.ResizedHeight, g.PadLeft, g.PadTop));
    }

    [Fact]
    public void Fit_OnePixelSource_ScalesToWholeInput()
    {
        var g = LetterboxGeometry.Fit(1, 1, 320, 320);
        Assert.Equal((320, 320, 0, 0), (g.ResizedWidth, g.ResizedHeight, g.PadLeft, g.PadTop));
    }

    [Fact]
    public void Fit_VeryWideSource_KeepsAtLeastOneRow()
    {
        var g = LetterboxGeometry.Fit(10_000, 1, 320, 320);
        Assert.Equal(1, g.ResizedHeight);
        Assert.Equal(159, g.PadTop);
    }

    [Fact]
    public void Fit_ZeroSizedSource_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => LetterboxGeometry.Fit(0, 10, 320, 320));

    [Fact]
    public void Fit_AnySizes_ResizedAreaFitsInsideInputAndIsCentered() =>
        Sizes.Sample(s =>
        {
            var g = LetterboxGeometry.Fit(s.SourceWidth, s.SourceHeight, s.InputWidth, s.InputHeight);
            Assert.InRange(g.ResizedWidth, 1, s.InputWidth);
            Assert.InRange(g.ResizedHeight, 1, s.InputHeight);
            Assert.True(g.ResizedWidth == s.InputWidth || g.ResizedHeight == s.InputHeight || g.ResizedWidth == 1 || g.ResizedHeight == 1,
                $"neither side fills the input: {g}");
            Assert.InRange(s.InputWidth - g.ResizedWidth - 2 * g.PadLeft, 0, 1);
            Assert.InRange(s.InputHeight - g.ResizedHeight - 2 * g.PadTop, 0, 1);
        });

    [Fact]
    public void ToSource_AfterToInput_IsIdentityWithin1e6() =>
        Gen.Select(Sizes, Gen.Double[-1.0, 2.0], Gen.Double[-1.0, 2.0]).Sample((s, fx, fy) =>
        {
            var g = LetterboxGeometry.Fit(s.SourceWidth, s.SourceHeight, s.InputWidth, s.InputHeight);
            var x = fx * s.SourceWidth;
            var y = fy * s.SourceHeight;
            var (ix, iy) = g.ToInput(x, y);
            var (bx, by) = g.ToSource(ix, iy);
            Assert.True(Math.Abs(bx - x) <= 1e-6 && Math.Abs(by - y) <= 1e-6, $"({x},{y}) -> ({bx},{by}) for {g}");
        });

    [Fact]
    public void ToInput_AfterToSource_IsIdentityWithin1e6() =>
        Gen.Select(Sizes, Gen.Double[-100, 1400], Gen.Double[-100, 1400]).Sample((s, x, y) =>
        {
            var g = LetterboxGeometry.Fit(s.SourceWidth, s.SourceHeight, s.InputWidth, s.InputHeight);
            var (sx, sy) = g.ToSource(x, y);
            var (ix, iy) = g.ToInput(sx, sy);
            Assert.True(Math.Abs(ix - x) <= 1e-6 && Math.Abs(iy - y) <= 1e-6, $"({x},{y}) -> ({ix},{iy}) for {g}");
        });

    [Fact]
    public void ToInput_SourceCorners_LandOnResizedAreaCorners() =>
        Sizes.Sample(s =>
        {
            var g = LetterboxGeometry.Fit(s.SourceWidth, s.SourceHeight, s.InputWidth, s.InputHeight);
            var (x0, y0) = g.ToInput(0, 0);
            var (x1, y1) = g.ToInput(s.SourceWidth, s.SourceHeight);
            Assert.Equal(g.PadLeft, x0, 9);
            Assert.Equal(g.PadTop, y0, 9);
            Assert.Equal(g.PadLeft + g.ResizedWidth, x1, 9);
            Assert.Equal(g.PadTop + g.ResizedHeight, y1, 9);
        });
}

public class BoxMappingTests
{
    [Fact]
    public void ToOriginal_AnyBoxInInputSpace_IsClippedInsideImageOrDropped() =>
        Gen.Select(Gen.Int[8, 5000], Gen.Int[8, 5000], Gen.Int[1, 8], Gen.Float[-200, 900], Gen.Float[-200, 900], Gen.Float[-50, 800], Gen.Float[-50, 800])
            .Sample((w, h, eighths, x, y, bw, bh) =>
            {
                // A bitmap decoded at eighths/8 of the original, letterboxed into 640×640.
                var bmpW = Math.Max(1, w * eighths / 8);
                var bmpH = Math.Max(1, h * eighths / 8);
                var g = LetterboxGeometry.Fit(bmpW, bmpH, 640, 640);
                var c = new Candidate(0, x, y, x + bw, y + bh, 0.5f);
                var box = BoxMapping.ToOriginal(c, g, (double)w / bmpW, (double)h / bmpH, new ImageSize(w, h));
                if (box is { } b)
                {
                    Assert.True(b.Left >= 0 && b.Top >= 0 && b.Right <= w + 1e-9 && b.Bottom <= h + 1e-9, $"{b} outside {w}×{h}");
                    Assert.True(b.Width > 0 && b.Height > 0, $"{b} is empty");
                }
                else
                {
                    Assert.True(c.X2 <= c.X1 || c.Y2 <= c.Y1 || c.X2 <= g.PadLeft || c.Y2 <= g.PadTop ||
                                c.X1 >= g.PadLeft + g.ResizedWidth || c.Y1 >= g.PadTop + g.ResizedHeight,
                        $"a box overlapping the image was dropped: {c} with {g}");
                }
            });

    [Fact]
    public void ToOriginal_BoxInsideImage_InvertsLetterboxAndDecodeScale()
    {
        // 4000×3000 original decoded at 1/8 (500×375) into 320×320: scale 0.64, pad top 40.
        var g = LetterboxGeometry.Fit(500, 375, 320, 320);
        var c = new Candidate(1, 64, 104, 128, 168, 0.9f);
        var box = BoxMapping.ToOriginal(c, g, 8, 8, new ImageSize(4000, 3000))!.Value;
        Assert.Equal(800, box.Left, 6);
        Assert.Equal(800, box.Top, 6);
        Assert.Equal(800, box.Width, 6);
        Assert.Equal(800, box.Height, 6);
        Assert.Equal(1, box.ClassId);
    }

    [Fact]
    public void ToOriginal_BoxOnlyInPadding_IsDropped()
    {
        var g = LetterboxGeometry.Fit(640, 480, 320, 320);
        Assert.Null(BoxMapping.ToOriginal(new Candidate(0, 10, 0, 50, 30, 0.9f), g, 1, 1, new ImageSize(640, 480)));
    }

    [Fact]
    public void ToOriginal_NaNCoordinate_IsDropped()
    {
        var g = LetterboxGeometry.Fit(320, 320, 320, 320);
        Assert.Null(BoxMapping.ToOriginal(new Candidate(0, float.NaN, 0, 50, 30, 0.9f), g, 1, 1, new ImageSize(320, 320)));
    }
}

public class LetterboxTests
{
    private static SKBitmap Solid(int w, int h, SKColor color, SKColorType type = SKColorType.Rgba8888)
    {
        var bmp = new SKBitmap(new SKImageInfo(w, h, type, SKAlphaType.Premul));
        bmp.Erase(color);
        return bmp;
    }

    [Fact]
    public void FillChw_LandscapeImage_PadsWith114AndScalesColorsTo01()
    {
        using var letterbox = new Letterbox(32, 32);
        using var bmp = Solid(64, 32, new SKColor(255, 0, 51));
        var chw = new float[3 * 32 * 32];
        var g = letterbox.FillChw(bmp, chw);
        Assert.Equal((32, 16, 0, 8), (g.ResizedWidth, g.ResizedHeight, g.PadLeft, g.PadTop));
        const int plane = 32 * 32;
        // Row 0 is padding, row 16 is image.
        Assert.Equal(114 / 255f, chw[0], 6);
        Assert.Equal(114 / 255f, chw[plane + 5], 6);
        Assert.Equal(1f, chw[16 * 32 + 3], 6);
        Assert.Equal(0f, chw[plane + 16 * 32 + 3], 6);
        Assert.Equal(0.2f, chw[2 * plane + 16 * 32 + 3], 6);
        Assert.Equal(114 / 255f, chw[2 * plane + 31 * 32 + 31], 6);
    }

    [Fact]
    public void FillChw_BgraBitmap_ProducesSameRgbAsRgba()
    {
        using var letterbox = new Letterbox(16, 16);
        using var rgba = Solid(16, 16, new SKColor(10, 200, 30));
        using var bgra = Solid(16, 16, new SKColor(10, 200, 30), SKColorType.Bgra8888);
        var a = new float[3 * 16 * 16];
        var b = new float[3 * 16 * 16];
        letterbox.FillChw(rgba, a);
        letterbox.FillChw(bgra, b);
        Assert.Equal(a, b);
        Assert.Equal(10 / 255f, a[0], 6);
    }

    [Fact]
    public void FillNhwc_PortraitImage_InterleavesRgbBytesAndPadsSides()
    {
        using var letterbox = new Letterbox(8, 8);
        using var bmp = Solid(4, 8, new SKColor(1, 2, 3));
        var nhwc = new byte[8 * 8 * 3];
        var g = letterbox.FillNhwc(bmp, nhwc);
        Assert.Equal((4, 8, 2, 0), (g.ResizedWidth, g.ResizedHeight, g.PadLeft, g.PadTop));
        Assert.Equal([114, 114, 114], nhwc[..3]);
        Assert.Equal([1, 2, 3], nhwc[(3 * 3)..(3 * 3 + 3)]);
        Assert.Equal([114, 114, 114], nhwc[(3 * 7)..(3 * 7 + 3)]);
    }

    [Fact]
    public void FillChw_ReusedForSmallerImage_OverwritesOldPixelsWithPadding()
    {
        using var letterbox = new Letterbox(16, 16);
        var chw = new float[3 * 16 * 16];
        using (var big = Solid(16, 16, SKColors.White))
        {
            letterbox.FillChw(big, chw);
        }

        using var wide = Solid(16, 4, SKColors.Black);
        letterbox.FillChw(wide, chw);
        Assert.Equal(114 / 255f, chw[0], 6);
        Assert.Equal(0f, chw[8 * 16], 6);
    }

    [Fact]
    public void FillChw_WrongBufferLength_ThrowsNamingBothSizes()
    {
        using var letterbox = new Letterbox(16, 16);
        using var bmp = Solid(4, 4, SKColors.Red);
        var ex = Assert.Throws<ArgumentException>(() => letterbox.FillChw(bmp, new float[10]));
        Assert.Contains("768", ex.Message);
    }

    [Fact]
    public void FillChw_UnsupportedColorType_Throws()
    {
        using var letterbox = new Letterbox(16, 16);
        using var bmp = new SKBitmap(new SKImageInfo(4, 4, SKColorType.Gray8, SKAlphaType.Opaque));
        var ex = Assert.Throws<ArgumentException>(() => letterbox.FillChw(bmp, new float[3 * 16 * 16]));
        Assert.Contains("Gray8", ex.Message);
    }

    [Fact]
    public void FillChw_GradientImage_KeepsLeftToRightOrder()
    {
        using var letterbox = new Letterbox(64, 64);
        using var bmp = new SKBitmap(new SKImageInfo(64, 64, SKColorType.Rgba8888, SKAlphaType.Premul));
        var px = MemoryMarshal.Cast<byte, uint>(bmp.GetPixelSpan());
        for (var y = 0; y < 64; y++)
        {
            for (var x = 0; x < 64; x++)
            {
                px[y * 64 + x] = 0xFF000000u | (uint)(x * 4);
            }
        }

        var chw = new float[3 * 64 * 64];
        letterbox.FillChw(bmp, chw);
        Assert.Equal(0f, chw[10 * 64], 6);
        Assert.Equal(252 / 255f, chw[10 * 64 + 63], 6);
    }

    [Fact]
    public void FillChw_StripedImageShrunkSevenTimes_AveragesInsteadOfAliasing()
    {
        // 1-px black/white columns shrunk 7× must come out mid-gray. Plain bilinear would sample exactly one source
        // column per output pixel (centers land on 7x+3) and produce alternating black and white.
        using var letterbox = new Letterbox(32, 32);
        using var bmp = new SKBitmap(new SKImageInfo(224, 224, SKColorType.Rgba8888, SKAlphaType.Premul));
        var px = MemoryMarshal.Cast<byte, uint>(bmp.GetPixelSpan());
        for (var i = 0; i < px.Length; i++)
        {
            px[i] = (i % 2 == 0) ? 0xFF000000u : 0xFFFFFFFFu;
        }

        var chw = new float[3 * 32 * 32];
        letterbox.FillChw(bmp, chw);
        Assert.InRange(chw[16 * 32 + 16], 0.3f, 0.7f);
        Assert.InRange(chw[16 * 32 + 17], 0.3f, 0.7f);
    }
}
