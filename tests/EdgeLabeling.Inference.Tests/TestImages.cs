using System.Buffers.Binary;
using System.Text;
using SkiaSharp;

namespace EdgeLabeling.Inference.Tests;

/// <summary>Builds encoded test images in memory.</summary>
internal static class TestImages
{
    public static SKBitmap Solid(int w, int h, SKColor color)
    {
        var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
        bmp.Erase(color);
        return bmp;
    }

    /// <summary>Blue image with a red block in the stored top-left corner (to see where orientation moves it).</summary>
    public static SKBitmap Marked(int w, int h, int block)
    {
        var bmp = Solid(w, h, new SKColor(0, 0, 255));
        using var canvas = new SKCanvas(bmp);
        using var paint = new SKPaint { Color = new SKColor(255, 0, 0) };
        canvas.DrawRect(0, 0, block, block, paint);
        return bmp;
    }

    public static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality = 95)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality);
        return data.ToArray();
    }

    public static byte[] Jpeg(int w, int h, SKColor color)
    {
        using var bmp = Solid(w, h, color);
        return Encode(bmp, SKEncodedImageFormat.Jpeg);
    }

    public static byte[] Png(int w, int h, SKColor color)
    {
        using var bmp = Solid(w, h, color);
        return Encode(bmp, SKEncodedImageFormat.Png);
    }

    /// <summary>Inserts a minimal EXIF APP1 segment with only the Orientation tag right after SOI.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        var tiff = new byte[8 + 2 + 12 + 4];
        "II"u8.CopyTo(tiff);
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(2), 42);
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(4), 8);
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(8), 1);          // one IFD entry
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(10), 0x0112);    // Orientation
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(12), 3);         // SHORT
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(14), 1);         // count
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(18), orientation);
        var payload = Encoding.ASCII.GetBytes("Exif\0\0").Concat(tiff).ToArray();
        var segment = new byte[4 + payload.Length];
        segment[0] = 0xFF;
        segment[1] = 0xE1;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), (ushort)(payload.Length + 2));
        payload.CopyTo(segment, 4);
        return [.. jpeg[..2], .. segment, .. jpeg[2..]];
    }

    /// <summary>A PNG of only signature + IHDR (valid CRC) declaring the given size: no pixel data at all.</summary>
    public static byte[] PngHeaderOnly(uint width, uint height)
    {
        var ihdr = new byte[4 + 13];
        "IHDR"u8.CopyTo(ihdr);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(8), height);
        ihdr[12] = 8; // bit depth
        ihdr[13] = 2; // RGB
        var chunk = new byte[4 + ihdr.Length + 4];
        BinaryPrimitives.WriteUInt32BigEndian(chunk, 13);
        ihdr.CopyTo(chunk, 4);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(4 + ihdr.Length), Crc32(ihdr));
        return [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, .. chunk];
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }

        return ~crc;
    }
}
