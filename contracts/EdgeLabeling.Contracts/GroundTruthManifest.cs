using System.Globalization;
using System.Text.Json;
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

    /// <summary>Parses one line; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static ManifestLabel Parse(string line, string labelAttributeName)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(line);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"manifest line is not JSON: {ex.Message}", ex);
        }

        if (root is not JsonObject obj)
        {
            throw new FormatException("manifest line is not a JSON object");
        }

        var sourceRef = obj["source-ref"] is JsonValue sv && sv.TryGetValue(out string? s) ? s : null;
        if (string.IsNullOrEmpty(sourceRef))
        {
            throw new FormatException("manifest line has no source-ref");
        }

        if (obj[labelAttributeName] is not JsonObject label)
        {
            throw new FormatException($"manifest line for {sourceRef} has no '{labelAttributeName}' label");
        }

        var meta = obj[labelAttributeName + "-metadata"] as JsonObject
            ?? throw new FormatException($"manifest line for {sourceRef} has no '{labelAttributeName}-metadata'");

        var sizeNode = label["image_size"];
        var sizeObj = sizeNode switch
        {
            JsonArray { Count: > 0 } a => a[0] as JsonObject,
            JsonObject o => o,
            _ => null,
        } ?? throw new FormatException($"manifest line for {sourceRef} has no image_size");
        var size = new ImageSize(ReadInt(sizeObj, "width", sourceRef), ReadInt(sizeObj, "height", sourceRef),
            sizeObj["depth"] is null ? 3 : ReadInt(sizeObj, "depth", sourceRef));

        var annotations = label["annotations"] as JsonArray ?? [];
        var objects = meta["objects"] as JsonArray ?? [];
        var boxes = new List<PixelBox>(annotations.Count);
        for (var i = 0; i < annotations.Count; i++)
        {
            if (annotations[i] is not JsonObject a)
            {
                throw new FormatException($"annotation {i} of {sourceRef} is not an object");
            }

            var conf = i < objects.Count && objects[i] is JsonObject oc && oc["confidence"] is JsonNode cn ? ReadDouble(cn, "confidence", sourceRef) : 0.0;
            var box = new PixelBox(
                ReadInt(a, "class_id", sourceRef),
                ReadDouble(a["left"], "left", sourceRef),
                ReadDouble(a["top"], "top", sourceRef),
                ReadDouble(a["width"], "width", sourceRef),
                ReadDouble(a["height"], "height", sourceRef),
                conf);
            if (!double.IsFinite(box.Left) || !double.IsFinite(box.Top) || !double.IsFinite(box.Width) || !double.IsFinite(box.Height) || box.Width < 0 || box.Height < 0)
            {
                throw new FormatException($"annotation {i} of {sourceRef} has invalid geometry");
            }

            boxes.Add(box);
        }

        var classMap = new Dictionary<int, string>();
        if (meta["class-map"] is JsonObject cm)
        {
            foreach (var (k, v) in cm)
            {
                if (int.TryParse(k, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) && v is JsonValue jv && jv.TryGetValue(out string? name))
                {
                    classMap[id] = name;
                }
            }
        }

        var human = meta["human-annotated"]?.GetValue<string>() is "yes";
        var jobName = meta["job-name"] is JsonValue jn && jn.TryGetValue(out string? j) ? j : "";
        if (jobName.StartsWith("labeling-job/", StringComparison.Ordinal))
        {
            jobName = jobName["labeling-job/".Length..];
        }

        var created = meta["creation-date"] is JsonValue cdv && cdv.TryGetValue(out string? cds) ? cds : null;
        return new ManifestLabel(sourceRef, size, boxes, classMap, human, jobName, created, obj);
    }

    private static int ReadInt(JsonObject o, string name, string sourceRef)
    {
        var d = ReadDouble(o[name], name, sourceRef);
        if (d != Math.Floor(d) || d < 0 || d > int.MaxValue)
        {
            throw new FormatException($"'{name}' of {sourceRef} is not a non-negative integer");
        }

        return (int)d;
    }

    private static double ReadDouble(JsonNode? n, string name, string sourceRef)
    {
        if (n is JsonValue v)
        {
            if (v.TryGetValue(out double d))
            {
                return d;
            }

            if (v.TryGetValue(out string? s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out d))
            {
                return d;
            }
        }

        throw new FormatException($"'{name}' of {sourceRef} is missing or not a number");
    }
}

/// <summary>A parsed Ground Truth bounding-box label line.</summary>
public sealed record ManifestLabel(
    string SourceRef,
    ImageSize Size,
    IReadOnlyList<PixelBox> Boxes,
    IReadOnlyDictionary<int, string> ClassMap,
    bool HumanAnnotated,
    string JobName,
    string? CreationDate,
    JsonObject Raw);
