namespace EdgeLabeling.Routing.Tests;

/// <summary>
/// The dHash sums each grid cell column by column with precomputed bounds; these tests hold it to the plain
/// per-pixel definition (every pixel's cell found by division, sums in doubles) on buffers of awkward shapes,
/// so a frame hashes to the same 64 bits as before and near-duplicate decisions cannot move.
/// </summary>
public class PerceptualHashTests
{
    [Theory]
    [InlineData(320, 320, 0)]
    [InlineData(640, 480, 0)]
    [InlineData(1, 1, 0)]
    [InlineData(3, 2, 0)]
    [InlineData(8, 7, 0)]
    [InlineData(9, 8, 0)]
    [InlineData(10, 9, 4)]
    [InlineData(17, 5, 12)]
    [InlineData(101, 37, 8)]
    [InlineData(333, 250, 16)]
    public void Compute_AnyShapeAndRowPadding_EqualsPerPixelDefinition(int width, int height, int rowPadding)
    {
        var rowBytes = (width * 4) + rowPadding;
        var random = new Random((width * 31) + height);
        foreach (var smooth in new[] { false, true })
        {
            var pixels = new byte[(rowBytes * height) + 3];
            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < rowBytes; x++)
                {
                    // Smooth gradients with a little noise exercise the flat margin; pure noise exercises every bit.
                    pixels[(y * rowBytes) + x] = smooth
                        ? (byte)Math.Clamp((x / 4 * 3) + (y * 2) + random.Next(-2, 3), 0, 255)
                        : (byte)random.Next(256);
                }
            }

            foreach (var bgr in new[] { false, true })
            {
                Assert.Equal(PerPixelDefinition(pixels, width, height, rowBytes, bgr), PerceptualHash.Compute(pixels, width, height, rowBytes, bgr));
            }
        }
    }

    [Fact]
    public void Compute_LeftHalfBrighter_SetsTheBitsOfTheMiddleColumnOnly()
    {
        const int width = 90, height = 80;
        var pixels = new byte[width * height * 4];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var v = (byte)(x < 50 ? 200 : 20);
                pixels[(((y * width) + x) * 4) + 0] = v;
                pixels[(((y * width) + x) * 4) + 1] = v;
                pixels[(((y * width) + x) * 4) + 2] = v;
            }
        }

        var hash = PerceptualHash.Compute(pixels, width, height, width * 4, bgr: false);

        // Columns of 10 px: column 4 (x 40-49) is bright, column 5 (x 50-59) dark, so bit 4 of each of the 8 rows is set.
        ulong expected = 0;
        for (var row = 0; row < 8; row++)
        {
            expected |= 1UL << ((row * 8) + 4);
        }

        Assert.Equal(expected, hash);
    }

    [Fact]
    public void Compute_BufferTooShort_NamesTheShape()
    {
        var ex = Assert.Throws<ArgumentException>(() => PerceptualHash.Compute(new byte[10], 4, 4, 16, bgr: false));
        Assert.Contains("4x4", ex.Message, StringComparison.Ordinal);
    }

    // The dHash as first written: each pixel's cell by division, means from double sums.
    private static ulong PerPixelDefinition(byte[] pixels, int width, int height, int rowBytes, bool bgr)
    {
        var sum = new double[72];
        var count = new int[72];
        var (r, b) = bgr ? (2, 0) : (0, 2);
        for (var y = 0; y < height; y++)
        {
            var gy = (int)((long)y * 8 / height);
            for (var x = 0; x < width; x++)
            {
                var gx = (int)((long)x * 9 / width);
                var o = (y * rowBytes) + (x * 4);
                sum[(gy * 9) + gx] += (299 * pixels[o + r]) + (587 * pixels[o + 1]) + (114 * pixels[o + b]);
                count[(gy * 9) + gx]++;
            }
        }

        double Mean(int i) => count[i] == 0 ? 0 : sum[i] / count[i];
        ulong hash = 0;
        var bit = 0;
        for (var gy = 0; gy < 8; gy++)
        {
            for (var gx = 0; gx < 8; gx++)
            {
                if (Mean((gy * 9) + gx) > Mean((gy * 9) + gx + 1) + 1000)
                {
                    hash |= 1UL << bit;
                }

                bit++;
            }
        }

        return hash;
    }
}
