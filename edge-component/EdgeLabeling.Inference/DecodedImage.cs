using EdgeLabeling.Contracts;
using SkiaSharp;

namespace EdgeLabeling.Inference;

/// <summary>
/// An image decoded for inference, already rotated per EXIF orientation. <see cref="Bitmap"/> may be
/// smaller than the original (scaled JPEG decoding when the model input is much smaller); boxes are
/// always mapped back to <see cref="OriginalSize"/> using <see cref="ScaleX"/>/<see cref="ScaleY"/>.
/// </summary>
public sealed class DecodedImage(SKBitmap bitmap, ImageSize originalSize) : IDisposable
{
    /// <summary>Pixels, RGBA/BGRA 8888, oriented. Owned by this object.</summary>
    public SKBitmap Bitmap { get; } = bitmap;

    /// <summary>Size of the oriented original image (what labels refer to).</summary>
    public ImageSize OriginalSize { get; } = originalSize;

    /// <summary>Original pixels per bitmap pixel, horizontally.</summary>
    public double ScaleX => (double)OriginalSize.Width / Bitmap.Width;

    /// <summary>Original pixels per bitmap pixel, vertically.</summary>
    public double ScaleY => (double)OriginalSize.Height / Bitmap.Height;

    public void Dispose() => Bitmap.Dispose();
}

/// <summary>An input that cannot be used, with a short machine-readable reason (e.g. "truncated-jpeg").</summary>
public sealed class ImageRejectedException(string reason, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Reason { get; } = reason;
}

/// <summary>A model that cannot be used (not ONNX, unsupported signature, bad labels file).</summary>
public sealed class ModelLoadException(string message, Exception? inner = null) : Exception(message, inner);
