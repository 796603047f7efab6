using System.Runtime.InteropServices;
using SkiaSharp;

namespace EdgeLabeling.Inference;

/// <summary>
/// Where a source bitmap lands inside the model input: scaled by <see cref="ScaleX"/>/<see cref="ScaleY"/>
/// (equal up to rounding to whole pixels) and offset by the centered padding. Pure geometry, no pixels.
/// </summary>
/// <param name="SourceWidth">Bitmap width in pixels.</param>
/// <param name="SourceHeight">Bitmap height in pixels.</param>
/// <param name="InputWidth">Model input width in pixels.</param>
/// <param name="InputHeight">Model input height in pixels.</param>
/// <param name="ResizedWidth">Width of the scaled bitmap inside the input.</param>
/// <param name="ResizedHeight">Height of the scaled bitmap inside the input.</param>
/// <param name="PadLeft">Gray columns left of the scaled bitmap.</param>
/// <param name="PadTop">Gray rows above the scaled bitmap.</param>
public readonly record struct LetterboxGeometry(
    int SourceWidth, int SourceHeight, int InputWidth, int InputHeight,
    int ResizedWidth, int ResizedHeight, int PadLeft, int PadTop)
{
    /// <summary>Input pixels per source pixel, horizontally (exactly what was drawn).</summary>
    public double ScaleX => (double)ResizedWidth / SourceWidth;

    /// <summary>Input pixels per source pixel, vertically (exactly what was drawn).</summary>
    public double ScaleY => (double)ResizedHeight / SourceHeight;

    /// <summary>
    /// Fits a source of the given size into the input keeping aspect ratio (never rounding a side down to 0),
    /// centered; odd padding puts the extra pixel right/bottom.
    /// </summary>
    public static LetterboxGeometry Fit(int sourceWidth, int sourceHeight, int inputWidth, int inputHeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputHeight, 1);
        var scale = Math.Min((double)inputWidth / sourceWidth, (double)inputHeight / sourceHeight);
        var resizedWidth = Math.Clamp((int)Math.Round(sourceWidth * scale), 1, inputWidth);
        var resizedHeight = Math.Clamp((int)Math.Round(sourceHeight * scale), 1, inputHeight);
        return new LetterboxGeometry(sourceWidth, sourceHeight, inputWidth, inputHeight, resizedWidth, resizedHeight,
            (inputWidth - resizedWidth) / 2, (inputHeight - resizedHeight) / 2);
    }

    /// <summary>Source pixel coordinate → input pixel coordinate.</summary>
    public (double X, double Y) ToInput(double x, double y) => (x * ScaleX + PadLeft, y * ScaleY + PadTop);

    /// <summary>Input pixel coordinate → source pixel coordinate (exact inverse of <see cref="ToInput"/>).</summary>
    public (double X, double Y) ToSource(double x, double y) => ((x - PadLeft) / ScaleX, (y - PadTop) / ScaleY);
}

/// <summary>
/// Letterboxes decoded images into a preallocated model input buffer: aspect-preserving resize, centered,
/// padded with gray 114 (the Ultralytics training value, so padding looks like what the model saw in training).
/// An instance owns a scratch bitmap of the input size and is not thread-safe; use one per thread.
/// </summary>
public sealed class Letterbox : IDisposable
{
    /// <summary>Padding gray level (0..255).</summary>
    public const byte PadValue = 114;

    private readonly SKBitmap _canvas;
    // Bilinear like the cv2.resize the models are trained with; beyond 2× shrink (large PNGs, which cannot be
    // scaled while decoding) bilinear skips most source pixels and aliases, so mipmaps are used there.
    private static readonly SKSamplingOptions Bilinear = new(SKFilterMode.Linear, SKMipmapMode.None);
    private static readonly SKSamplingOptions Mipmapped = new(SKFilterMode.Linear, SKMipmapMode.Linear);

