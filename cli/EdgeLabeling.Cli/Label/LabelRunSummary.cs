using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeLabeling.Routing;

namespace EdgeLabeling.Cli.Label;

/// <summary>What a labeling run did: written to OUTPUT/summary.json and printed by <c>edgelabel label --json</c>.</summary>
public sealed record LabelRunSummary
{
    /// <summary>Image files decided (one decision each).</summary>
    [JsonPropertyName("images")] public int Images { get; init; }

    /// <summary>Other files in the input (not image extensions), left alone.</summary>
    [JsonPropertyName("skipped-files")] public int Skipped { get; init; }

    [JsonPropertyName("auto-label")] public int AutoLabel { get; init; }
    [JsonPropertyName("human-review")] public int HumanReview { get; init; }
    [JsonPropertyName("audit")] public int Audit { get; init; }
    [JsonPropertyName("duplicate")] public int Duplicate { get; init; }
    [JsonPropertyName("quarantine")] public int Quarantine { get; init; }

    /// <summary>Boxes kept in auto-label, review and audit records.</summary>
    [JsonPropertyName("detections")] public int Detections { get; init; }

    /// <summary>Reason → number of images (uncertain reasons grouped as "uncertain:{class}").</summary>
    [JsonPropertyName("reasons")] public required SortedDictionary<string, int> Reasons { get; init; }

    [JsonPropertyName("started-at")] public DateTimeOffset StartedAt { get; init; }
    [JsonPropertyName("elapsed-seconds")] public double ElapsedSeconds { get; init; }
    [JsonPropertyName("images-per-second")] public double ImagesPerSecond { get; init; }

    /// <summary>Seconds spent in the serial stage (duplicate check + inference + routing + writing).</summary>
    [JsonPropertyName("write-seconds")] public double WriteSeconds { get; init; }

    [JsonPropertyName("threads")] public int Threads { get; init; }

    /// <summary>Model runs in flight at once on the one session.</summary>
    [JsonPropertyName("concurrentRuns")] public int ConcurrentRuns { get; init; } = 1;
    [JsonPropertyName("model")] public required LabelRunModel Model { get; init; }
    [JsonPropertyName("options")] public required RoutingOptions Options { get; init; }
    [JsonPropertyName("input")] public required string Input { get; init; }
    [JsonPropertyName("output")] public required string Output { get; init; }

    /// <summary>Serializes as indented JSON (the summary.json format).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, LabelRunJsonContext.Default.LabelRunSummary);

    /// <summary>Reads a summary.json back.</summary>
    public static LabelRunSummary Parse(string json) =>
        JsonSerializer.Deserialize(json, LabelRunJsonContext.Default.LabelRunSummary)
        ?? throw new FormatException("summary is JSON null");
}

/// <summary>The model a run used.</summary>
public sealed record LabelRunModel
{
    [JsonPropertyName("path")] public required string Path { get; init; }
    [JsonPropertyName("sha256")] public required string Sha256 { get; init; }
    [JsonPropertyName("layout")] public required string Layout { get; init; }
    [JsonPropertyName("input-width")] public int InputWidth { get; init; }
    [JsonPropertyName("input-height")] public int InputHeight { get; init; }
    [JsonPropertyName("class-names")] public required IReadOnlyList<string> ClassNames { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
[JsonSerializable(typeof(LabelRunSummary))]
internal sealed partial class LabelRunJsonContext : JsonSerializerContext;
