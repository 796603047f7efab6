using SkiaSharp;

namespace EdgeLabeling.Inference.Tests;

public class BoundedBufferPoolTests
{
    [Fact]
    public void Rent_AfterReturnOfLargeEnoughArray_ReusesIt()
    {
        var pool = new BoundedBufferPool(2);
        var first = pool.Rent(100_000);
        pool.Return(first);

        var second = pool.Rent(90_000);

        Assert.Same(first, second);
        Assert.Equal(0, pool.Retained);
    }

    [Fact]
    public void Rent_WhenKeptArraysAreTooSmall_AllocatesRoundedUpArray()
    {
        var pool = new BoundedBufferPool(2);
        var small = pool.Rent(1000);
        pool.Return(small);

        var big = pool.Rent(70_000);

        Assert.NotSame(small, big);
        Assert.Equal(128 * 1024, big.Length);
        Assert.Equal(1, pool.Retained);
    }

    [Fact]
    public void Return_WhenFull_KeepsTheLargestArrays()
    {
        var pool = new BoundedBufferPool(2);
        var a = pool.Rent(64 * 1024);
        var b = pool.Rent(128 * 1024);
        var c = pool.Rent(256 * 1024);
        pool.Return(a);
        pool.Return(b);
        pool.Return(c);

        Assert.Equal(2, pool.Retained);
        Assert.Same(b, pool.Rent(100 * 1024));
        Assert.Same(c, pool.Rent(100 * 1024));
    }

    [Fact]
    public void Constructor_WithZeroRetained_ThrowsNamingTheArgument()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedBufferPool(0));
        Assert.Equal("maxRetained", ex.ParamName);
    }

    [Fact]
    public void Rent_NonPositiveLength_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedBufferPool(1).Rent(0));
    }

    [Fact]
    public void Decode_ManyFramesDisposedInTurn_ReturnsSameResultsWithPooledPixels()
    {
        // Decoded bitmaps borrow pooled pixel buffers; a buffer handed back by Dispose must not leak into the next frame.
        var decoder = new ImageDecoder();
        var colors = new[] { new SKColor(200, 30, 30), new SKColor(30, 200, 30), new SKColor(30, 30, 200) };
        for (var round = 0; round < 20; round++)
        {
            var color = colors[round % colors.Length];
            using var image = decoder.Decode(TestImages.Png(40 + round, 30, color));
            Assert.Equal(40 + round, image.Bitmap.Width);
            Assert.Equal(color, image.Bitmap.GetPixel(image.Bitmap.Width - 1, 29));
        }
    }
}
