using EdgeLabeling.Contracts;

namespace EdgeLabeling.Inference;

/// <summary>Maps boxes from model-input pixels back to the original image and clips them to it.</summary>
public static class BoxMapping
{
    /// <summary>
    /// Model input → bitmap (undo the letterbox) → original (undo scaled decoding), then clip to the original image.
    /// Returns null when the clipped box is empty or any number is not finite.
    /// </summary>
    /// <param name="candidate">Box in model-input pixels.</param>
    /// <param name="geometry">Where the bitmap was placed in the input.</param>
    /// <param name="originalPerBitmapX">Original pixels per bitmap pixel horizontally (<see cref="DecodedImage.ScaleX"/>).</param>
    /// <param name="originalPerBitmapY">Original pixels per bitmap pixel vertically.</param>
    /// <param name="original">Oriented original image size.</param>
    public static PixelBox? ToOriginal(in Candidate candidate, in LetterboxGeometry geometry,
        double originalPerBitmapX, double originalPerBitmapY, ImageSize original)
    {
        var (bx1, by1) = geometry.ToSource(candidate.X1, candidate.Y1);
        var (bx2, by2) = geometry.ToSource(candidate.X2, candidate.Y2);
        var x1 = Math.Clamp(bx1 * originalPerBitmapX, 0, original.Width);
        var y1 = Math.Clamp(by1 * originalPerBitmapY, 0, original.Height);
        var x2 = Math.Clamp(bx2 * originalPerBitmapX, 0, original.Width);
        var y2 = Math.Clamp(by2 * originalPerBitmapY, 0, original.Height);
        // Math.Clamp passes NaN through; the comparisons below are false for NaN, so such boxes are dropped.
        if (!(x2 > x1 && y2 > y1) || !double.IsFinite(candidate.Score))
        {
            return null;
        }

        return new PixelBox(candidate.ClassId, x1, y1, x2 - x1, y2 - y1, candidate.Score);
    }
}
