using EdgeLabeling.Contracts;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>Which side of the dataset a manifest feeds: people's labels (job output) or the model's (auto labels).</summary>
public enum LabelRole
{
    Human,
    Model,
}

/// <summary>The label chosen from one line (and, for people's labels, the model's prior boxes), or why there is none.</summary>
public readonly record struct LabelChoice(ManifestAttribute? Label, ManifestAttribute? Prior, string? Reason, string? Detail)
{
    public bool IsUsable => Label is not null;

    /// <summary>The object came back without a label (expired, failed): not an error of the line.</summary>
    public bool IsUnlabeled => Reason is "failed-object" or "no-label";
}

/// <summary>
/// Finds the label of a line whatever its attribute is called. The dataset's own names come first
/// (<c>&lt;attr&gt;-human</c> for job output, <c>&lt;attr&gt;</c> then <c>&lt;attr&gt;-model</c> for auto
/// labels); otherwise any attribute whose <c>-metadata</c> says <c>type: groundtruth/object-detection</c> is
/// taken — people's labels before the model's for job output (and the reverse for auto labels), the newest
/// creation-date first when several remain, because a chained job's output also carries the labels it was
/// given. The chosen label is then written under the dataset's attribute.
/// </summary>
public static class LabelSelection
{
    public static LabelChoice Choose(ManifestLine line, string datasetAttribute, LabelRole role)
    {
        if (line.Problem is { } problem)
        {
            return new LabelChoice(null, null, problem, line.ProblemDetail);
        }

        var names = NamesOf(datasetAttribute);
        var priorName = names.Prior;
        var preferred = role == LabelRole.Human ? names.ForHuman : names.ForModel;

        foreach (var name in preferred)
        {
            if (line.Find(name) is not { } a)
            {
                continue;
            }

            if (a is { HasLabel: true, LabelIsObject: true })
            {
                if (!a.HasMetadata)
                {
                    return new LabelChoice(null, null, "no-label-metadata", $"'{name}' has no '{name}-metadata'");
                }

                return a.LabelError is null
                    ? new LabelChoice(a, role == LabelRole.Human ? PriorOf(line, a, priorName) : null, null, null)
                    : new LabelChoice(null, null, "invalid-label", $"'{name}': {a.LabelError}");
            }

            if (a is { HasLabel: false, HasMetadata: true, HasFailureReason: true })
            {
                return new LabelChoice(null, null, "failed-object", $"'{name}' has a failure-reason and no label");
            }
        }

        var wantHuman = role == LabelRole.Human;
        ManifestAttribute? best = null;
        foreach (var a in line.Attributes)
        {
            if (!a.IsUsableBoxLabel || (role == LabelRole.Human && a.Name == priorName))
            {
                continue;
            }

            if (best is null || Better(a, best, wantHuman))
            {
                best = a;
            }
        }

        if (best is not null)
        {
            return new LabelChoice(best, role == LabelRole.Human ? PriorOf(line, best, priorName) : null, null, null);
        }

        return WhyNone(line, role == LabelRole.Human ? priorName : null);
    }

    /// <summary>The attribute names derived from the dataset's, per thread for the last attribute asked (called once per line).</summary>
    private sealed record AttributeNames(string Attribute, string Prior, string[] ForHuman, string[] ForModel);

    [ThreadStatic]
    private static AttributeNames? _names;

    private static AttributeNames NamesOf(string datasetAttribute)
    {
        if (_names is { } known && string.Equals(known.Attribute, datasetAttribute, StringComparison.Ordinal))
        {
            return known;
        }

        var prior = LabelingConventions.PriorAttribute(datasetAttribute);
        return _names = new AttributeNames(datasetAttribute, prior, [LabelingConventions.HumanAttribute(datasetAttribute)], [datasetAttribute, prior]);
    }

    private static bool Better(ManifestAttribute a, ManifestAttribute b, bool wantHuman)
    {
        if ((a.HumanAnnotated == wantHuman) != (b.HumanAnnotated == wantHuman))
        {
            return a.HumanAnnotated == wantHuman;
        }

        return string.CompareOrdinal(a.CreationDate ?? "", b.CreationDate ?? "") > 0;
    }

    /// <summary>The model's boxes the job was given: the dataset's prior attribute, else another box label not made by people.</summary>
    private static ManifestAttribute? PriorOf(ManifestLine line, ManifestAttribute label, string priorName)
    {
        if (line.Find(priorName) is { IsUsableBoxLabel: true } prior && prior != label)
        {
            return prior;
        }

        foreach (var a in line.Attributes)
        {
            if (a != label && a.IsUsableBoxLabel && !a.HumanAnnotated)
            {
                return a;
            }
        }

        return null;
    }

    private static LabelChoice WhyNone(ManifestLine line, string? excluded)
    {
        foreach (var a in line.Attributes)
        {
            if (a.Name != excluded && a is { HasMetadata: true, HasLabel: false, HasFailureReason: true } && a.IsObjectDetectionByType())
            {
                return new LabelChoice(null, null, "failed-object", $"'{a.Name}' has a failure-reason and no label");
            }
        }

        foreach (var a in line.Attributes)
        {
            if (a.Name != excluded && a is { HasMetadata: true, HasLabel: true, LabelIsObject: true } && a.IsObjectDetection && a.LabelError is not null)
            {
                return new LabelChoice(null, null, "invalid-label", $"'{a.Name}': {a.LabelError}");
            }
        }

        foreach (var a in line.Attributes)
        {
            if (a.Name != excluded && a.HasMetadata && a.Type is { } type && type != GroundTruthManifest.ObjectDetectionType)
            {
                return new LabelChoice(null, null, "not-bounding-box", $"'{a.Name}' is a {type} label, not a bounding-box label");
            }
        }

        return new LabelChoice(null, null, "no-label", "no bounding-box label attribute");
    }

    private static bool IsObjectDetectionByType(this ManifestAttribute a) => a.Type is null or GroundTruthManifest.ObjectDetectionType;
}