    /// <summary>Creates a letterbox for a model input of the given size.</summary>
    public Letterbox(int inputWidth, int inputHeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputHeight, 1);
        InputWidth = inputWidth;
        InputHeight = inputHeight;
        _canvas = new SKBitmap(new SKImageInfo(inputWidth, inputHeight, SKColorType.Rgba8888, SKAlphaType.Premul));
    }

    /// <summary>Model input width.</summary>
    public int InputWidth { get; }

    /// <summary>Model input height.</summary>
    public int InputHeight { get; }

    /// <summary>Fills <paramref name="chw"/> (length 3·H·W) with planar RGB in 0..1.</summary>
    public LetterboxGeometry FillChw(SKBitmap source, Span<float> chw)
    {
        var plane = InputWidth * InputHeight;
        if (chw.Length != 3 * plane)
        {
            throw new ArgumentException($"The CHW buffer has {chw.Length} floats; 3×{InputHeight}×{InputWidth} = {3 * plane} are needed.", nameof(chw));
        }

        var geometry = Render(source);
        var pixels = MemoryMarshal.Cast<byte, uint>(_canvas.GetPixelSpan());
        var r = chw[..plane];
        var g = chw.Slice(plane, plane);
        var b = chw.Slice(2 * plane, plane);
        const float inv = 1f / 255f;
        for (var i = 0; i < plane; i++)
        {
            // Rgba8888 is R in the lowest byte on little-endian.
            var p = pixels[i];
            r[i] = (p & 0xFF) * inv;
            g[i] = ((p >> 8) & 0xFF) * inv;
            b[i] = ((p >> 16) & 0xFF) * inv;
        }

        return geometry;
    }

    /// <summary>Fills <paramref name="nhwc"/> (length H·W·3) with interleaved RGB bytes (TF/SSD-style inputs).</summary>
    public LetterboxGeometry FillNhwc(SKBitmap source, Span<byte> nhwc)
    {
        var plane = InputWidth * InputHeight;
        if (nhwc.Length != 3 * plane)
        {
            throw new ArgumentException($"The NHWC buffer has {nhwc.Length} bytes; {InputHeight}×{InputWidth}×3 = {3 * plane} are needed.", nameof(nhwc));
        }

        var geometry = Render(source);
        var pixels = _canvas.GetPixelSpan();
        for (var i = 0; i < plane; i++)
        {
            nhwc[3 * i] = pixels[4 * i];
            nhwc[3 * i + 1] = pixels[4 * i + 1];
            nhwc[3 * i + 2] = pixels[4 * i + 2];
        }

        return geometry;
    }

    /// <summary>Draws the source into the scratch canvas and returns where it went.</summary>
    private LetterboxGeometry Render(SKBitmap source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.ColorType is not (SKColorType.Rgba8888 or SKColorType.Bgra8888))
        {
            throw new ArgumentException($"The bitmap is {source.ColorType}; Rgba8888 or Bgra8888 is required.", nameof(source));
        }

        var geometry = LetterboxGeometry.Fit(source.Width, source.Height, InputWidth, InputHeight);
        _canvas.Erase(new SKColor(PadValue, PadValue, PadValue));
        using var canvasPixmap = _canvas.PeekPixels();
        using var target = canvasPixmap.ExtractSubset(
            SKRectI.Create(geometry.PadLeft, geometry.PadTop, geometry.ResizedWidth, geometry.ResizedHeight))
            ?? throw new InvalidOperationException("The letterbox area lies outside the input canvas.");
        using var sourcePixmap = source.PeekPixels();
        // ScalePixels converts Bgra to the canvas's Rgba while resampling.
        var sampling = geometry.ScaleX < 0.5 || geometry.ScaleY < 0.5 ? Mipmapped : Bilinear;
        if (!sourcePixmap.ScalePixels(target, sampling))
        {
            throw new InvalidOperationException($"Skia could not scale a {source.Width}×{source.Height} {source.ColorType} bitmap.");
        }

        return geometry;
    }

    public void Dispose() => _canvas.Dispose();
}
