using System.Runtime.InteropServices;
using EdgeLabeling.Contracts;
using SkiaSharp;

namespace EdgeLabeling.Inference;

/// <summary>Limits applied by <see cref="ImageDecoder"/> before any pixel memory is allocated.</summary>
public sealed record ImageDecoderOptions
{
    /// <summary>Largest accepted width × height as declared by the file header (default 100 megapixels).</summary>
    public long MaxPixels { get; init; } = 100_000_000;

    /// <summary>
    /// Smallest accepted side in pixels (default 8). Smaller images cannot hold an object a detector could find,
    /// so they are rejected as "too-small" rather than letterboxed into a gray square that would route as "no detections".
    /// </summary>
    public int MinSide { get; init; } = 8;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the bad field.</summary>
    public void Validate()
    {
        if (MaxPixels < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPixels), MaxPixels, "MaxPixels must be at least 1.");
        }

        if (MinSide < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MinSide), MinSide, "MinSide must be at least 1.");
        }
    }
}

/// <summary>The container formats <see cref="ImageDecoder"/> recognises by magic bytes.</summary>
public enum ImageFormat
{
    /// <summary>Not an image format we know of.</summary>
    Unknown,
    Jpeg,
    Png,
    /// <summary>A real image format that is not accepted (GIF, BMP, WebP, TIFF, HEIF/AVIF).</summary>
    Other,
}

/// <summary>
/// Decodes JPEG/PNG bytes into upright 8-bit RGBA bitmaps for inference. Thread-safe: it holds only options.
/// </summary>
public sealed class ImageDecoder
{
    /// <summary>Reasons carried by <see cref="ImageRejectedException.Reason"/>.</summary>
    public static class Reasons
    {
        public const string EmptyFile = "empty-file";
        public const string NotAnImage = "not-an-image";
        public const string TruncatedImage = "truncated-image";
        public const string TooManyPixels = "too-many-pixels";
        public const string TooSmall = "too-small";
        public const string UnsupportedFormat = "unsupported-format";
    }

    private readonly ImageDecoderOptions _options;

    /// <summary>Creates a decoder with the given limits (defaults when null).</summary>
    public ImageDecoder(ImageDecoderOptions? options = null)
    {
        _options = options ?? new ImageDecoderOptions();
        _options.Validate();
    }

    /// <summary>The limits in use.</summary>
    public ImageDecoderOptions Options => _options;

    /// <summary>Identifies the format from the first bytes; the file name is never trusted.</summary>
    public static ImageFormat Sniff(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF)
        {
            return ImageFormat.Jpeg;
        }

        if (bytes.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return ImageFormat.Png;
        }

        if (bytes.StartsWith("GIF8"u8) || bytes.StartsWith("BM"u8) ||
            bytes.StartsWith((ReadOnlySpan<byte>)[(byte)'I', (byte)'I', 0x2A, 0x00]) ||
            bytes.StartsWith((ReadOnlySpan<byte>)[(byte)'M', (byte)'M', 0x00, 0x2A]) ||
            (bytes.Length >= 12 && bytes.StartsWith("RIFF"u8) && bytes[8..12].SequenceEqual("WEBP"u8)) ||
            (bytes.Length >= 12 && bytes[4..8].SequenceEqual("ftyp"u8)))
        {
            return ImageFormat.Other;
        }

