namespace EdgeLabeling.Inference;

/// <summary>One raw detection in model-input pixels (corner form), before NMS and mapping back to the image.</summary>
/// <param name="ClassId">Zero-based class id.</param>
/// <param name="X1">Left edge.</param>
/// <param name="Y1">Top edge.</param>
/// <param name="X2">Right edge.</param>
/// <param name="Y2">Bottom edge.</param>
/// <param name="Score">Confidence in 0..1.</param>
public readonly record struct Candidate(int ClassId, float X1, float Y1, float X2, float Y2, float Score)
{
    /// <summary>Box area (0 when degenerate).</summary>
    public float Area => Math.Max(0, X2 - X1) * Math.Max(0, Y2 - Y1);

    /// <summary>
    /// True when every number is finite, the score is within [<paramref name="floor"/>, 1] (a score above 1 means
    /// the model emits raw logits, which no supported layout does), and the box has positive area.
    /// NaN fails every comparison, so NaN scores and coordinates are rejected here without special cases.
    /// </summary>
    public bool IsUsable(float floor) =>
        Score >= floor && Score <= 1.0001f &&
        float.IsFinite(X1) && float.IsFinite(Y1) && float.IsFinite(X2) && float.IsFinite(Y2) &&
        X2 > X1 && Y2 > Y1;
}
