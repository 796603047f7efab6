using System.Numerics;
using SkiaSharp;

namespace EdgeLabeling.Routing;

/// <summary>
/// 64-bit difference hash (dHash): the image is reduced to a 9×8 grid of mean luminance and each bit
/// says whether a cell is brighter than its right neighbour. Robust to re-encoding, small noise and
/// global brightness changes; two frames of a static scene land a few bits apart.
/// </summary>
public static class PerceptualHash
{
    private const int GridWidth = 9;
    private const int GridHeight = 8;

    // Plain dHash sets a bit on any difference, so flat areas (walls, sky, conveyor belt) flip bits on
    // sensor noise alone. Differences under one luma level (weights sum to 1000) count as "not brighter".
    private const double FlatMargin = 1000;

    /// <summary>Computes the dHash of a decoded bitmap (8888 color types; others are converted first).</summary>
    public static ulong Compute(SKBitmap bitmap)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        if (bitmap.Width < 1 || bitmap.Height < 1)
        {
            throw new ArgumentException("bitmap has no pixels", nameof(bitmap));
        }

        if (bitmap.ColorType is SKColorType.Rgba8888 or SKColorType.Bgra8888)
        {
            return Compute(bitmap.GetPixelSpan(), bitmap.Width, bitmap.Height, bitmap.RowBytes, bitmap.ColorType == SKColorType.Bgra8888);
        }

        using var converted = new SKBitmap(new SKImageInfo(bitmap.Width, bitmap.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        if (!bitmap.CopyTo(converted, SKColorType.Rgba8888))
        {
            throw new ArgumentException($"bitmap color type {bitmap.ColorType} cannot be converted to RGBA", nameof(bitmap));
        }

        return Compute(converted.GetPixelSpan(), converted.Width, converted.Height, converted.RowBytes, bgr: false);
    }

    /// <summary>Computes the dHash of 4-byte-per-pixel data (RGBA, or BGRA when <paramref name="bgr"/>).</summary>
    public static ulong Compute(ReadOnlySpan<byte> pixels, int width, int height, int rowBytes, bool bgr)
    {
        if (width < 1 || height < 1 || rowBytes < width * 4 || pixels.Length < (long)rowBytes * (height - 1) + width * 4)
        {
            throw new ArgumentException($"pixel buffer of {pixels.Length} bytes does not hold {width}x{height} pixels at {rowBytes} bytes per row");
        }

        // Area averaging (every pixel counts) rather than point sampling: point samples of a 9×8 grid
        // would make the hash flip on sensor noise. Pixel x belongs to grid column floor(x·9/width), so column g
        // starts at ceil(g·width/9): each row is summed column by column with those bounds instead of dividing
        // per pixel. Integer sums are exact (a cell holds far less than 2^63), so the hash is the same as summing
        // in doubles — and the hot loop on the decode thread is several times cheaper.
        Span<long> sum = stackalloc long[GridWidth * GridHeight];
        Span<int> count = stackalloc int[GridWidth * GridHeight];
        Span<int> columnStart = stackalloc int[GridWidth + 1];
        sum.Clear();
        count.Clear();
        for (var g = 0; g <= GridWidth; g++)
        {
            columnStart[g] = (int)(((long)g * width + GridWidth - 1) / GridWidth);
        }

        var (rIndex, bIndex) = bgr ? (2, 0) : (0, 2);
        for (var y = 0; y < height; y++)
        {
            var gy = (int)((long)y * GridHeight / height);
            var row = pixels.Slice(y * rowBytes, width * 4);
            for (var gx = 0; gx < GridWidth; gx++)
            {
                var from = columnStart[gx];
                var to = columnStart[gx + 1];
                long cell = 0;
                for (var o = from * 4; o < to * 4; o += 4)
                {
                    // Rec. 601 luma in integer weights (sum 1000).
                    cell += (299 * row[o + rIndex]) + (587 * row[o + 1]) + (114 * row[o + bIndex]);
                }

                sum[(gy * GridWidth) + gx] += cell;
                count[(gy * GridWidth) + gx] += to - from;
            }
        }

        ulong hash = 0;
        var bit = 0;
        for (var gy = 0; gy < GridHeight; gy++)
        {
            for (var gx = 0; gx < GridWidth - 1; gx++)
            {
                var left = Mean(sum, count, (gy * GridWidth) + gx);
                var right = Mean(sum, count, (gy * GridWidth) + gx + 1);
                if (left > right + FlatMargin)
                {
                    hash |= 1UL << bit;
                }

                bit++;
            }
        }

        return hash;
    }

    /// <summary>Number of differing bits.</summary>
    public static int Distance(ulong a, ulong b) => BitOperations.PopCount(a ^ b);

    // Images narrower than 9 px leave some cells empty; treat them as equal to nothing (0) consistently.
    private static double Mean(Span<long> sum, Span<int> count, int i) => count[i] == 0 ? 0 : (double)sum[i] / count[i];
}
