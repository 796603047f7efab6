using System.Buffers;
using System.Globalization;
using System.Text.Json;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>
/// Writes dataset lines — one image, one label attribute, provenance — straight from a parsed line with
/// <see cref="Utf8JsonWriter"/> (no DOM). The output is the shape of <see cref="GroundTruthManifest.BuildLine"/>:
/// source-ref, <c>edgelabel-provenance</c>, the label (coordinates rounded to 2 decimals) and its metadata
/// (class-map of the classes used, confidences rounded to 4 decimals).
/// </summary>
public sealed class DatasetLineWriter(Stream output) : IDisposable
{
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly Utf8JsonWriter _json = new(new ArrayBufferWriter<byte>(1), new JsonWriterOptions { SkipValidation = true });
    private readonly List<int> _classIds = new(8);
    private static readonly JsonEncodedText ProvenanceName = JsonEncodedText.Encode(DatasetProvenance.Key);
    private static readonly JsonEncodedText[] SmallIds = [.. Enumerable.Range(0, 64).Select(i => JsonEncodedText.Encode(i.ToString(CultureInfo.InvariantCulture)))];

    /// <summary>
    /// Names and values that repeat on every line (class names, job names, adjustment status), encoded once:
    /// writing a string transcodes and escape-checks it each time. Bounded, so odd inputs cannot grow it.
    /// </summary>
    private readonly Dictionary<string, JsonEncodedText> _encoded = new(StringComparer.Ordinal);
    private const int MaxEncoded = 256;
    private string? _attribute;
    private JsonEncodedText _attributeName;
    private JsonEncodedText _metadataName;
    private string _job = "";
    private JsonEncodedText _jobWithPrefix = JsonEncodedText.Encode("");

    public long Lines { get; private set; }

    /// <summary>Writes one line for <paramref name="label"/> of <paramref name="line"/> under <paramref name="datasetAttribute"/>.</summary>
    public void Write(ManifestLine line, ManifestAttribute label, string datasetAttribute, bool human, DateTimeOffset fallbackCreationDate)
    {
        if (!ReferenceEquals(_attribute, datasetAttribute))
        {
            _attribute = datasetAttribute;
            _attributeName = JsonEncodedText.Encode(datasetAttribute);
            _metadataName = JsonEncodedText.Encode(datasetAttribute + "-metadata");
        }

        _buffer.ResetWrittenCount();
        _json.Reset(_buffer);
        var w = _json;
        w.WriteStartObject();
        w.WriteString(Names.SourceRef, line.SourceRef);
        WriteProvenance(w, line, label, human);

        w.WriteStartObject(_attributeName);
        // Fixed-shape parts (image size, each box, each confidence) go in as one raw value each: they hold only
        // constant names and numbers, and a writer call per name and number was most of the writer's time.
        Span<byte> raw = stackalloc byte[256];
        var size = label.Size!.Value;
        var n = 0;
        Append(raw, ref n, "[{\"width\":"u8);
        AppendInt(raw, ref n, size.Width);
        Append(raw, ref n, ",\"height\":"u8);
        AppendInt(raw, ref n, size.Height);
        Append(raw, ref n, ",\"depth\":"u8);
        AppendInt(raw, ref n, size.Depth);
        Append(raw, ref n, "}]"u8);
        w.WritePropertyName(Names.ImageSize);
        w.WriteRawValue(raw[..n], skipInputValidation: true);
        w.WriteStartArray(Names.Annotations);
        _classIds.Clear();
        foreach (var b in label.Boxes)
        {
            n = 0;
            Append(raw, ref n, "{\"class_id\":"u8);
            AppendInt(raw, ref n, b.ClassId);
            Append(raw, ref n, ",\"top\":"u8);
            AppendRounded(raw, ref n, b.Top, 2);
            Append(raw, ref n, ",\"left\":"u8);
            AppendRounded(raw, ref n, b.Left, 2);
            Append(raw, ref n, ",\"height\":"u8);
            AppendRounded(raw, ref n, b.Height, 2);
            Append(raw, ref n, ",\"width\":"u8);
            AppendRounded(raw, ref n, b.Width, 2);
            Append(raw, ref n, "}"u8);
            w.WriteRawValue(raw[..n], skipInputValidation: true);
            if (!_classIds.Contains(b.ClassId))
            {
                _classIds.Add(b.ClassId);
            }
        }

        w.WriteEndArray();
        w.WriteEndObject();

        w.WriteStartObject(_metadataName);
        w.WriteStartArray(Names.Objects);
        foreach (var b in label.Boxes)
        {
            n = 0;
            Append(raw, ref n, "{\"confidence\":"u8);
            AppendRounded(raw, ref n, b.Confidence, 4);
            Append(raw, ref n, "}"u8);
            w.WriteRawValue(raw[..n], skipInputValidation: true);
        }

        w.WriteEndArray();
        w.WriteStartObject(Names.ClassMap);
        foreach (var id in _classIds)
        {
            var className = Encoded(ClassName(label, id));
            if (id < SmallIds.Length)
            {
                w.WriteString(SmallIds[id], className);
            }
            else
            {
                w.WriteString(id.ToString(CultureInfo.InvariantCulture), className);
            }
        }

        w.WriteEndObject();
        w.WriteString(Names.Type, Names.ObjectDetectionType);
        w.WriteString(Names.HumanAnnotated, human ? Names.Yes : Names.No);
        w.WriteString(Names.CreationDate, CreationDate(label.CreationDate, fallbackCreationDate));
        if (!ReferenceEquals(_job, label.JobName))
        {
            // A shard holds one job: build "labeling-job/<job>" once, not per line.
            _job = label.JobName;
            _jobWithPrefix = JsonEncodedText.Encode(_job.Length == 0 ? "" : "labeling-job/" + _job);
        }

        w.WriteString(Names.JobName, _jobWithPrefix);
        w.WriteEndObject();
        w.WriteEndObject();
        w.Flush();

        output.Write(_buffer.WrittenSpan);
        output.WriteByte((byte)'\n');
        Lines++;
    }

