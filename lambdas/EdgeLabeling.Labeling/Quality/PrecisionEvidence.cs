using System.Globalization;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;

namespace EdgeLabeling.Labeling.Quality;

/// <summary>Which human answer a piece of evidence comes from.</summary>
public static class EvidenceSamples
{
    /// <summary>An auto-accepted image also sent to people (<see cref="LabelingConventions.AuditSampleReason"/>): an unbiased sample of the automatic labels.</summary>
    public const string Audit = "audit";

    /// <summary>An image the edge was unsure about: people checked every box, but the images are harder than average.</summary>
    public const string Reviewed = "reviewed";
}

/// <summary>
/// Model confidences in fixed bins of width 1/<see cref="Count"/>; evidence stores counts per bin so that the
/// precision at any threshold on that grid can be read back without keeping single boxes.
/// </summary>
public static class ConfidenceBins
{
    /// <summary>50 bins: thresholds are recommended on a 0.02 grid.</summary>
    public const int Count = 50;

    public static int Of(double confidence) =>
        double.IsFinite(confidence) ? Math.Clamp((int)Math.Floor((confidence * Count) + 1e-9), 0, Count - 1) : 0;

    /// <summary>The lowest confidence that falls in <paramref name="bin"/>.</summary>
    public static double LowerEdge(int bin) => Math.Round((double)bin / Count, 4);

    /// <summary>The first bin whose boxes are all at or above <paramref name="threshold"/> (a threshold between grid points rounds up).</summary>
    public static int FirstAtOrAbove(double threshold) => Math.Clamp((int)Math.Ceiling((threshold * Count) - 1e-9), 0, Count);
}

/// <summary>
/// One cell of production evidence: for one capture day, device, model (SHA-256), class and sample kind, how
/// many model boxes people saw per confidence bin, how many of them people kept (matched at the IoU threshold),
/// and how many boxes people drew. Cells are what a job's summary carries into the dataset index, so the
/// production precision over any window is a sum over cells, never a re-read of the dataset.
/// </summary>
public sealed record PrecisionEvidence
{
    /// <summary>Capture day (UTC) as yyyy-MM-dd: the day in the image's key, else the day of the human label.</summary>
    public required string Day { get; init; }
    public required string Device { get; init; }

    /// <summary>SHA-256 of the model that made the boxes (the edge's provenance), or "unknown".</summary>
    public required string Model { get; init; }
    /// <summary>The class name; <see cref="AllClasses"/> ("") on the cell that counts every image of its day, device, model and sample.</summary>
    public required string Class { get; init; }

    /// <summary>Class of the per-image tally cell (no boxes): images people answered, whatever classes they hold.</summary>
    public const string AllClasses = "";

    /// <summary><see cref="EvidenceSamples.Audit"/> or <see cref="EvidenceSamples.Reviewed"/>.</summary>
    public required string Sample { get; init; }

    /// <summary>Images in which this class appeared (model or people).</summary>
    public long Images { get; init; }

    /// <summary>Boxes of this class people drew.</summary>
    public long HumanBoxes { get; init; }

    /// <summary>Flat triples (bin, model boxes, matched boxes) for every non-empty confidence bin, bins ascending.</summary>
    public required long[] Bins { get; init; }

    public DateOnly CaptureDay => DateOnly.ParseExact(Day, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>Model boxes in the cell.</summary>
    public long ModelBoxes
    {
        get
        {
            long n = 0;
            for (var i = 0; i + 2 < Bins.Length; i += 3)
            {
                n += Bins[i + 1];
            }

            return n;
        }
    }

    /// <summary>Model boxes people kept.</summary>
    public long MatchedBoxes
    {
        get
        {
            long n = 0;
            for (var i = 0; i + 2 < Bins.Length; i += 3)
            {
                n += Bins[i + 2];
            }

            return n;
        }
    }
}

/// <summary>
/// Builds <see cref="PrecisionEvidence"/> cells from human answers next to the model's prior boxes, one image at a
/// time (the merge feeds it the lines of one job, so its size is O(job)).
/// </summary>
public sealed class PrecisionEvidenceBuilder(double iouThreshold = 0.5)
{
    private const string Unknown = "unknown";

