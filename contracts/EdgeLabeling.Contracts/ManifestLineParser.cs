using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EdgeLabeling.Contracts;

/// <summary>
/// Everything one augmented-manifest line says, read in one forward pass with <see cref="Utf8JsonReader"/>
/// (no DOM): the source-ref, every label attribute with its <c>-metadata</c>, and the provenance object as raw
/// JSON. Parsing never throws; what is wrong is named in <see cref="Problem"/> (the whole line) or in
/// <see cref="ManifestAttribute.LabelError"/> (one attribute), so a reader that only needs one attribute is
/// not stopped by a broken other one.
/// </summary>
public sealed class ManifestLine
{
    internal ManifestLine()
    {
    }

    /// <summary>Null when the line is usable; else "not-json", "not-an-object" or "no-source-ref".</summary>
    public string? Problem { get; internal set; }

    /// <summary>Why <see cref="Problem"/> is set, for logs.</summary>
    public string? ProblemDetail { get; internal set; }

    public string? SourceRef { get; internal set; }

    /// <summary>Every key that has a label object or a <c>-metadata</c> object, in order of first appearance.</summary>
    public List<ManifestAttribute> Attributes { get; } = [];

    /// <summary>The raw JSON object under <c>edgelabel-provenance</c> (or the legacy <c>provenance</c>), if any.</summary>
    public ReadOnlyMemory<byte> Provenance { get; internal set; }

    /// <summary>A top-level <c>edge-reason</c> (or <c>reason</c>) string of older input lines.</summary>
    public string? EdgeReason { get; internal set; }

    /// <summary>Why the edge sent the image to people: the provenance's <c>edge-reason</c>, else the top-level one.</summary>
    public string? RoutingReason
    {
        get
        {
            if (!Provenance.IsEmpty)
            {
                var reader = new Utf8JsonReader(Provenance.Span);
                reader.Read();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var match = reader.ValueTextEquals("edge-reason"u8);
                    reader.Read();
                    if (match && reader.TokenType == JsonTokenType.String)
                    {
                        return reader.GetString();
                    }

                    reader.Skip();
                }
            }

            return EdgeReason;
        }
    }

    /// <summary>Attributes of earlier lines kept for reuse by <see cref="ManifestLineParser.Parse(ReadOnlySpan{byte}, ManifestLine)"/>.</summary>
    private readonly List<ManifestAttribute> _spare = [];

    /// <summary>A line that <see cref="ManifestLineParser.Parse(ReadOnlySpan{byte}, ManifestLine)"/> fills again and again.</summary>
    public static ManifestLine CreateReusable() => new();

    /// <summary>Forgets everything the previous line said; its attribute objects (and their lists) are kept for the next.</summary>
    internal void Reset()
    {
        Problem = null;
        ProblemDetail = null;
        SourceRef = null;
        Provenance = default;
        EdgeReason = null;
        _spare.AddRange(Attributes);
        Attributes.Clear();
    }

    /// <summary>
    /// The raw UTF-8 of a string member of the provenance object, without allocating; false when it is missing,
    /// not a string, or escaped (then <see cref="ProvenanceString"/> gives the unescaped value).
    /// </summary>
    public bool TryGetProvenanceUtf8(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (Provenance.IsEmpty)
        {
            return false;
        }

        var reader = new Utf8JsonReader(Provenance.Span);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var match = reader.ValueTextEquals(name);
            reader.Read();
            if (match)
            {
                if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || reader.HasValueSequence)
                {
                    return false;
                }

                value = reader.ValueSpan;
                return true;
            }

            reader.Skip();
        }

        return false;
    }

    /// <summary>A string member of the provenance object (e.g. "device", "model-sha256"), or null.</summary>
    public string? ProvenanceString(string name)
    {
        if (Provenance.IsEmpty)
        {
            return null;
        }

        var reader = new Utf8JsonReader(Provenance.Span);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var match = reader.ValueTextEquals(name);
            reader.Read();
            if (match && reader.TokenType == JsonTokenType.String)
            {
                return reader.GetString();
            }

            reader.Skip();
        }

        return null;
    }

    public ManifestAttribute? Find(string name)
    {
        foreach (var a in Attributes)
        {
            if (a.Name == name)
            {
                return a;
            }
        }

        return null;
    }

    internal ManifestAttribute GetOrAdd(string name)
    {
        if (Find(name) is { } existing)
        {
            return existing;
        }

        ManifestAttribute a;
        if (_spare.Count > 0)
        {
            a = _spare[^1];
            _spare.RemoveAt(_spare.Count - 1);
            a.Reset(name);
        }
        else
        {
            a = new ManifestAttribute(name);
        }

        Attributes.Add(a);
        return a;
    }
}