    private static readonly long[] Scales = [1, 10, 100, 1000, 10000];

    private static void Append(Span<byte> raw, ref int n, ReadOnlySpan<byte> text)
    {
        text.CopyTo(raw[n..]);
        n += text.Length;
    }

    private static void AppendInt(Span<byte> raw, ref int n, int value)
    {
        value.TryFormat(raw[n..], out var written, default, CultureInfo.InvariantCulture);
        n += written;
    }

    /// <summary>
    /// Appends <c>Math.Round(value, decimals)</c> as the shortest decimal (what <see cref="Utf8JsonWriter.WriteNumber(string, double)"/>
    /// prints for such a value: 455.6, 41, 0.41) without the cost of general double formatting.
    /// </summary>
    private static void AppendRounded(Span<byte> raw, ref int n, double value, int decimals)
    {
        var rounded = Math.Round(value, decimals);
        var scale = Scales[decimals];
        var scaled = Math.Round(rounded * scale);
        if (Math.Abs(scaled) >= 1e15)
        {
            // Out of the range the integer path covers: the writer's own shortest round-trip form.
            rounded.TryFormat(raw[n..], out var written, default, CultureInfo.InvariantCulture);
            n += written;
            return;
        }

        var units = (long)scaled;
        Span<byte> text = stackalloc byte[24];
        var pos = text.Length;
        var negative = units < 0;
        var magnitude = Math.Abs(units);
        var fraction = magnitude % scale;
        var whole = magnitude / scale;
        if (fraction != 0)
        {
            var digits = decimals;
            while (fraction % 10 == 0)
            {
                fraction /= 10;
                digits--;
            }

            for (var i = 0; i < digits; i++)
            {
                text[--pos] = (byte)('0' + (fraction % 10));
                fraction /= 10;
            }

            text[--pos] = (byte)'.';
        }

        do
        {
            text[--pos] = (byte)('0' + (whole % 10));
            whole /= 10;
        }
        while (whole != 0);

        if (negative)
        {
            text[--pos] = (byte)'-';
        }

        Append(raw, ref n, text[pos..]);
    }

    /// <summary>Names of class ids come from the line's class-map; an id without one gets a placeholder.</summary>
    public static string ClassName(ManifestAttribute label, int classId) =>
        label.ClassMap.TryGetValue(classId, out var n) ? n : "class-" + classId.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Provenance: everything the edge recorded, then who labeled the image and in which job (see
    /// <see cref="DatasetProvenance"/>); the edge's own source/job-name/adjustment-status are replaced.
    /// </summary>
    private void WriteProvenance(Utf8JsonWriter w, ManifestLine line, ManifestAttribute label, bool human)
    {
        w.WriteStartObject(ProvenanceName);
        var hasEdgeReason = false;
        string? edgeAdjustment = null;
        if (!line.Provenance.IsEmpty)
        {
            var span = line.Provenance.Span;
            var reader = new Utf8JsonReader(span);
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var replaced = reader.ValueTextEquals("source"u8) || reader.ValueTextEquals("job-name"u8);
                var adjustment = reader.ValueTextEquals("adjustment-status"u8);
                hasEdgeReason |= reader.ValueTextEquals("edge-reason"u8);
                var escapedName = reader.ValueIsEscaped ? reader.GetString() : null;
                var rawName = reader.ValueSpan;
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                if (adjustment && reader.TokenType == JsonTokenType.String)
                {
                    edgeAdjustment = reader.GetString();
                }

                reader.Skip();
                if (!replaced && !adjustment)
                {
                    if (escapedName is not null)
                    {
                        w.WritePropertyName(escapedName);
                    }
                    else
                    {
                        w.WritePropertyName(rawName);
                    }

                    w.WriteRawValue(span[start..(int)reader.BytesConsumed], skipInputValidation: true);
                }
            }
        }

        if (!hasEdgeReason && line.EdgeReason is { } reason)
        {
            w.WriteString(Names.EdgeReason, reason);
        }

        w.WriteString(Names.Source, human ? Names.Human : Names.Model);
        if (label.JobName.Length > 0)
        {
            w.WriteString(Names.JobName, Encoded(label.JobName));
        }

        if ((label.AdjustmentStatus ?? edgeAdjustment) is { } status)
        {
            w.WriteString(Names.AdjustmentStatus, Encoded(status));
        }

        w.WriteEndObject();
    }