    // Distinct devices / models remembered as shared strings; more than this in one job are decoded per line.
    private const int MaxInterned = 64;
    // Cells by group, then by class: an image looks its group up once and each of its boxes by class name only.
    private readonly Dictionary<(string Day, string Device, string Model, string Sample), Dictionary<string, Cell>> _groups = [];
    private readonly Dictionary<DateOnly, string> _dayText = [];
    private readonly HashSet<string> _seenClasses = new(StringComparer.Ordinal);
    private readonly List<(byte[] Utf8, string Value)> _devices = [];
    private readonly List<(byte[] Utf8, string Value)> _models = [];
    private readonly List<string> _keyDevices = [];

    public double IouThreshold { get; } = iouThreshold;

    /// <summary>Images added so far.</summary>
    public long Images { get; private set; }

    /// <summary>Adds one image: its human line (provenance gives device and model), the model's boxes and people's.</summary>
    public void Add(ManifestLine line, ManifestAttribute prior, ManifestAttribute human, DateTimeOffset fallbackTime)
    {
        var sample = line.RoutingReason == LabelingConventions.AuditSampleReason ? EvidenceSamples.Audit : EvidenceSamples.Reviewed;
        // One look at the key for both the capture day and the device (the provenance's device wins).
        var key = IncomingKeyOf(line.SourceRef);
        var inLayout = ObjectKeyLayout.TryParseLayout(key, out var layout, out _);
        var day = inLayout ? layout.Date : DayOf(human.CreationDate) ?? DateOnly.FromDateTime(fallbackTime.UtcDateTime);
        var device = ProvenanceValue(line, "device"u8, "device", _devices) ?? (inLayout ? SharedString(key[layout.ThingName], _keyDevices) : Unknown);
        var model = ProvenanceValue(line, "model-sha256"u8, "model-sha256", _models) ?? Unknown;
        Add(day, device, model, sample, prior.Boxes, prior.ClassMap, human.Boxes, human.ClassMap);
    }

    /// <summary>
    /// A provenance value as a string shared by every line that carries the same bytes: a job has a handful of
    /// devices and models, so the lines of 100,000 images need no string each.
    /// </summary>
    private static string? ProvenanceValue(ManifestLine line, ReadOnlySpan<byte> utf8Name, string name, List<(byte[] Utf8, string Value)> seen)
    {
        if (!line.TryGetProvenanceUtf8(utf8Name, out var raw))
        {
            return line.ProvenanceString(name) is { Length: > 0 } escaped ? escaped : null;
        }

        if (raw.IsEmpty)
        {
            return null;
        }

        foreach (var (utf8, value) in seen)
        {
            if (raw.SequenceEqual(utf8))
            {
                return value;
            }
        }

        var text = System.Text.Encoding.UTF8.GetString(raw);
        if (seen.Count < MaxInterned)
        {
            seen.Add((raw.ToArray(), text));
        }

        return text;
    }

    /// <summary>Adds one image from its parts (tests and the CLI's generated histories use this directly).</summary>
    public void Add(DateOnly day, string device, string model, string sample, IReadOnlyList<PixelBox> modelBoxes, IReadOnlyDictionary<int, string> modelClasses,
        IReadOnlyList<PixelBox> humanBoxes, IReadOnlyDictionary<int, string> humanClasses)
    {
        // Called per reviewed or audited line by the merge: flags on the stack, one reused set, cached day text.
        Span<bool> matchedModel = modelBoxes.Count <= 64 ? stackalloc bool[modelBoxes.Count] : new bool[modelBoxes.Count];
        Span<bool> matchedHuman = humanBoxes.Count <= 64 ? stackalloc bool[humanBoxes.Count] : new bool[humanBoxes.Count];
        BoxAgreement.MatchFlags(modelBoxes, humanBoxes, IouThreshold, matchedModel, matchedHuman);
        if (!_dayText.TryGetValue(day, out var dayText))
        {
            _dayText[day] = dayText = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        }

        _seenClasses.Clear();
        var groupKey = (dayText, device, model, sample);
        if (!_groups.TryGetValue(groupKey, out var group))
        {
            _groups[groupKey] = group = new Dictionary<string, Cell>(StringComparer.Ordinal);
        }

        CellOf(group, PrecisionEvidence.AllClasses, countImage: false).Images++;
        for (var i = 0; i < modelBoxes.Count; i++)
        {
            var cell = CellOf(group, ClassName(modelBoxes[i].ClassId, modelClasses, humanClasses), countImage: true);
            var bin = ConfidenceBins.Of(modelBoxes[i].Confidence);
            cell.Boxes[bin]++;
            if (matchedModel[i])
            {
                cell.Matched[bin]++;
            }
        }

        foreach (var h in humanBoxes)
        {
            CellOf(group, ClassName(h.ClassId, humanClasses, modelClasses), countImage: true).HumanBoxes++;
        }

        Images++;
    }

