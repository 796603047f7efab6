using System.Runtime.InteropServices;
using SkiaSharp;

namespace EdgeLabeling.Inference;

/// <summary>
/// Bitmaps whose pixels live in pinned managed arrays from a small bounded pool instead of Skia's malloc. Every
/// decoded frame needs a fresh pixel buffer of a few hundred kilobytes to a few megabytes, made on one pool thread
/// and freed on another; through glibc that raises the dynamic mmap threshold and leaves each thread's malloc arena
/// holding freed frames, so resident memory grew by tens of megabytes over a run. Pooled buffers are reused
/// across frames, and disposing the bitmap returns them.
/// </summary>
internal static class PooledBitmap
{
    // About the number of frames in flight in a labeling run (read-ahead, pipeline, the frame being routed).
    private static readonly BoundedBufferPool Pool = new(maxRetained: 8, pinned: true);

    private static readonly SKBitmapReleaseDelegate Release = (_, context) => Pool.Return((byte[])context);

    /// <summary>A bitmap of <paramref name="info"/> (tightly packed rows); pixel contents are undefined until written.</summary>
    public static SKBitmap Create(SKImageInfo info)
    {
        var buffer = Pool.Rent(info.BytesSize);
        var bitmap = new SKBitmap();
        // The array is on the pinned object heap, so its address stays valid for as long as Skia holds it.
        var address = Marshal.UnsafeAddrOfPinnedArrayElement(buffer, 0);
        if (!bitmap.InstallPixels(info, address, info.RowBytes, Release, buffer))
        {
            // Skia calls the release procedure itself when installing fails, so only the empty bitmap is left.
            bitmap.Dispose();
            throw new InvalidOperationException($"Skia refused a {info.Width}×{info.Height} {info.ColorType} pixel buffer.");
        }

        return bitmap;
    }
}