        return ImageFormat.Unknown;
    }

    /// <summary>The file extension for a sniffed format ("jpg", "png"), or "bin".</summary>
    public static string ExtensionOf(ImageFormat format) => format switch
    {
        ImageFormat.Jpeg => "jpg",
        ImageFormat.Png => "png",
        _ => "bin",
    };

    /// <summary>
    /// The EXIF orientation the codec applies to these bytes (1 = stored pixels are upright, 2-8 = mirror
    /// and/or rotate; the values of the EXIF Orientation tag). 1 when the bytes carry none or cannot be read:
    /// only the header is parsed, no pixel is decoded.
    /// </summary>
    public static unsafe int ReadOrientation(ReadOnlySpan<byte> bytes)
    {
        if (Sniff(bytes) is not (ImageFormat.Jpeg or ImageFormat.Png))
        {
            return 1;
        }

        fixed (byte* start = bytes)
        {
            using var data = SKData.Create((IntPtr)start, bytes.Length);
            using var codec = SKCodec.Create(new SKMemoryStream(data), out _);
            return codec is null ? 1 : (int)codec.EncodedOrigin;
        }
    }

    /// <summary>
    /// Decodes an image at full resolution. See <see cref="Decode(ReadOnlySpan{byte}, int, int)"/>.
    /// </summary>
    public DecodedImage Decode(ReadOnlySpan<byte> bytes) => Decode(bytes, 0, 0);

    /// <summary>
    /// Decodes JPEG or PNG bytes into an upright (EXIF-oriented) RGBA 8888 bitmap. When a target (model input)
    /// size is given, JPEGs are decoded at the smallest scale the codec supports that still covers the letterbox
    /// for that target, so large frames are never expanded to full size for a small model.
    /// </summary>
    /// <param name="bytes">The complete encoded file.</param>
    /// <param name="targetWidth">Model input width, or 0 for full resolution.</param>
    /// <param name="targetHeight">Model input height, or 0 for full resolution.</param>
    /// <exception cref="ImageRejectedException">The bytes are not a usable image; see <see cref="Reasons"/>.</exception>
    public unsafe DecodedImage Decode(ReadOnlySpan<byte> bytes, int targetWidth, int targetHeight)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(targetWidth);
        ArgumentOutOfRangeException.ThrowIfNegative(targetHeight);
        if (bytes.IsEmpty)
        {
            throw new ImageRejectedException(Reasons.EmptyFile, "The file is empty (0 bytes).");
        }

        var format = Sniff(bytes);
        switch (format)
        {
            case ImageFormat.Unknown:
                throw new ImageRejectedException(Reasons.NotAnImage,
                    $"The content is not a JPEG or PNG image (first bytes: {Convert.ToHexString(bytes[..Math.Min(8, bytes.Length)])}).");
            case ImageFormat.Other:
                throw new ImageRejectedException(Reasons.UnsupportedFormat,
                    "The content is an image format other than JPEG or PNG; only JPEG and PNG are accepted.");
        }

        // The PNG header is checked by hand too: the limit must hold even if the codec itself balks at the size.
        if (format == ImageFormat.Png && TryReadPngSize(bytes, out var pngWidth, out var pngHeight))
        {
            CheckPixelLimit(pngWidth, pngHeight);
        }

        // The codec reads the caller's bytes in place (pinned for the whole decode) rather than a native copy:
        // a per-frame copy was one more large malloc on a pool thread (see PooledBitmap for why that matters).
        fixed (byte* start = bytes)
        {
            return Decode(bytes, start, format, targetWidth, targetHeight);
        }
    }

    private unsafe DecodedImage Decode(ReadOnlySpan<byte> bytes, byte* start, ImageFormat format, int targetWidth, int targetHeight)
    {
        using var data = SKData.Create((IntPtr)start, bytes.Length);
        // The codec takes ownership of the stream (and Skia frees it when creation fails).
        using var codec = SKCodec.Create(new SKMemoryStream(data), out var createResult);
        if (codec is null)
        {
            throw createResult == SKCodecResult.IncompleteInput
                ? new ImageRejectedException(Reasons.TruncatedImage, $"The {ExtensionOf(format)} file ends before its header is complete.")
                : new ImageRejectedException(Reasons.NotAnImage, $"The {ExtensionOf(format)} header cannot be read ({createResult}).");
        }

        var info = codec.Info;
        CheckPixelLimit(info.Width, info.Height);
        var origin = codec.EncodedOrigin;
        var swapsAxes = SwapsAxes(origin);
        var oriented = swapsAxes ? new ImageSize(info.Height, info.Width) : new ImageSize(info.Width, info.Height);
        if (Math.Min(oriented.Width, oriented.Height) < _options.MinSide)
        {
            throw new ImageRejectedException(Reasons.TooSmall,
                $"The image is {oriented.Width}×{oriented.Height} px; the smallest accepted side is {_options.MinSide} px.");
        }

        var decodeSize = ChooseDecodeSize(codec, info.Width, info.Height, swapsAxes, targetWidth, targetHeight);
        var decodeInfo = new SKImageInfo(decodeSize.Width, decodeSize.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        var bitmap = PooledBitmap.Create(decodeInfo);
        try
        {
            var result = codec.GetPixels(decodeInfo, bitmap.GetPixels());
            switch (result)
            {
                case SKCodecResult.Success:
                    break;
                case SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput:
                    throw new ImageRejectedException(Reasons.TruncatedImage,
                        $"The {ExtensionOf(format)} data is cut off or corrupt ({result}); only part of the image could be decoded.");
                default:
                    throw new ImageRejectedException(Reasons.NotAnImage,
                        $"The {ExtensionOf(format)} data could not be decoded ({result}).");
            }

            var upright = Orient(bitmap, origin);
            if (!ReferenceEquals(upright, bitmap))
            {
                bitmap.Dispose();
            }

            return new DecodedImage(upright, oriented);
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    private void CheckPixelLimit(long width, long height)
    {
        if (width * height > _options.MaxPixels)
        {
            throw new ImageRejectedException(Reasons.TooManyPixels,
                $"The header declares {width}×{height} = {width * height:N0} pixels; the limit is {_options.MaxPixels:N0}.");
        }
    }

    private static bool TryReadPngSize(ReadOnlySpan<byte> bytes, out long width, out long height)
    {
        // Signature (8) + IHDR length (4) + "IHDR" (4) + width (4) + height (4).
        width = height = 0;
        if (bytes.Length < 24 || !bytes[12..16].SequenceEqual("IHDR"u8))
        {
            return false;
        }

        width = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes[16..20]);
        height = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes[20..24]);
        return true;
    }

    private static bool SwapsAxes(SKEncodedOrigin origin) =>
        origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;

    /// <summary>
    /// Picks the smallest codec-supported size (in stored, unrotated axes) that still covers the letterboxed
    /// size for the target, so the later resize only ever shrinks.
    /// </summary>
    private static SKSizeI ChooseDecodeSize(SKCodec codec, int width, int height, bool swapsAxes, int targetWidth, int targetHeight)
    {
        var full = new SKSizeI(width, height);
        if (targetWidth <= 0 || targetHeight <= 0)
        {
            return full;
        }

        var (tw, th) = swapsAxes ? (targetHeight, targetWidth) : (targetWidth, targetHeight);
        var scale = Math.Min((double)tw / width, (double)th / height);
        if (scale >= 1)
        {
            return full;
        }

        var neededWidth = (int)Math.Ceiling(width * scale);
        var neededHeight = (int)Math.Ceiling(height * scale);
        // JPEG supports n/8 scales; other codecs answer the full size for every request.
        for (var eighths = 1; eighths < 8; eighths++)
        {
            var candidate = codec.GetScaledDimensions(eighths / 8f);
            if (candidate.Width >= neededWidth && candidate.Height >= neededHeight &&
                candidate.Width <= width && candidate.Height <= height)
            {
                return candidate;
            }
        }

        return full;
    }

    /// <summary>Applies the EXIF orientation so that pixel (0,0) is the top-left of the upright scene.</summary>
    private static SKBitmap Orient(SKBitmap source, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft)
        {
            return source;
        }

        int w = source.Width, h = source.Height;
        var swap = SwapsAxes(origin);
        int ow = swap ? h : w, oh = swap ? w : h;
        var target = PooledBitmap.Create(new SKImageInfo(ow, oh, source.ColorType, source.AlphaType));
        var src = MemoryMarshal.Cast<byte, uint>(source.GetPixelSpan());
        var dst = MemoryMarshal.Cast<byte, uint>(target.GetPixelSpan());
        // Each EXIF transform is affine in (x, y): the upright pixel is (ax + bx·x + cx·y, ay + by·x + cy·y),
        // so its linear index is start + x·stepX + y·stepY and the copy needs no per-pixel branching.
        var (ax, bx, cx, ay, by, cy) = origin switch
        {
            SKEncodedOrigin.TopRight => (w - 1, -1, 0, 0, 0, 1),
            SKEncodedOrigin.BottomRight => (w - 1, -1, 0, h - 1, 0, -1),
            SKEncodedOrigin.BottomLeft => (0, 1, 0, h - 1, 0, -1),
            SKEncodedOrigin.LeftTop => (0, 0, 1, 0, 1, 0),
            SKEncodedOrigin.RightTop => (h - 1, 0, -1, 0, 1, 0),
            SKEncodedOrigin.RightBottom => (h - 1, 0, -1, w - 1, -1, 0),
            SKEncodedOrigin.LeftBottom => (0, 0, 1, w - 1, -1, 0),
            _ => (0, 1, 0, 0, 0, 1),
        };
        var start = ay * ow + ax;
        var stepX = by * ow + bx;
        var stepY = cy * ow + cx;
        for (var y = 0; y < h; y++)
        {
            var row = src.Slice(y * w, w);
            var index = start + y * stepY;
            for (var x = 0; x < w; x++, index += stepX)
            {
                dst[index] = row[x];
            }
        }

        return target;
    }
}