    /// <summary>The cell of one group; the first time a class shows up in the current image, it counts the image.</summary>
    private Cell CellOf(Dictionary<string, Cell> group, string className, bool countImage)
    {
        if (!group.TryGetValue(className, out var cell))
        {
            group[className] = cell = new Cell();
        }

        // The share of images sent to people needs image counts whatever the classes: the tally cell counts
        // every image (by its caller), the class cells once per image in which the class appears.
        if (countImage && _seenClasses.Add(className))
        {
            cell.Images++;
        }

        return cell;
    }

    /// <summary>The cells, in a stable order.</summary>
    public IReadOnlyList<PrecisionEvidence> ToEvidence() =>
        _groups.SelectMany(g => g.Value.Select(c => (Group: g.Key, Class: c.Key, Cell: c.Value)))
            .OrderBy(x => x.Group.Day, StringComparer.Ordinal).ThenBy(x => x.Group.Device, StringComparer.Ordinal).ThenBy(x => x.Group.Model, StringComparer.Ordinal)
            .ThenBy(x => x.Class, StringComparer.Ordinal).ThenBy(x => x.Group.Sample, StringComparer.Ordinal)
            .Select(x => new PrecisionEvidence
            {
                Day = x.Group.Day,
                Device = x.Group.Device,
                Model = x.Group.Model,
                Class = x.Class,
                Sample = x.Group.Sample,
                Images = x.Cell.Images,
                HumanBoxes = x.Cell.HumanBoxes,
                Bins = x.Cell.ToBins(),
            })
            .ToList();

    private static string ClassName(int id, IReadOnlyDictionary<int, string> first, IReadOnlyDictionary<int, string> second) =>
        first.TryGetValue(id, out var name) || second.TryGetValue(id, out name) ? name : id.ToString(CultureInfo.InvariantCulture);

    /// <summary>The key of an s3:// source-ref (empty when there is none): incoming/{thing}/{yyyy}/{MM}/{dd}/… for edge images.</summary>
    private static ReadOnlySpan<char> IncomingKeyOf(string? sourceRef)
    {
        if (sourceRef is null || !sourceRef.StartsWith("s3://", StringComparison.Ordinal))
        {
            return default;
        }

        var slash = sourceRef.IndexOf('/', 5);
        return slash < 0 ? default : sourceRef.AsSpan(slash + 1);
    }

    /// <summary>A device name from a key as a string shared by every line of the same device (see <see cref="ProvenanceValue"/>).</summary>
    private static string SharedString(ReadOnlySpan<char> value, List<string> seen)
    {
        foreach (var known in seen)
        {
            if (value.SequenceEqual(known))
            {
                return known;
            }
        }

        var text = value.ToString();
        if (seen.Count < MaxInterned)
        {
            seen.Add(text);
        }

        return text;
    }

    private static DateOnly? DayOf(string? creationDate) =>
        creationDate is { Length: >= 10 } && DateOnly.TryParseExact(creationDate[..10], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : null;

    private sealed class Cell
    {
        public long Images;
        public long HumanBoxes;
        public readonly long[] Boxes = new long[ConfidenceBins.Count];
        public readonly long[] Matched = new long[ConfidenceBins.Count];

        public long[] ToBins()
        {
            var bins = new List<long>();
            for (var b = 0; b < ConfidenceBins.Count; b++)
            {
                if (Boxes[b] > 0)
                {
                    bins.Add(b);
                    bins.Add(Boxes[b]);
                    bins.Add(Matched[b]);
                }
            }

            return [.. bins];
        }
    }
}
