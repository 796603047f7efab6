using EdgeLabeling.Contracts;
using SkiaSharp;

namespace EdgeLabeling.Inference.Tests;

public class ImageDecoderTests
{
    private readonly ImageDecoder _decoder = new();

    private static ImageRejectedException Rejected(Action decode) => Assert.Throws<ImageRejectedException>(decode);

    [Fact]
    public void Decode_Jpeg_ReturnsRgbaBitmapOfOriginalSize()
    {
        using var image = _decoder.Decode(TestImages.Jpeg(64, 48, new SKColor(200, 30, 30)));
        Assert.Equal(new ImageSize(64, 48), image.OriginalSize);
        Assert.Equal((64, 48, SKColorType.Rgba8888), (image.Bitmap.Width, image.Bitmap.Height, image.Bitmap.ColorType));
        var px = image.Bitmap.GetPixel(10, 10);
        Assert.InRange(px.Red, 190, 210);
        Assert.InRange(px.Green, 20, 40);
    }

    [Fact]
    public void Decode_Png_ReturnsExactPixels()
    {
        using var image = _decoder.Decode(TestImages.Png(16, 9, new SKColor(1, 2, 3)));
        Assert.Equal(new ImageSize(16, 9), image.OriginalSize);
        Assert.Equal(new SKColor(1, 2, 3), image.Bitmap.GetPixel(15, 8));
    }

    [Fact]
    public void Decode_EmptyBytes_RejectsAsEmptyFile() =>
        Assert.Equal("empty-file", Rejected(() => _decoder.Decode([])).Reason);

    [Fact]
    public void Decode_Text_RejectsAsNotAnImage()
    {
        var ex = Rejected(() => _decoder.Decode("hello, I am a jpg"u8));
        Assert.Equal("not-an-image", ex.Reason);
        Assert.Contains("68656C6C", ex.Message);
    }

    [Theory]
    [InlineData("GIF89a\u0001\0\u0001\0")]
    [InlineData("BM\0\0\0\0\0\0\0\0")]
    [InlineData("RIFF\0\0\0\0WEBPVP8 ")]
    public void Decode_OtherImageFormats_RejectsAsUnsupportedFormat(string header) =>
        Assert.Equal("unsupported-format", Rejected(() => _decoder.Decode(System.Text.Encoding.Latin1.GetBytes(header))).Reason);

    [Fact]
    public void Decode_JpegCutInHalf_RejectsAsTruncated()
    {
        var jpeg = TestImages.Jpeg(256, 256, new SKColor(10, 120, 200));
        var ex = Rejected(() => _decoder.Decode(jpeg.AsSpan(0, jpeg.Length / 2)));
        Assert.Equal("truncated-image", ex.Reason);
    }

    [Fact]
    public void Decode_PngCutInHalf_RejectsAsTruncated()
    {
        using var bmp = TestImages.Marked(128, 128, 40);
        var png = TestImages.Encode(bmp, SKEncodedImageFormat.Png);
        Assert.Equal("truncated-image", Rejected(() => _decoder.Decode(png.AsSpan(0, png.Length / 2))).Reason);
    }

