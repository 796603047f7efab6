using System.Buffers.Binary;
using System.Text;
using EdgeLabeling.Contracts;
using SkiaSharp;

namespace EdgeLabeling.TestSupport;

/// <summary>A colored rectangle of a test scene, in pixels of the upright image.</summary>
public sealed record SceneBlock(int ClassId, SKColor Color, SKRectI Rect)
{
    public PixelBox Box(double confidence) => new(ClassId, Rect.Left, Rect.Top, Rect.Width, Rect.Height, confidence);
}

/// <summary>
/// Test images whose stored pixels need an EXIF Orientation (1-8) to look upright, built in code so CI needs
/// no image tool: the upright scene is drawn, the stored pixels are its inverse transform, and a minimal
/// EXIF APP1 segment with only the Orientation tag is written by hand (SkiaSharp cannot write EXIF).
/// </summary>
public static class OrientedTestImages
{
    public static readonly SKColor Background = new(128, 128, 128);

    /// <summary>Where a stored pixel appears once the viewer applies the orientation (EXIF 2.32, tag 0x0112).</summary>
    /// <param name="w">Stored width.</param>
    /// <param name="h">Stored height.</param>
    public static (int X, int Y) StoredToUpright(int orientation, int x, int y, int w, int h) => orientation switch
    {
        1 => (x, y),
        2 => (w - 1 - x, y),             // mirrored left-right
        3 => (w - 1 - x, h - 1 - y),     // rotated 180°
        4 => (x, h - 1 - y),             // mirrored top-bottom
        5 => (y, x),                     // transposed
        6 => (h - 1 - y, x),             // shown rotated 90° clockwise
        7 => (h - 1 - y, w - 1 - x),     // transversed
        8 => (y, w - 1 - x),             // shown rotated 90° counter-clockwise
        _ => throw new ArgumentOutOfRangeException(nameof(orientation), orientation, "EXIF orientation is 1-8"),
    };

    /// <summary>A gray upright scene with the blocks drawn on it.</summary>
    public static SKBitmap Scene(int width, int height, IEnumerable<SceneBlock> blocks)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(Background);
        foreach (var block in blocks)
        {
            using var paint = new SKPaint { Color = block.Color };
            canvas.DrawRect(block.Rect, paint);
        }

