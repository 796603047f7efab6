using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Routing;

/// <summary>What to do with an image on which the model found nothing above the background level.</summary>
public enum NoDetectionsRule
{
    /// <summary>Send it to people. The default: an empty auto-label silently teaches "background" for every part the model missed.</summary>
    [JsonStringEnumMemberName("human-review")] HumanReview,

    /// <summary>Accept it as an empty label ("nothing here"). Only sensible when misses are known to be rare.</summary>
    [JsonStringEnumMemberName("auto-label")] AutoLabel,
}

/// <summary>
/// Every knob of the routing policy and of the records it produces. Read from a JSON config file
/// (camelCase names, unknown names rejected) with <see cref="Load"/> / <see cref="Parse"/>, or built in code;
/// <see cref="Validate"/> rejects bad values with a message naming the field and the value.
/// </summary>
/// <remarks>
/// The uncertain band is <c>[UncertainLow, auto-accept threshold)</c>: its top edge is always the
/// auto-accept threshold of the detection's class, so global and per-class thresholds cannot drift apart.
/// </remarks>
public sealed record RoutingOptions
{
    /// <summary>Version of the rules below; written into provenance so labels can be traced to the policy that made them.</summary>
    public const string PolicyVersion = "routing-v1";

    /// <summary>
    /// The thresholds (global, per class, lower edge of the uncertain band) as one value with one validation; the
    /// three properties below read and write it so the file format stays flat.
    /// </summary>
    [JsonIgnore]
    public RoutingThresholds Thresholds { get; init; } = new();

    /// <summary>A detection is confident when its score is at least this (unless its class has its own threshold). Default 0.5.</summary>
    public double AutoAcceptThreshold
    {
        get => Thresholds.AutoAcceptThreshold;
        init => Thresholds = Thresholds with { AutoAcceptThreshold = value };
    }

    /// <summary>Per-class auto-accept thresholds by class name; they override <see cref="AutoAcceptThreshold"/>.</summary>
    public IReadOnlyDictionary<string, double> ClassThresholds
    {
        get => Thresholds.ClassThresholds;
        init => Thresholds = Thresholds with { ClassThresholds = value };
    }

    /// <summary>Scores below this are background and dropped; scores from here up to the class threshold are uncertain. Default 0.25.</summary>
    public double UncertainLow
    {
        get => Thresholds.UncertainLow;
        init => Thresholds = Thresholds with { UncertainLow = value };
    }

    /// <summary>Rule for images with no detection at or above <see cref="UncertainLow"/>. Default <see cref="NoDetectionsRule.HumanReview"/>.</summary>
    public NoDetectionsRule NoDetections { get; init; } = NoDetectionsRule.HumanReview;

    /// <summary>More kept detections than this sends the image to review ("too-many-detections"); only the top-scoring ones are kept. Default 100.</summary>
    public int MaxDetections { get; init; } = 100;

    /// <summary>Fraction of auto-labelable images also sent to people as an audit sample, in [0, 1]. Default 0.02.</summary>
    public double AuditRate { get; init; } = 0.02;

    /// <summary>Seed of the audit draw; the draw is a pure function of (image SHA-256, seed), so reruns pick the same images.</summary>
    public long AuditSeed { get; init; }

    /// <summary>Whether near-duplicate frames of the same camera are dropped. Default true.</summary>
    public bool DuplicateDetection { get; init; } = true;

    /// <summary>Largest Hamming distance between 64-bit perceptual hashes still counted as a duplicate (0–64). Default 5.</summary>
    public int DuplicateMaxDistance { get; init; } = 5;

    /// <summary>A frame is only a duplicate of a kept frame captured at most this many seconds apart. Default 600 (10 min).</summary>
    public double DuplicateWindowSeconds { get; init; } = 600;

    /// <summary>How many recent kept frames are remembered per camera (bounds memory on a long-running device). Default 256.</summary>
    public int DuplicateCacheSize { get; init; } = 256;

