namespace EdgeLabeling.Contracts;

/// <summary>
/// Geometry of <see cref="PixelBox"/>, next to the type so every side (the merge's agreement, the evaluation's
/// matching) measures overlap the same way without one referencing the other.
/// </summary>
public static class BoxMath
{
    /// <summary>Intersection over union of two boxes; 0 when they do not overlap or both are empty.</summary>
    public static double IoU(in PixelBox a, in PixelBox b)
    {
        var iw = Math.Min(a.Right, b.Right) - Math.Max(a.Left, b.Left);
        var ih = Math.Min(a.Bottom, b.Bottom) - Math.Max(a.Top, b.Top);
        if (iw <= 0 || ih <= 0)
        {
            return 0;
        }

        var inter = iw * ih;
        var union = a.Area + b.Area - inter;
        return union <= 0 ? 0 : inter / union;
    }
}