    [Fact]
    public void Decode_JpegHeaderOnly_IsRejectedNotCrashed()
    {
        var ex = Rejected(() => _decoder.Decode(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0x00 }));
        Assert.Contains(ex.Reason, new[] { "truncated-image", "not-an-image" });
    }

    [Fact]
    public void Decode_PngDeclaring50000Squared_RejectsBeforeAllocating()
    {
        var ex = Rejected(() => _decoder.Decode(TestImages.PngHeaderOnly(50_000, 50_000)));
        Assert.Equal("too-many-pixels", ex.Reason);
        Assert.Contains("50000×50000", ex.Message);
    }

    [Fact]
    public void Decode_JpegWhoseFrameHeaderDeclares20000Squared_RejectsBeforeDecoding()
    {
        var jpeg = TestImages.Jpeg(64, 64, SKColors.Gray);
        // Patch the baseline frame header (SOF0: FF C0, length, precision, height, width) to claim 20000×20000.
        var sof = jpeg.AsSpan().IndexOf(new byte[] { 0xFF, 0xC0 });
        Assert.True(sof > 0, "encoder wrote no SOF0 marker");
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 5), 20000);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 7), 20000);
        var ex = Rejected(() => _decoder.Decode(jpeg, 320, 320));
        Assert.Equal("too-many-pixels", ex.Reason);
    }

    [Fact]
    public void Decode_JpegOverConfiguredLimit_RejectsAsTooManyPixels()
    {
        var decoder = new ImageDecoder(new ImageDecoderOptions { MaxPixels = 1000 });
        Assert.Equal("too-many-pixels", Rejected(() => decoder.Decode(TestImages.Jpeg(40, 40, SKColors.Gray))).Reason);
    }

    [Fact]
    public void Decode_OnePixelPng_RejectsAsTooSmallByDefault()
    {
        var ex = Rejected(() => _decoder.Decode(TestImages.Png(1, 1, SKColors.Red)));
        Assert.Equal("too-small", ex.Reason);
        Assert.Contains("1×1", ex.Message);
    }

    [Fact]
    public void Decode_OnePixelPngWithMinSideOne_IsDecoded()
    {
        var decoder = new ImageDecoder(new ImageDecoderOptions { MinSide = 1 });
        using var image = decoder.Decode(TestImages.Png(1, 1, SKColors.Red), 320, 320);
        Assert.Equal(new ImageSize(1, 1), image.OriginalSize);
    }

    [Fact]
    public void Options_NonPositiveLimit_ThrowsNamingField()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDecoder(new ImageDecoderOptions { MaxPixels = 0 }));
        Assert.Equal("MaxPixels", ex.ParamName);
    }

    [Fact]
    public void Decode_LargeJpegForSmallModel_DecodesAtReducedScale()
    {
        var jpeg = TestImages.Jpeg(2000, 1500, SKColors.Olive);
        using var image = _decoder.Decode(jpeg, 320, 320);
        // Letterbox needs 320×240; 1/8 gives 250×188 (too small), 2/8 gives 500×375.
        Assert.Equal(new ImageSize(2000, 1500), image.OriginalSize);
        Assert.Equal((500, 375), (image.Bitmap.Width, image.Bitmap.Height));
        Assert.Equal(4.0, image.ScaleX, 9);
    }

    [Fact]
    public void Decode_LargeJpegWithoutTarget_DecodesFullSize()
    {
        using var image = _decoder.Decode(TestImages.Jpeg(1000, 600, SKColors.Olive));
        Assert.Equal((1000, 600), (image.Bitmap.Width, image.Bitmap.Height));
    }

    [Fact]
    public void Decode_LargePngForSmallModel_DecodesFullSizeBecausePngCannotScale()
    {
        using var image = _decoder.Decode(TestImages.Png(900, 700, SKColors.Olive), 320, 320);
        Assert.Equal((900, 700), (image.Bitmap.Width, image.Bitmap.Height));
    }

    [Fact]
    public void Decode_SmallJpegForLargerModel_DecodesFullSize()
    {
        using var image = _decoder.Decode(TestImages.Jpeg(200, 100, SKColors.Olive), 640, 640);
        Assert.Equal((200, 100), (image.Bitmap.Width, image.Bitmap.Height));
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
    public void Decode_ExifOrientation_ProducesUprightImage(ushort orientation)
    {
        const int w = 96, h = 64, block = 24;
        using var stored = TestImages.Marked(w, h, block);
        var jpeg = TestImages.WithExifOrientation(TestImages.Encode(stored, SKEncodedImageFormat.Jpeg), orientation);
        using var image = _decoder.Decode(jpeg);
        var swaps = orientation >= 5;
        var (ow, oh) = swaps ? (h, w) : (w, h);
        Assert.Equal(new ImageSize(ow, oh), image.OriginalSize);
        Assert.Equal((ow, oh), (image.Bitmap.Width, image.Bitmap.Height));

        // Where the stored top-left block's center lands when the EXIF transform is applied.
        double sx = block / 2.0, sy = block / 2.0;
        var (ux, uy) = orientation switch
        {
            2 => (w - sx, sy),
            3 => (w - sx, h - sy),
            4 => (sx, h - sy),
            5 => (sy, sx),
            6 => (h - sy, sx),
            7 => (h - sy, w - sx),
            8 => (sy, w - sx),
            _ => (sx, sy),
        };
        var marked = image.Bitmap.GetPixel((int)ux, (int)uy);
        Assert.True(marked.Red > 200 && marked.Blue < 60, $"expected red at ({ux},{uy}) for orientation {orientation}, got {marked}");
        var opposite = image.Bitmap.GetPixel(ow - 1 - (int)ux, oh - 1 - (int)uy);
        Assert.True(opposite.Blue > 200 && opposite.Red < 60, $"expected blue opposite for orientation {orientation}, got {opposite}");
    }

    [Fact]
    public void Decode_ExifRotatedLargeJpegForSmallModel_ScalesInStoredAxesAndReportsOrientedSize()
    {
        using var stored = TestImages.Marked(2000, 1000, 200);
        var jpeg = TestImages.WithExifOrientation(TestImages.Encode(stored, SKEncodedImageFormat.Jpeg), 6);
        using var image = _decoder.Decode(jpeg, 320, 320);
        Assert.Equal(new ImageSize(1000, 2000), image.OriginalSize);
        // Upright 1000×2000 into 320×320 needs 160×320: stored 2000×1000 at 2/8 = 500×250 → upright 250×500.
        Assert.Equal((250, 500), (image.Bitmap.Width, image.Bitmap.Height));
        Assert.Equal(4.0, image.ScaleY, 9);
    }

    [Fact]
    public void Sniff_IgnoresFileNameAndReadsMagicBytes()
    {
        Assert.Equal(ImageFormat.Jpeg, ImageDecoder.Sniff(TestImages.Jpeg(8, 8, SKColors.Red)));
        Assert.Equal(ImageFormat.Png, ImageDecoder.Sniff(TestImages.Png(8, 8, SKColors.Red)));
        Assert.Equal(ImageFormat.Unknown, ImageDecoder.Sniff("\u00ff"u8));
        Assert.Equal("jpg", ImageDecoder.ExtensionOf(ImageFormat.Jpeg));
        Assert.Equal("bin", ImageDecoder.ExtensionOf(ImageFormat.Unknown));
    }

    [Fact]
    public void Decode_PngWithAlpha_ReturnsOpaqueRgbOverBlack()
    {
        using var bmp = new SKBitmap(new SKImageInfo(16, 16, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bmp.Erase(new SKColor(255, 255, 255, 0));
        using var image = _decoder.Decode(TestImages.Encode(bmp, SKEncodedImageFormat.Png));
        Assert.Equal(SKColorType.Rgba8888, image.Bitmap.ColorType);
        Assert.Equal(0, image.Bitmap.GetPixelSpan()[0]);
    }

    [Fact]
    public void Decode_GrayscalePng_ExpandsToRgb()
    {
        using var gray = new SKBitmap(new SKImageInfo(16, 16, SKColorType.Gray8, SKAlphaType.Opaque));
        gray.Erase(new SKColor(77, 77, 77));
        using var image = _decoder.Decode(TestImages.Encode(gray, SKEncodedImageFormat.Png));
        var px = image.Bitmap.GetPixel(3, 3);
        Assert.Equal((77, 77, 77), (px.Red, px.Green, px.Blue));
    }
}