    /// <summary>Label attribute name of the Ground Truth lines. Default "parts".</summary>
    public string LabelAttributeName { get; init; } = LabelingConventions.DefaultDatasetAttribute;

    /// <summary>Device (IoT thing) name: goes into image keys, job names and provenance. Default "local".</summary>
    public string DeviceName { get; init; } = "local";

    /// <summary>
    /// Bucket the images will be uploaded to. When set, source-ref is the S3 URI the image will have
    /// (<c>s3://{bucket}/incoming/...</c>); when null the local CLI writes <c>file://</c> URIs of the input files.
    /// </summary>
    public string? SourceBucket { get; init; }

    /// <summary>The window as a <see cref="TimeSpan"/>.</summary>
    [JsonIgnore]
    public TimeSpan DuplicateWindow => TimeSpan.FromSeconds(DuplicateWindowSeconds);

    /// <summary>Throws <see cref="RoutingConfigException"/> naming the first bad field and its value.</summary>
    public RoutingOptions Validate()
    {
        if (Thresholds.Problems() is [var problem, ..])
        {
            throw new RoutingConfigException(problem);
        }

        if (!Enum.IsDefined(NoDetections))
        {
            throw Bad(nameof(NoDetections), (int)NoDetections, "must be human-review or auto-label");
        }

        if (MaxDetections < 1)
        {
            throw Bad(nameof(MaxDetections), MaxDetections, "must be at least 1");
        }

        CheckProbability(nameof(AuditRate), AuditRate);
        if (DuplicateMaxDistance is < 0 or > 64)
        {
            throw Bad(nameof(DuplicateMaxDistance), DuplicateMaxDistance, "must be in [0, 64] (bits of a 64-bit hash)");
        }

        if (!double.IsFinite(DuplicateWindowSeconds) || DuplicateWindowSeconds < 0)
        {
            throw Bad(nameof(DuplicateWindowSeconds), DuplicateWindowSeconds, "must be a non-negative number of seconds");
        }

        if (DuplicateCacheSize < 1)
        {
            throw Bad(nameof(DuplicateCacheSize), DuplicateCacheSize, "must be at least 1");
        }

        if (LabelingConventions.DatasetAttributeProblem(LabelAttributeName) is { } attributeProblem)
        {
            throw new RoutingConfigException($"labelAttributeName: {attributeProblem}");
        }

        if (!ObjectKeyLayout.IsValidThingName(DeviceName))
        {
            throw Bad(nameof(DeviceName), $"'{DeviceName}'", "must be 1-128 of letters, digits, ':', '_' or '-' (an IoT thing name)");
        }

        if (SourceBucket is not null && !IsPlausibleBucketName(SourceBucket))
        {
            throw Bad(nameof(SourceBucket), $"'{SourceBucket}'", "must be 3-63 of lowercase letters, digits, '.' or '-'");
        }

        return this;
    }

    /// <summary>The auto-accept threshold of a class name (its own, or the global one).</summary>
    public double ThresholdFor(string className) => Thresholds.ThresholdFor(className);

    /// <summary>Parses and validates a JSON config. <paramref name="origin"/> prefixes messages (usually the file name).</summary>
    public static RoutingOptions Parse(string json, string origin = "config")
    {
        RoutingOptions? options;
        try
        {
            // Source-generated deserialization sets every init-only property, missing ones to default(T),
            // which would turn an omitted threshold into 0. Missing keys are filled from the defaults first.
            var user = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (user is JsonObject given)
            {
                var merged = JsonSerializer.SerializeToNode(new RoutingOptions(), RoutingJsonContext.Default.RoutingOptions)!.AsObject();
                foreach (var (key, value) in given)
                {
                    merged[key] = value?.DeepClone();
                }

                user = merged;
            }
            else if (user is not null)
            {
                throw new RoutingConfigException($"{origin}: config must be a JSON object, not {user.GetValueKind().ToString().ToLowerInvariant()}");
            }

            options = user?.Deserialize(RoutingJsonContext.Default.RoutingOptions);
        }
        catch (JsonException ex)
        {
            // System.Text.Json messages name the JSON path; keep only the first sentence to stay on one line.
            var where = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "" : $" at {ex.Path}";
            throw new RoutingConfigException($"{origin}: invalid config{where}: {FirstSentence(ex.Message)}", ex);
        }

        if (options is null)
        {
            throw new RoutingConfigException($"{origin}: config is JSON null; expected an object");
        }

        try
        {
            return options.Validate();
        }
        catch (RoutingConfigException ex)
        {
            throw new RoutingConfigException($"{origin}: {ex.Message}", ex);
        }
    }

