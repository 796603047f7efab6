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
    private readonly Utf8JsonWriter _json = new(new ArrayBufferWriter<byte>(1));
    private readonly List<int> _classIds = new(8);

    public long Lines { get; private set; }

    /// <summary>Writes one line for <paramref name="label"/> of <paramref name="line"/> under <paramref name="datasetAttribute"/>.</summary>
    public void Write(ManifestLine line, ManifestAttribute label, string datasetAttribute, bool human, DateTimeOffset fallbackCreationDate)
    {
        _buffer.ResetWrittenCount();
        _json.Reset(_buffer);
        var w = _json;
        w.WriteStartObject();
        w.WriteString("source-ref"u8, line.SourceRef);
        WriteProvenance(w, line, label, human);

        w.WriteStartObject(datasetAttribute);
        w.WriteStartArray("image_size"u8);
        w.WriteStartObject();
        var size = label.Size!.Value;
        w.WriteNumber("width"u8, size.Width);
        w.WriteNumber("height"u8, size.Height);
        w.WriteNumber("depth"u8, size.Depth);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteStartArray("annotations"u8);
        _classIds.Clear();
        foreach (var b in label.Boxes)
        {
            w.WriteStartObject();
            w.WriteNumber("class_id"u8, b.ClassId);
            w.WriteNumber("top"u8, Math.Round(b.Top, 2));
            w.WriteNumber("left"u8, Math.Round(b.Left, 2));
            w.WriteNumber("height"u8, Math.Round(b.Height, 2));
            w.WriteNumber("width"u8, Math.Round(b.Width, 2));
            w.WriteEndObject();
            if (!_classIds.Contains(b.ClassId))
            {
                _classIds.Add(b.ClassId);
            }
        }

        w.WriteEndArray();
        w.WriteEndObject();

        w.WriteStartObject(datasetAttribute + "-metadata");
        w.WriteStartArray("objects"u8);
        foreach (var b in label.Boxes)
        {
            w.WriteStartObject();
            w.WriteNumber("confidence"u8, Math.Round(b.Confidence, 4));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartObject("class-map"u8);
        foreach (var id in _classIds)
        {
            w.WriteString(id.ToString(CultureInfo.InvariantCulture), ClassName(label, id));
        }

        w.WriteEndObject();
        w.WriteString("type"u8, GroundTruthManifest.ObjectDetectionType);
        w.WriteString("human-annotated"u8, human ? "yes"u8 : "no"u8);
        w.WriteString("creation-date"u8, CreationDate(label.CreationDate, fallbackCreationDate));
        w.WriteString("job-name"u8, label.JobName.Length == 0 ? "" : "labeling-job/" + label.JobName);
        w.WriteEndObject();
        w.WriteEndObject();
        w.Flush();

        output.Write(_buffer.WrittenSpan);
        output.WriteByte((byte)'\n');
        Lines++;
    }

    /// <summary>Names of class ids come from the line's class-map; an id without one gets a placeholder.</summary>
    public static string ClassName(ManifestAttribute label, int classId) =>
        label.ClassMap.TryGetValue(classId, out var n) ? n : "class-" + classId.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Provenance: everything the edge recorded, then who labeled the image and in which job (see
    /// <see cref="DatasetProvenance"/>); the edge's own source/job-name/adjustment-status are replaced.
    /// </summary>
    private static void WriteProvenance(Utf8JsonWriter w, ManifestLine line, ManifestAttribute label, bool human)
    {
        w.WriteStartObject(DatasetProvenance.Key);
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
                var name = reader.GetString()!;
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                if (adjustment && reader.TokenType == JsonTokenType.String)
                {
                    edgeAdjustment = reader.GetString();
                }

                reader.Skip();
                if (!replaced && !adjustment)
                {
                    w.WritePropertyName(name);
                    w.WriteRawValue(span[start..(int)reader.BytesConsumed], skipInputValidation: true);
                }
            }
        }

        if (!hasEdgeReason && line.EdgeReason is { } reason)
        {
            w.WriteString("edge-reason"u8, reason);
        }

        w.WriteString("source"u8, human ? "human"u8 : "model"u8);
        if (label.JobName.Length > 0)
        {
            w.WriteString("job-name"u8, label.JobName);
        }

        if ((label.AdjustmentStatus ?? edgeAdjustment) is { } status)
        {
            w.WriteString("adjustment-status"u8, status);
        }

        w.WriteEndObject();
    }

    private static string CreationDate(string? value, DateTimeOffset fallback)
    {
        // Ground Truth's own format (no zone, microseconds) is kept as it is; anything else is normalised to it.
        if (value is { Length: 26 } && DateTime.TryParseExact(value, "yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            return value;
        }

        if (value is not null && DateTime.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var d))
        {
            return GroundTruthManifest.FormatCreationDate(new DateTimeOffset(d, TimeSpan.Zero));
        }

        return GroundTruthManifest.FormatCreationDate(fallback);
    }

    public void Dispose() => _json.Dispose();
}
