namespace EdgeLabeling.Contracts;

/// <summary>One detected or labeled object, in pixels of the original image, origin top-left.</summary>
public readonly record struct PixelBox(int ClassId, double Left, double Top, double Width, double Height, double Confidence)
{
    public double Right => Left + Width;
    public double Bottom => Top + Height;
    public double Area => Width * Height;
}

/// <summary>Size of the image the boxes refer to (after EXIF orientation is applied).</summary>
public readonly record struct ImageSize(int Width, int Height, int Depth = 3);

/// <summary>What the edge decided for one image.</summary>
public enum RoutingOutcome
{
    AutoLabel,
    HumanReview,
    Audit,
    Duplicate,
    Quarantine,
}

public static class RoutingOutcomeNames
{
    public static string ToWire(this RoutingOutcome outcome) => outcome switch
    {
        RoutingOutcome.AutoLabel => "auto-label",
        RoutingOutcome.HumanReview => "human-review",
        RoutingOutcome.Audit => "audit",
        RoutingOutcome.Duplicate => "duplicate",
        RoutingOutcome.Quarantine => "quarantine",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "unknown routing outcome"),
    };

    public static RoutingOutcome FromWire(string value) => value switch
    {
        "auto-label" => RoutingOutcome.AutoLabel,
        "human-review" => RoutingOutcome.HumanReview,
        "audit" => RoutingOutcome.Audit,
        "duplicate" => RoutingOutcome.Duplicate,
        "quarantine" => RoutingOutcome.Quarantine,
        _ => throw new FormatException($"unknown routing outcome '{value}'"),
    };

    /// <summary>Outcomes whose image must reach people (and so S3).</summary>
    public static bool NeedsPeople(this RoutingOutcome outcome) =>
        outcome is RoutingOutcome.HumanReview or RoutingOutcome.Audit;
}