    /// <summary>Reads, parses and validates a JSON config file.</summary>
    public static RoutingOptions Load(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RoutingConfigException($"config file '{path}' cannot be read: {ex.Message}", ex);
        }

        return Parse(json, Path.GetFileName(path));
    }

    /// <summary>Serializes the options in the config-file format (handy to print the effective config).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, RoutingJsonContext.Default.RoutingOptions);

    private static void CheckProbability(string name, double value)
    {
        if (!double.IsFinite(value) || value is < 0 or > 1)
        {
            throw Bad(name, value, "is not in [0, 1]");
        }
    }

    private static RoutingConfigException Bad(string property, object value, string problem)
    {
        var shown = value is double d ? Format(d) : Convert.ToString(value, CultureInfo.InvariantCulture);
        return new RoutingConfigException($"{JsonNamingPolicy.CamelCase.ConvertName(property)}: {shown} {problem}");
    }

    private static string Format(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    private static string FirstSentence(string message)
    {
        var firstLine = message.Split('\n')[0].Trim();
        var path = firstLine.IndexOf(" Path:", StringComparison.Ordinal);
        return path > 0 ? firstLine[..path].Trim() : firstLine;
    }

    private static bool IsPlausibleBucketName(string name) =>
        name.Length is >= 3 and <= 63
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-')
        && char.IsAsciiLetterOrDigit(name[0]) && char.IsAsciiLetterOrDigit(name[^1]);

    /// <summary>Value equality; the thresholds compare their per-class dictionary by content.</summary>
    public bool Equals(RoutingOptions? other) =>
        other is not null
        && Thresholds.Equals(other.Thresholds)
        && NoDetections == other.NoDetections
        && MaxDetections == other.MaxDetections
        && AuditRate.Equals(other.AuditRate)
        && AuditSeed == other.AuditSeed
        && DuplicateDetection == other.DuplicateDetection
        && DuplicateMaxDistance == other.DuplicateMaxDistance
        && DuplicateWindowSeconds.Equals(other.DuplicateWindowSeconds)
        && DuplicateCacheSize == other.DuplicateCacheSize
        && LabelAttributeName == other.LabelAttributeName
        && DeviceName == other.DeviceName
        && SourceBucket == other.SourceBucket;

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Thresholds);
        hash.Add(NoDetections);
        hash.Add(MaxDetections);
        hash.Add(AuditRate);
        hash.Add(AuditSeed);
        hash.Add(DuplicateDetection);
        hash.Add(DuplicateMaxDistance);
        hash.Add(DuplicateWindowSeconds);
        hash.Add(DuplicateCacheSize);
        hash.Add(LabelAttributeName);
        hash.Add(DeviceName);
        hash.Add(SourceBucket);
        return hash.ToHashCode();
    }
}

/// <summary>A routing option has a bad value; the message names the field and the value.</summary>
public sealed class RoutingConfigException(string message, Exception? inner = null) : Exception(message, inner);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    WriteIndented = true,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(RoutingOptions))]
[JsonSerializable(typeof(Dictionary<string, double>))]
internal sealed partial class RoutingJsonContext : JsonSerializerContext;
