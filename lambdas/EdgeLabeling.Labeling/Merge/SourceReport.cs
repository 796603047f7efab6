using EdgeLabeling.Contracts;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>How often a label attribute was seen in one input and how many of its lines became dataset lines.</summary>
public sealed record AttributeTally(string? Type, long Lines, long Used);

/// <summary>What the merge did with one input: lines read, used, unlabeled, and every label attribute it found.</summary>
public sealed record SourceReport
{
    public required string Name { get; init; }

    /// <summary>"job-output" or "auto-labels".</summary>
    public required string Role { get; init; }

    public long Lines { get; init; }
    public long Used { get; init; }
    public long Unlabeled { get; init; }

    /// <summary>Attribute name → tally; a used attribute other than the dataset's was mapped onto it.</summary>
    public required IReadOnlyDictionary<string, AttributeTally> Attributes { get; init; }

    /// <summary>Lines were read and none could be used.</summary>
    public bool NothingUsable => Lines > 0 && Used == 0;

    /// <summary>One sentence for people: which attributes were found and what was done with them.</summary>
    public string Describe(string datasetAttribute)
    {
        if (Attributes.Count == 0)
        {
            return $"{Name}: {Lines:N0} line(s), no label attribute (no '<name>-metadata' object) found";
        }

        var parts = Attributes.Select(kv =>
        {
            var (name, t) = (kv.Key, kv.Value);
            var type = t.Type ?? "no type";
            if (t.Used > 0)
            {
                return name == datasetAttribute
                    ? $"'{name}' ({type}): {t.Used:N0} of {t.Lines:N0} line(s) used"
                    : $"'{name}' ({type}): {t.Used:N0} of {t.Lines:N0} line(s) used as '{datasetAttribute}'";
            }

            return type == GroundTruthManifest.ObjectDetectionType
                ? $"'{name}' ({type}) on {t.Lines:N0} line(s): no usable box label"
                : $"'{name}' ({type}) on {t.Lines:N0} line(s): not a bounding-box label";
        });
        return $"{Name}: {Used:N0} of {Lines:N0} line(s) used; attributes found: {string.Join("; ", parts)}";
    }
}

/// <summary>Accumulates a <see cref="SourceReport"/> while an input streams past.</summary>
internal sealed class SourceTally(string name, string role)
{
    private readonly Dictionary<string, (string? Type, long Lines, long Used)> _attributes = new(StringComparer.Ordinal);
    private long _lines, _used, _unlabeled;

    public void Add(ManifestLine line, LabelChoice choice)
    {
        _lines++;
        foreach (var a in line.Attributes)
        {
            if (!a.HasMetadata)
            {
                continue;
            }

            var t = _attributes.GetValueOrDefault(a.Name);
            _attributes[a.Name] = (t.Type ?? a.Type, t.Lines + 1, t.Used + (choice.Label == a ? 1 : 0));
        }

        if (choice.IsUsable)
        {
            _used++;
        }
        else if (choice.IsUnlabeled)
        {
            _unlabeled++;
        }
    }

    /// <summary>A line that is not even a JSON object with a source-ref still counts as read.</summary>
    public void AddUnreadable() => _lines++;

    public SourceReport ToReport() => new()
    {
        Name = name,
        Role = role,
        Lines = _lines,
        Used = _used,
        Unlabeled = _unlabeled,
        Attributes = _attributes.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => new AttributeTally(kv.Value.Type, kv.Value.Lines, kv.Value.Used), StringComparer.Ordinal),
    };
}