        return bitmap;
    }

    /// <summary>JPEG bytes whose stored pixels, shown with the given orientation, are the upright scene.</summary>
    public static byte[] OrientedJpeg(SKBitmap upright, int orientation, int quality = 95)
    {
        var swap = orientation >= 5;
        int w = swap ? upright.Height : upright.Width, h = swap ? upright.Width : upright.Height;
        using var stored = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var (ux, uy) = StoredToUpright(orientation, x, y, w, h);
                stored.SetPixel(x, y, upright.GetPixel(ux, uy));
            }
        }

        using var image = SKImage.FromBitmap(stored);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, quality);
        return WithExifOrientation(data.ToArray(), (ushort)orientation);
    }

    /// <summary>The JPEG cut in the middle of its entropy-coded data: the header (and EXIF tag) still reads, the pixels do not.</summary>
    public static byte[] CutInScan(byte[] jpeg)
    {
        var sos = jpeg.AsSpan().IndexOf((ReadOnlySpan<byte>)[0xFF, 0xDA]);
        return sos < 0 ? throw new ArgumentException("no SOS marker", nameof(jpeg)) : jpeg[..(sos + ((jpeg.Length - sos) / 2))];
    }

    /// <summary>Inserts an EXIF APP1 segment holding only the Orientation tag right after the JPEG SOI marker.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        var tiff = new byte[8 + 2 + 12 + 4];
        "II"u8.CopyTo(tiff);
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(2), 42);
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(4), 8);          // IFD0 offset
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(8), 1);          // one entry
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

    /// <summary>A PNG of the bitmap with an eXIf chunk (Orientation tag only) right after IHDR.</summary>
    public static byte[] PngWithExifOrientation(SKBitmap bitmap, ushort orientation)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        var png = data.ToArray();
        byte[] tiff = [(byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, (byte)(orientation >> 8), (byte)orientation, 0, 0, 0, 0, 0, 0];
        var chunk = new byte[12 + tiff.Length];
        BinaryPrimitives.WriteUInt32BigEndian(chunk, (uint)tiff.Length);
        "eXIf"u8.CopyTo(chunk.AsSpan(4));
        tiff.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + tiff.Length), Crc32(chunk.AsSpan(4, 4 + tiff.Length)));
        const int afterIhdr = 8 + 25;
        return [.. png[..afterIhdr], .. chunk, .. png[afterIhdr..]];
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var c = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            c ^= b;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
        }

        return ~c;
    }

    /// <summary>The pixels exactly as stored, with no orientation applied: what a page that controls rotation shows.</summary>
    public static SKBitmap StoredPixels(ReadOnlySpan<byte> encoded)
    {
        using var codec = SKCodec.Create(new SKMemoryStream(SKData.CreateCopy(encoded))) ?? throw new InvalidOperationException("not an image");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        return result == SKCodecResult.Success ? bitmap : throw new InvalidOperationException($"decode failed: {result}");
    }

    /// <summary>The EXIF orientation SkiaSharp's codec reads from the bytes (1 when there is none).</summary>
    public static int OrientationOf(ReadOnlySpan<byte> encoded)
    {
        using var codec = SKCodec.Create(new SKMemoryStream(SKData.CreateCopy(encoded))) ?? throw new InvalidOperationException("not an image");
        return (int)codec.EncodedOrigin;
    }

    /// <summary>
    /// The share of the box's inner pixels (a 25 % margin trimmed off each side, so a box a few pixels off
    /// its block still samples only the block) that are close to the color.
    /// </summary>
    public static double ShareOfColor(SKBitmap pixels, PixelBox box, SKColor color)
    {
        var x0 = (int)Math.Floor(box.Left + box.Width * 0.25);
        var x1 = (int)Math.Ceiling(box.Left + box.Width * 0.75);
        var y0 = (int)Math.Floor(box.Top + box.Height * 0.25);
        var y1 = (int)Math.Ceiling(box.Top + box.Height * 0.75);
        int hits = 0, total = 0;
        for (var y = Math.Max(0, y0); y < Math.Min(pixels.Height, y1); y++)
        {
            for (var x = Math.Max(0, x0); x < Math.Min(pixels.Width, x1); x++)
            {
                total++;
                var p = pixels.GetPixel(x, y);
                if (Math.Abs(p.Red - color.Red) < 48 && Math.Abs(p.Green - color.Green) < 48 && Math.Abs(p.Blue - color.Blue) < 48)
                {
                    hits++;
                }
            }
        }

        return total == 0 ? 0 : (double)hits / total;
    }

    /// <summary>The bounding box of the pixels close to the color (what a labeler draws around the object), or null.</summary>
    public static PixelBox? FindBlock(SKBitmap pixels, int classId, SKColor color)
    {
        int minX = int.MaxValue, minY = int.MaxValue, maxX = -1, maxY = -1;
        for (var y = 0; y < pixels.Height; y++)
        {
            for (var x = 0; x < pixels.Width; x++)
            {
                var p = pixels.GetPixel(x, y);
                if (Math.Abs(p.Red - color.Red) < 48 && Math.Abs(p.Green - color.Green) < 48 && Math.Abs(p.Blue - color.Blue) < 48)
                {
                    (minX, minY, maxX, maxY) = (Math.Min(minX, x), Math.Min(minY, y), Math.Max(maxX, x), Math.Max(maxY, y));
                }
            }
        }

        return maxX < 0 ? null : new PixelBox(classId, minX, minY, maxX - minX + 1, maxY - minY + 1, 1.0);
    }
}

/// <summary>
/// A detector double that finds the scene's blocks by color in the image it is given (the upright, decoded
/// frame the labeler hands every detector), so its boxes are right only if that frame is.
/// </summary>
public sealed class BlockDetector(IReadOnlyList<(SceneBlock Block, double Confidence)> blocks, params string[] classNames) : EdgeLabeling.Inference.IDetector
{
    public EdgeLabeling.Inference.DetectorInfo Info { get; } = new("/models/blocks.onnx", new string('b', 64), 320, 320, classNames.Length == 0 ? ["red", "blue"] : classNames, "fake");

    public IReadOnlyList<PixelBox> Detect(EdgeLabeling.Inference.DecodedImage image)
    {
        var found = new List<PixelBox>();
        foreach (var (block, confidence) in blocks)
        {
            if (OrientedTestImages.FindBlock(image.Bitmap, block.ClassId, block.Color) is { } box)
            {
                found.Add(new PixelBox(block.ClassId, box.Left * image.ScaleX, box.Top * image.ScaleY, box.Width * image.ScaleX, box.Height * image.ScaleY, confidence));
            }
        }

        return found;
    }

    public void Dispose()
    {
    }
}
