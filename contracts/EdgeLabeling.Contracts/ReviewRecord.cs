using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeLabeling.Contracts;

/// <summary>Where a label came from and under which settings; travels with every record.</summary>
public sealed record Provenance
{
    /// <summary>"model" or "human".</summary>
    [JsonPropertyName("source")] public required string Source { get; init; }
    [JsonPropertyName("model-sha256")] public string? ModelSha256 { get; init; }
    [JsonPropertyName("model-name")] public string? ModelName { get; init; }
    [JsonPropertyName("device")] public string? Device { get; init; }
    [JsonPropertyName("auto-accept-threshold")] public double? AutoAcceptThreshold { get; init; }
    [JsonPropertyName("uncertain-low")] public double? UncertainLow { get; init; }
    [JsonPropertyName("job-name")] public string? JobName { get; init; }
    [JsonPropertyName("policy-version")] public string? PolicyVersion { get; init; }
}

/// <summary>One model box as the edge saw it: pixels of the oriented original image.</summary>
public sealed record PreAnnotation
{
    [JsonPropertyName("class_id")] public required int ClassId { get; init; }
    [JsonPropertyName("left")] public required double Left { get; init; }
    [JsonPropertyName("top")] public required double Top { get; init; }
    [JsonPropertyName("width")] public required double Width { get; init; }
    [JsonPropertyName("height")] public required double Height { get; init; }
    [JsonPropertyName("confidence")] public required double Confidence { get; init; }

    public static PreAnnotation From(PixelBox b) => new() { ClassId = b.ClassId, Left = b.Left, Top = b.Top, Width = b.Width, Height = b.Height, Confidence = b.Confidence };

    public PixelBox ToPixelBox() => new(ClassId, Left, Top, Width, Height, Confidence);
}

/// <summary>
/// The sidecar JSON uploaded beside every image that goes to people
/// (<c>{imageKey}.json</c>): the model's boxes as pre-annotations, why it was routed, and provenance.
/// </summary>
public sealed record ReviewRecord
{
    public const int CurrentSchemaVersion = 1;

    /// <summary>Sidecars larger than this are refused by the cloud ingest.</summary>
    public const int MaxSidecarBytes = 256 * 1024;

    [JsonPropertyName("schema-version")] public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    [JsonPropertyName("image-sha256")] public required string ImageSha256 { get; init; }
    [JsonPropertyName("image-key")] public required string ImageKey { get; init; }
    [JsonPropertyName("thing-name")] public required string ThingName { get; init; }
    [JsonPropertyName("camera")] public string? Camera { get; init; }
    [JsonPropertyName("original-file")] public string? OriginalFile { get; init; }
    [JsonPropertyName("capture-time")] public required DateTimeOffset CaptureTime { get; init; }
    [JsonPropertyName("image-size")] public required ImageSizeDto ImageSize { get; init; }
    [JsonPropertyName("outcome")] public required string Outcome { get; init; }
    [JsonPropertyName("reason")] public required string Reason { get; init; }
    [JsonPropertyName("class-names")] public required IReadOnlyList<string> ClassNames { get; init; }
    [JsonPropertyName("pre-annotations")] public required IReadOnlyList<PreAnnotation> PreAnnotations { get; init; }
    [JsonPropertyName("provenance")] public required Provenance Provenance { get; init; }

    public byte[] ToUtf8Json() => JsonSerializer.SerializeToUtf8Bytes(this, ContractsJsonContext.Default.ReviewRecord);

    /// <summary>Parses and validates a sidecar; throws <see cref="FormatException"/> naming the problem.</summary>
    public static ReviewRecord Parse(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxSidecarBytes)
        {
            throw new FormatException($"sidecar is {utf8.Length} bytes, over the {MaxSidecarBytes}-byte limit");
        }

        ReviewRecord? r;
        try
        {
            r = JsonSerializer.Deserialize(utf8, ContractsJsonContext.Default.ReviewRecord);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"sidecar is not a valid review record: {ex.Message}", ex);
        }

        if (r is null)
        {
            throw new FormatException("sidecar is JSON null");
        }

        if (r.SchemaVersion != CurrentSchemaVersion)
        {
            throw new FormatException($"sidecar schema-version {r.SchemaVersion} is not supported (expected {CurrentSchemaVersion})");
        }

        foreach (var p in r.PreAnnotations)
        {
            if ((uint)p.ClassId >= (uint)r.ClassNames.Count || !(double.IsFinite(p.Left) && double.IsFinite(p.Top) && double.IsFinite(p.Width) && double.IsFinite(p.Height)) || p.Width <= 0 || p.Height <= 0)
            {
                throw new FormatException($"sidecar pre-annotation (class {p.ClassId}) is invalid");
            }
        }

        return r;
    }
}

public sealed record ImageSizeDto
{
    [JsonPropertyName("width")] public required int Width { get; init; }
    [JsonPropertyName("height")] public required int Height { get; init; }
    [JsonPropertyName("depth")] public int Depth { get; init; } = 3;

    /// <summary>A sidecar without "depth" deserializes to 0 (source-generated init), which means the RGB default.</summary>
    public ImageSize ToImageSize() => new(Width, Height, Depth == 0 ? 3 : Depth);

    public static ImageSizeDto From(ImageSize s) => new() { Width = s.Width, Height = s.Height, Depth = s.Depth };
}

/// <summary>The label category configuration file Ground Truth reads (document-version 2018-11-28).</summary>
public sealed record LabelCategoryConfig
{
    public const string DocumentVersion = "2018-11-28";

    [JsonPropertyName("document-version")] public string Version { get; init; } = DocumentVersion;
    [JsonPropertyName("labels")] public required IReadOnlyList<LabelCategory> Labels { get; init; }

    public static LabelCategoryConfig FromClassNames(IReadOnlyList<string> names)
    {
        if (names.Count is < 1 or > 50)
        {
            throw new ArgumentException($"bounding-box jobs need 1-50 labels, got {names.Count}");
        }

        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
        {
            throw new ArgumentException("label names must be unique");
        }

        return new LabelCategoryConfig { Labels = names.Select(n => new LabelCategory { Label = n }).ToList() };
    }
}

public sealed record LabelCategory
{
    [JsonPropertyName("label")] public required string Label { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ReviewRecord))]
[JsonSerializable(typeof(LabelCategoryConfig))]
[JsonSerializable(typeof(Provenance))]
public partial class ContractsJsonContext : JsonSerializerContext;