/// <summary>One label attribute of a line: the label value (bounding boxes) and its metadata.</summary>
public sealed class ManifestAttribute(string name)
{
    public string Name { get; private set; } = name;

    /// <summary>The line has a value under <see cref="Name"/> (a bounding-box label is an object).</summary>
    public bool HasLabel { get; internal set; }

    /// <summary>The value under <see cref="Name"/> is a JSON object (what a bounding-box label is).</summary>
    public bool LabelIsObject { get; internal set; }

    public bool HasMetadata { get; internal set; }

    /// <summary>The metadata's <c>type</c>, e.g. <see cref="GroundTruthManifest.ObjectDetectionType"/>.</summary>
    public string? Type { get; internal set; }

    public ImageSize? Size { get; internal set; }

    /// <summary>The boxes with the confidences of the metadata's <c>objects</c> (0 where none).</summary>
    public List<PixelBox> Boxes { get; } = [];

    private static readonly Dictionary<int, string> NoClasses = [];
    private Dictionary<int, string>? _classMap;

    /// <summary>The metadata's class-map: class_id → name.</summary>
    public IReadOnlyDictionary<int, string> ClassMap => _classMap ?? NoClasses;

    internal void SetClassName(int id, string name) => (_classMap ??= [])[id] = name;

    public bool HumanAnnotated { get; internal set; }

    /// <summary>The job name without the <c>labeling-job/</c> prefix; empty when none.</summary>
    public string JobName { get; internal set; } = "";

    public string? CreationDate { get; internal set; }

    public string? AdjustmentStatus { get; internal set; }

    /// <summary>The metadata has a <c>failure-reason</c> (Ground Truth could not label the object).</summary>
    public bool HasFailureReason { get; internal set; }

    /// <summary>What is wrong with the label value, or null when it is a valid bounding-box label.</summary>
    public string? LabelError { get; internal set; }

    internal List<double> Confidences => _confidences ??= [];

    internal bool HasConfidences => _confidences is { Count: > 0 };

    private List<double>? _confidences;

    /// <summary>Back to the state of a new attribute called <paramref name="name"/>, keeping the lists' storage.</summary>
    internal void Reset(string name)
    {
        Name = name;
        HasLabel = false;
        LabelIsObject = false;
        HasMetadata = false;
        Type = null;
        Size = null;
        Boxes.Clear();
        _classMap?.Clear();
        HumanAnnotated = false;
        JobName = "";
        CreationDate = null;
        AdjustmentStatus = null;
        HasFailureReason = false;
        LabelError = null;
        _confidences?.Clear();
    }

    /// <summary>A bounding-box label by its metadata type (or, for hand-made lines without a type, by its shape).</summary>
    public bool IsObjectDetection => Type is null ? LabelIsObject : Type == GroundTruthManifest.ObjectDetectionType;

    /// <summary>A label this attribute can contribute: a valid box label with metadata.</summary>
    public bool IsUsableBoxLabel => HasLabel && LabelIsObject && HasMetadata && LabelError is null && IsObjectDetection;
}

/// <summary>The one tolerant reader of augmented-manifest lines every party uses (see <see cref="ManifestLine"/>).</summary>
public static class ManifestLineParser
{
    /// <summary>
    /// Recently seen short values (attribute names, job names, dates, class names repeat on every line of a
    /// manifest): reused instead of allocating a string per line. Per thread, so no locking.
    /// </summary>
    [ThreadStatic]
    private static (byte[] Utf8, string Text)[]? _recent;

    private static string Text(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > 64)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        var recent = _recent ??= new (byte[], string)[64];
        var slot = (utf8.Length * 31 + (utf8.Length > 0 ? utf8[0] * 7 + utf8[^1] + utf8[utf8.Length / 2] * 13 : 0)) & 63;
        ref var entry = ref recent[slot];
        if (entry.Utf8 is { } known && utf8.SequenceEqual(known))
        {
            return entry.Text;
        }

