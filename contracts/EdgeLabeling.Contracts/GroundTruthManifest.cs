using System.Globalization;
using System.Text.Json.Nodes;

namespace EdgeLabeling.Contracts;

/// <summary>
/// Reads and writes SageMaker Ground Truth bounding-box augmented-manifest lines
/// (<c>{"source-ref":…, "&lt;attr&gt;":{image_size, annotations}, "&lt;attr&gt;-metadata":{…}}</c>).
/// Parsing is tolerant of what real output does: float coordinates, string class-map keys,
/// empty lists, any key order, <c>job-name</c> with or without the <c>labeling-job/</c> prefix.
/// </summary>
public static class GroundTruthManifest
{
    public const string ObjectDetectionType = "groundtruth/object-detection";

    /// <summary>Ground Truth writes creation-date without a zone and with microseconds.</summary>
    public static string FormatCreationDate(DateTimeOffset when) =>
        when.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture);

    /// <summary>Builds one output-manifest line as a JSON object (not yet serialized).</summary>
    public static JsonObject BuildLine(
        string sourceRef,
        string labelAttributeName,
        ImageSize size,
        IReadOnlyList<PixelBox> boxes,
        IReadOnlyList<string> classNames,
        bool humanAnnotated,
        string jobName,
        DateTimeOffset creationDate,
        IEnumerable<KeyValuePair<string, JsonNode?>>? extraKeys = null)
    {
        ValidateLabelAttributeName(labelAttributeName);
        var annotations = new JsonArray();
        var objects = new JsonArray();
        var classMap = new JsonObject();
        foreach (var b in boxes)
        {
            if ((uint)b.ClassId >= (uint)classNames.Count)
            {
                throw new ArgumentException($"class id {b.ClassId} has no name (there are {classNames.Count} classes)", nameof(boxes));
            }

            annotations.Add(new JsonObject
            {
                ["class_id"] = b.ClassId,
                ["top"] = Round(b.Top),
                ["left"] = Round(b.Left),
                ["height"] = Round(b.Height),
                ["width"] = Round(b.Width),
            });
            objects.Add(new JsonObject { ["confidence"] = Math.Round(b.Confidence, 4) });
            classMap[b.ClassId.ToString(CultureInfo.InvariantCulture)] = classNames[b.ClassId];
        }

        var line = new JsonObject { ["source-ref"] = sourceRef };
        if (extraKeys is not null)
        {
            foreach (var (k, v) in extraKeys)
            {
                line[k] = v?.DeepClone();
            }
        }

        line[labelAttributeName] = new JsonObject
        {
            ["image_size"] = new JsonArray(new JsonObject { ["width"] = size.Width, ["height"] = size.Height, ["depth"] = size.Depth }),
            ["annotations"] = annotations,
        };
        line[labelAttributeName + "-metadata"] = new JsonObject
        {
            ["objects"] = objects,
            ["class-map"] = classMap,
            ["type"] = ObjectDetectionType,
            ["human-annotated"] = humanAnnotated ? "yes" : "no",
            ["creation-date"] = FormatCreationDate(creationDate),
            ["job-name"] = jobName,
        };
        return line;
    }

    private static double Round(double v) => Math.Round(v, 2);

    /// <summary>Bounding-box label attribute names: 1–127 of [A-Za-z0-9-], no edge hyphen, not ending -ref or -metadata.</summary>
    public static void ValidateLabelAttributeName(string name)
    {
        if (!IsValidName(name, 127))
        {
            throw new ArgumentException($"label attribute name '{name}' must be 1-127 letters, digits or hyphens, starting and ending with a letter or digit");
        }

        if (name.EndsWith("-ref", StringComparison.Ordinal) || name.EndsWith("-metadata", StringComparison.Ordinal))
        {
            throw new ArgumentException($"label attribute name '{name}' must not end with -ref or -metadata for bounding boxes");
        }
    }

    /// <summary>The <c>[a-zA-Z0-9](-*[a-zA-Z0-9]){0,n}</c> rule shared by job and attribute names.</summary>
    public static bool IsValidName(string name, int maxLength)
    {
        if (string.IsNullOrEmpty(name) || name.Length > maxLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                return false;
            }
        }

        return name[0] != '-' && name[^1] != '-';
    }

    /// <summary>Parses one line's <paramref name="labelAttributeName"/> label; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static ManifestLabel Parse(string line, string labelAttributeName) =>
        ToLabel(ManifestLineParser.Parse(line), labelAttributeName, line);

    /// <summary>The label of one attribute of an already parsed line; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static ManifestLabel ToLabel(ManifestLine parsed, string labelAttributeName, string? lineText = null)
    {
        switch (parsed.Problem)
        {
            case null:
                break;
            case "not-json":
                throw new FormatException($"manifest line is not JSON: {parsed.ProblemDetail}");
            case "not-an-object":
                throw new FormatException("manifest line is not a JSON object");
            default:
                throw new FormatException("manifest line has no source-ref");
        }

        var sourceRef = parsed.SourceRef!;
        var a = parsed.Find(labelAttributeName);
        if (a is not { HasLabel: true, LabelIsObject: true })
        {
            throw new FormatException($"manifest line for {sourceRef} has no '{labelAttributeName}' label");
        }

        if (!a.HasMetadata)
        {
            throw new FormatException($"manifest line for {sourceRef} has no '{labelAttributeName}-metadata'");
        }

        if (a.LabelError is not null)
        {
            throw new FormatException($"'{labelAttributeName}' of {sourceRef}: {a.LabelError}");
        }

        return new ManifestLabel(sourceRef, a, parsed, lineText);
    }
}

/// <summary>A parsed Ground Truth bounding-box label line: one attribute's label of a <see cref="ManifestLine"/>.</summary>
public sealed class ManifestLabel
{
    private readonly string? _lineText;
    private JsonObject? _raw;

    public ManifestLabel(string sourceRef, ManifestAttribute attribute, ManifestLine line, string? lineText = null)
    {
        SourceRef = sourceRef;
        Attribute = attribute;
        Line = line;
        _lineText = lineText;
    }

    public string SourceRef { get; }
    public ManifestAttribute Attribute { get; }
    public ManifestLine Line { get; }
    public string AttributeName => Attribute.Name;
    public ImageSize Size => Attribute.Size!.Value;
    public IReadOnlyList<PixelBox> Boxes => Attribute.Boxes;
    public IReadOnlyDictionary<int, string> ClassMap => Attribute.ClassMap;
    public bool HumanAnnotated => Attribute.HumanAnnotated;
    public string JobName => Attribute.JobName;
    public string? CreationDate => Attribute.CreationDate;

    /// <summary>The whole line as a DOM, parsed on first use (only for callers that need keys beyond the label).</summary>
    public JsonObject Raw => _raw ??= (JsonNode.Parse(_lineText ?? throw new InvalidOperationException("the line text was not kept")) as JsonObject)!;
}