    /// <summary>The encoded form of <paramref name="text"/>, from the cache when it was seen before.</summary>
    private JsonEncodedText Encoded(string text)
    {
        if (_encoded.TryGetValue(text, out var known))
        {
            return known;
        }

        if (_encoded.Count >= MaxEncoded)
        {
            _encoded.Clear();
        }

        var encoded = JsonEncodedText.Encode(text);
        _encoded[text] = encoded;
        return encoded;
    }

    private static string CreationDate(string? value, DateTimeOffset fallback)
    {
        // Ground Truth's own format (no zone, microseconds) is kept as it is; anything else is normalised to it.
        if (value is not null && IsGroundTruthDate(value))
        {
            return value;
        }

        if (value is not null && DateTime.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var d))
        {
            return GroundTruthManifest.FormatCreationDate(new DateTimeOffset(d, TimeSpan.Zero));
        }

        return GroundTruthManifest.FormatCreationDate(fallback);
    }

    /// <summary>yyyy-MM-ddTHH:mm:ss.ffffff with plausible field values (checked by hand: this runs once per line).</summary>
    private static bool IsGroundTruthDate(string v)
    {
        if (v.Length != 26 || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' || v[19] != '.')
        {
            return false;
        }

        for (var i = 0; i < 26; i++)
        {
            if (i is not (4 or 7 or 10 or 13 or 16 or 19) && !char.IsAsciiDigit(v[i]))
            {
                return false;
            }
        }

        int Two(int at) => ((v[at] - '0') * 10) + (v[at + 1] - '0');
        return Two(5) is >= 1 and <= 12 && Two(8) is >= 1 and <= 31 && Two(11) <= 23 && Two(14) <= 59 && Two(17) <= 60;
    }

    /// <summary>
    /// Every constant name and value, encoded once: a name given as UTF-8 bytes is escape-checked on each write,
    /// which for ~30 names per line was a tenth of the writer's time.
    /// </summary>
    private static class Names
    {
        public static readonly JsonEncodedText AdjustmentStatus = JsonEncodedText.Encode("adjustment-status");
        public static readonly JsonEncodedText Annotations = JsonEncodedText.Encode("annotations");
        public static readonly JsonEncodedText ClassMap = JsonEncodedText.Encode("class-map");
        public static readonly JsonEncodedText CreationDate = JsonEncodedText.Encode("creation-date");
        public static readonly JsonEncodedText EdgeReason = JsonEncodedText.Encode("edge-reason");
        public static readonly JsonEncodedText Human = JsonEncodedText.Encode("human");
        public static readonly JsonEncodedText HumanAnnotated = JsonEncodedText.Encode("human-annotated");
        public static readonly JsonEncodedText ImageSize = JsonEncodedText.Encode("image_size");
        public static readonly JsonEncodedText JobName = JsonEncodedText.Encode("job-name");
        public static readonly JsonEncodedText Model = JsonEncodedText.Encode("model");
        public static readonly JsonEncodedText No = JsonEncodedText.Encode("no");
        public static readonly JsonEncodedText Objects = JsonEncodedText.Encode("objects");
        public static readonly JsonEncodedText Source = JsonEncodedText.Encode("source");
        public static readonly JsonEncodedText SourceRef = JsonEncodedText.Encode("source-ref");
        public static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
        public static readonly JsonEncodedText Yes = JsonEncodedText.Encode("yes");
        public static readonly JsonEncodedText ObjectDetectionType = JsonEncodedText.Encode(GroundTruthManifest.ObjectDetectionType);
    }

    public void Dispose() => _json.Dispose();
}