        var text = Encoding.UTF8.GetString(utf8);
        entry = (utf8.ToArray(), text);
        return text;
    }

    /// <summary>A string value through the cache (unescaped values only; escaped ones are decoded as usual).</summary>
    private static string? CachedString(ref Utf8JsonReader reader) =>
        reader.TokenType != JsonTokenType.String ? null : reader.ValueIsEscaped ? reader.GetString() : Text(reader.ValueSpan);

    private const string JobNamePrefix = "labeling-job/";
    private const string MetadataSuffix = "-metadata";
    private static ReadOnlySpan<byte> ObjectDetectionTypeUtf8 => "groundtruth/object-detection"u8;

    /// <summary>Parses one UTF-8 line (without its newline).</summary>
    public static ManifestLine Parse(ReadOnlySpan<byte> utf8) => Parse(utf8, new ManifestLine());

    /// <summary>
    /// Parses one UTF-8 line into <paramref name="reuse"/> (from <see cref="ManifestLine.CreateReusable"/>), which is
    /// cleared first: a streaming reader pays for one line object, not one per line. What the previous line said
    /// (including its attributes and their box lists) is gone, so nothing of it may be kept across calls.
    /// </summary>
    public static ManifestLine Parse(ReadOnlySpan<byte> utf8, ManifestLine reuse)
    {
        var line = reuse;
        line.Reset();
        if (utf8.StartsWith("\uFEFF"u8))
        {
            utf8 = utf8[3..];
        }

        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 32 });
            if (!reader.Read())
            {
                return Fail(line, "not-json", "the line is empty");
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                // Read on so "12 garbage" is named as not JSON rather than as a non-object.
                reader.Skip();
                return reader.Read() ? Fail(line, "not-json", "text after the JSON value") : Fail(line, "not-an-object", $"the line is a JSON {reader.TokenType}, not an object");
            }

            ReadTopLevel(ref reader, utf8, line);
            if (reader.Read())
            {
                return Fail(line, "not-json", "text after the JSON object");
            }
        }
        catch (JsonException ex)
        {
            return Fail(line, "not-json", ex.Message);
        }

        if (string.IsNullOrEmpty(line.SourceRef))
        {
            return Fail(line, "no-source-ref", "the line has no source-ref string");
        }

        foreach (var a in line.Attributes)
        {
            Finish(a);
        }

        return line;
    }

    /// <summary>Only the source-ref of a line (null when there is none or the line is not a JSON object); cheaper than <see cref="Parse(ReadOnlySpan{byte})"/>.</summary>
    public static string? ReadSourceRef(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            string? sourceRef = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var match = reader.ValueTextEquals("source-ref"u8);
                reader.Read();
                if (match && reader.TokenType == JsonTokenType.String)
                {
                    sourceRef = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }

            return string.IsNullOrEmpty(sourceRef) ? null : sourceRef;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Parses one line given as text.</summary>
    public static ManifestLine Parse(string line) => Parse(Encoding.UTF8.GetBytes(line));

    private static ManifestLine Fail(ManifestLine line, string problem, string detail)
    {
        line.Problem = problem;
        line.ProblemDetail = detail;
        return line;
    }

    private static void ReadTopLevel(ref Utf8JsonReader reader, ReadOnlySpan<byte> utf8, ManifestLine line)
    {
        var legacyProvenance = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("source-ref"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    line.SourceRef = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }

                continue;
            }

            var isProvenance = reader.ValueTextEquals("edgelabel-provenance"u8);
            var isLegacyProvenance = !isProvenance && reader.ValueTextEquals("provenance"u8);
            if (isProvenance || isLegacyProvenance)
            {
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                var isObject = reader.TokenType == JsonTokenType.StartObject;
                reader.Skip();
                // The current key wins over the legacy one whatever their order.
                if (isObject && (isProvenance || line.Provenance.IsEmpty || legacyProvenance))
                {
                    line.Provenance = utf8[start..(int)reader.BytesConsumed].ToArray();
                    legacyProvenance = isLegacyProvenance;
                }

                continue;
            }

            var isEdgeReason = reader.ValueTextEquals("edge-reason"u8);
            if (isEdgeReason || reader.ValueTextEquals("reason"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && (isEdgeReason || line.EdgeReason is null))
                {
                    line.EdgeReason = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }

                continue;
            }

            var isMetadata = !reader.ValueIsEscaped && reader.ValueSpan.Length > MetadataSuffix.Length && reader.ValueSpan.EndsWith("-metadata"u8);
            var name = isMetadata ? Text(reader.ValueSpan[..^MetadataSuffix.Length]) : reader.ValueIsEscaped ? reader.GetString()! : Text(reader.ValueSpan);
            if (!isMetadata && name.EndsWith(MetadataSuffix, StringComparison.Ordinal) && name.Length > MetadataSuffix.Length)
            {
                // An escaped key spelling "-metadata".
                isMetadata = true;
                name = name[..^MetadataSuffix.Length];
            }

            reader.Read();
            if (isMetadata)
            {
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadMetadata(ref reader, line.GetOrAdd(name));
                }
                else
                {
                    reader.Skip();
                }

                continue;
            }

            if (reader.TokenType == JsonTokenType.StartObject)
            {
                var a = line.GetOrAdd(name);
                a.HasLabel = true;
                a.LabelIsObject = true;
                ReadLabel(ref reader, a);
            }
            else
            {
                // A classification label (a number) or any other key: remembered only if metadata names it.
                if (line.Find(name) is { } a)
                {
                    a.HasLabel = true;
                }
                else if (reader.TokenType is JsonTokenType.Number or JsonTokenType.String)
                {
                    line.GetOrAdd(name).HasLabel = true;
                }

                reader.Skip();
            }
        }
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, ManifestAttribute a)
    {
        a.HasMetadata = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                // The one type the merge reads is interned; others are kept for the report.
                a.Type = reader.TokenType != JsonTokenType.String ? null
                    : reader.ValueTextEquals(ObjectDetectionTypeUtf8) ? GroundTruthManifest.ObjectDetectionType
                    : reader.GetString();
            }
            else if (reader.ValueTextEquals("class-map"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var hasId = reader.ValueIsEscaped
                        ? int.TryParse(reader.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var id)
                        : System.Buffers.Text.Utf8Parser.TryParse(reader.ValueSpan, out id, out var used) && used == reader.ValueSpan.Length;
                    reader.Read();
                    var value = CachedString(ref reader);
                    reader.Skip();
                    if (value is not null && hasId)
                    {
                        a.SetClassName(id, value);
                    }
                }
            }
            else if (reader.ValueTextEquals("objects"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    reader.Skip();
                    continue;
                }

                a.Confidences.Clear();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    var confidence = 0.0;
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            if (reader.ValueTextEquals("confidence"u8))
                            {
                                reader.Read();
                                confidence = TryReadNumber(ref reader, out var c) ? c : 0.0;
                            }
                            else
                            {
                                reader.Read();
                                reader.Skip();
                            }
                        }
                    }
                    else
                    {
                        reader.Skip();
                    }

                    a.Confidences.Add(confidence);
                }
            }
            else if (reader.ValueTextEquals("human-annotated"u8))
            {
                reader.Read();
                a.HumanAnnotated = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("yes"u8);
                reader.Skip();
            }
            else if (reader.ValueTextEquals("job-name"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped)
                {
                    var v = reader.ValueSpan;
                    a.JobName = Text(v.StartsWith("labeling-job/"u8) ? v["labeling-job/".Length..] : v);
                }
                else
                {
                    var job = CachedString(ref reader) ?? "";
                    a.JobName = job.StartsWith(JobNamePrefix, StringComparison.Ordinal) ? job[JobNamePrefix.Length..] : job;
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("creation-date"u8))
            {
                reader.Read();
                a.CreationDate = CachedString(ref reader);
                reader.Skip();
            }
            else if (reader.ValueTextEquals("adjustment-status"u8))
            {
                reader.Read();
                a.AdjustmentStatus = CachedString(ref reader);
                reader.Skip();
            }
            else if (reader.ValueTextEquals("failure-reason"u8))
            {
                a.HasFailureReason = true;
                reader.Read();
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static void ReadLabel(ref Utf8JsonReader reader, ManifestAttribute a)
    {
        var sawSize = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("image_size"u8))
            {
                sawSize = true;
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    var first = true;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (first && reader.TokenType == JsonTokenType.StartObject)
                        {
                            ReadSize(ref reader, a);
                        }
                        else
                        {
                            reader.Skip();
                        }

                        first = false;
                    }
                }
                else if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadSize(ref reader, a);
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("annotations"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    a.LabelError ??= "annotations is not a list";
                    reader.Skip();
                    continue;
                }

                var index = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        a.LabelError ??= $"annotation {index} is not an object";
                        reader.Skip();
                    }
                    else
                    {
                        ReadBox(ref reader, a, index);
                    }

                    index++;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (a.Size is null)
        {
            a.LabelError ??= sawSize ? "image_size has no valid width and height" : "no image_size";
        }
    }

    private static void ReadSize(ref Utf8JsonReader reader, ManifestAttribute a)
    {
        int? width = null, height = null;
        var depth = 3;
        var bad = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var which = reader.ValueTextEquals("width"u8) ? 0 : reader.ValueTextEquals("height"u8) ? 1 : reader.ValueTextEquals("depth"u8) ? 2 : -1;
            reader.Read();
            if (which < 0)
            {
                reader.Skip();
                continue;
            }

            if (!TryReadNonNegativeInt(ref reader, out var v))
            {
                bad = true;
                continue;
            }

            switch (which)
            {
                case 0: width = v; break;
                case 1: height = v; break;
                default: depth = v; break;
            }
        }

        if (!bad && width is { } w && height is { } h)
        {
            a.Size = new ImageSize(w, h, depth);
        }
    }

    private static void ReadBox(ref Utf8JsonReader reader, ManifestAttribute a, int index)
    {
        int? classId = null;
        double left = double.NaN, top = double.NaN, width = double.NaN, height = double.NaN;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("class_id"u8))
            {
                reader.Read();
                if (TryReadNonNegativeInt(ref reader, out var id))
                {
                    classId = id;
                }
                else
                {
                    a.LabelError ??= $"annotation {index}: 'class_id' is not a non-negative integer";
                }

                continue;
            }

            var which = reader.ValueTextEquals("left"u8) ? 0 : reader.ValueTextEquals("top"u8) ? 1 : reader.ValueTextEquals("width"u8) ? 2 : reader.ValueTextEquals("height"u8) ? 3 : -1;
            if (which < 0)
            {
                reader.Read();
                reader.Skip();
                continue;
            }

            var field = which switch { 0 => "left", 1 => "top", 2 => "width", _ => "height" };
            reader.Read();
            if (!TryReadNumber(ref reader, out var v))
            {
                a.LabelError ??= $"annotation {index}: '{field}' is not a number";
                continue;
            }

            switch (which)
            {
                case 0: left = v; break;
                case 1: top = v; break;
                case 2: width = v; break;
                default: height = v; break;
            }
        }

        if (classId is null)
        {
            a.LabelError ??= $"annotation {index}: 'class_id' is missing";
            return;
        }

        if (!double.IsFinite(left) || !double.IsFinite(top) || !double.IsFinite(width) || !double.IsFinite(height) || width < 0 || height < 0)
        {
            a.LabelError ??= $"annotation {index} has missing or invalid geometry";
            return;
        }

        a.Boxes.Add(new PixelBox(classId.Value, left, top, width, height, 0));
    }

    /// <summary>Applies the metadata's confidences to the boxes (the two lists are parallel).</summary>
    private static void Finish(ManifestAttribute a)
    {
        if (!a.HasConfidences || a.LabelError is not null)
        {
            return;
        }

        for (var i = 0; i < a.Boxes.Count && i < a.Confidences.Count; i++)
        {
            a.Boxes[i] = a.Boxes[i] with { Confidence = a.Confidences[i] };
        }
    }

    private static string? ReadString(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }

        reader.Skip();
        return null;
    }

    /// <summary>A number, or a string holding one (some tools write "12.5"); skips anything else.</summary>
    private static bool TryReadNumber(ref Utf8JsonReader reader, out double value)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                // Numbers are never escaped, so the token's bytes are the number as written.
                return TryParseShortDecimal(reader.ValueSpan, out value) || reader.TryGetDouble(out value);
            case JsonTokenType.String:
                return double.TryParse(reader.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out value);
            default:
                reader.Skip();
                value = 0;
                return false;
        }
    }

    private static readonly double[] PowersOfTen = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    /// <summary>
    /// The value of a plain decimal of at most 15 digits (<c>40.5</c>, <c>-3</c>, <c>0.4123</c>; no exponent),
    /// as <see cref="double.Parse(string)"/> gives it: the digits as an integer and the power of ten are both
    /// exact doubles, and one IEEE division rounds correctly. Boxes and confidences are such numbers, and the
    /// general parser cost a tenth of the merge. Anything else returns false for the general path.
    /// </summary>
    private static bool TryParseShortDecimal(ReadOnlySpan<byte> number, out double value)
    {
        value = 0;
        var negative = !number.IsEmpty && number[0] == (byte)'-';
        long digitsValue = 0;
        var digits = 0;
        var decimals = -1;
        for (var i = negative ? 1 : 0; i < number.Length; i++)
        {
            var c = number[i];
            if ((uint)(c - '0') <= 9)
            {
                if (++digits > 15)
                {
                    return false;
                }

                digitsValue = (digitsValue * 10) + (c - '0');
                if (decimals >= 0)
                {
                    decimals++;
                }
            }
            else if (c == (byte)'.' && decimals < 0)
            {
                decimals = 0;
            }
            else
            {
                return false;
            }
        }

        if (digits == 0)
        {
            return false;
        }

        value = digitsValue / PowersOfTen[Math.Max(decimals, 0)];
        if (negative)
        {
            value = -value;
        }

        return true;
    }

    private static bool TryReadNonNegativeInt(ref Utf8JsonReader reader, out int value)
    {
        value = 0;
        if (!TryReadNumber(ref reader, out var d) || d != Math.Floor(d) || d < 0 || d > int.MaxValue)
        {
            return false;
        }

        value = (int)d;
        return true;
    }
}
