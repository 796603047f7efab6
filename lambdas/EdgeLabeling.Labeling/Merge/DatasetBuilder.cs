using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Coco;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>What to join into one dataset.</summary>
public sealed record DatasetBuildRequest
{
    /// <summary>The one label attribute of the dataset (e.g. "parts").</summary>
    public string DatasetAttribute { get; init; } = LabelingConventions.DefaultDatasetAttribute;

    /// <summary>Ground Truth output lines (job shards or raw output manifests) carrying the "&lt;attr&gt;-human" label.</summary>
    public required IReadOnlyList<ManifestSource> HumanSources { get; init; }

    /// <summary>Auto-label batches from the edge (label under the dataset attribute, or "&lt;attr&gt;-model").</summary>
    public required IReadOnlyList<ManifestSource> AutoLabelSources { get; init; }

    /// <summary>Where the COCO export spools its temporary files.</summary>
    public string WorkDirectory { get; init; } = Path.GetTempPath();

    public double AgreementIouThreshold { get; init; } = 0.5;

    /// <summary>creation-date used when a line has none, so rebuilding gives the same bytes.</summary>
    public DateTimeOffset FallbackCreationDate { get; init; } = DateTimeOffset.UnixEpoch;
}

/// <summary>Counts from one dataset build; <see cref="Skipped"/> maps a named reason to how many lines had it.</summary>
public sealed record DatasetBuildReport
{
    public long HumanImages { get; init; }
    public long ModelImages { get; init; }
    public long HumanOverModel { get; init; }
    public long DuplicateHumanLines { get; init; }
    public long DuplicateModelLines { get; init; }
    public long UnlabeledLines { get; init; }
    public required IReadOnlyDictionary<string, long> Skipped { get; init; }
    public required AgreementSummary AuditAgreement { get; init; }
    public required AgreementSummary ReviewedAgreement { get; init; }
    public long CocoImages { get; init; }
    public long CocoAnnotations { get; init; }
    public long TotalImages => HumanImages + ModelImages;
}

/// <summary>
/// Joins every job shard (human labels) and every auto-label batch (model labels) into one
/// augmented manifest with ONE label attribute, one line per image, human labels winning, plus a COCO
/// export. Streams every input; memory is two sets of 128-bit image fingerprints (about 40 MB per
/// million images), never the lines themselves.
/// </summary>
/// <remarks>
/// Three passes: (1) fingerprint every auto-labeled image; (2) write human lines, measuring the
/// model-vs-human agreement of audit images (in both sets) from the model boxes the job carried as
/// its prior attribute — the same boxes the auto-label line holds; (3) write auto-label lines whose
/// image has no human label, once each.
/// </remarks>
public sealed class DatasetBuilder(ILogger<DatasetBuilder>? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger<DatasetBuilder>.Instance;

    /// <summary>The provenance key added to every dataset line.</summary>
    public const string ProvenanceKey = DatasetProvenance.Key;

    /// <summary>
    /// Writes the dataset manifest to <paramref name="datasetOutput"/> and, when given, the COCO export to
    /// <paramref name="cocoOutput"/>; malformed lines are skipped and counted by named reason.
    /// </summary>
    public async Task<DatasetBuildReport> BuildAsync(DatasetBuildRequest request, Stream datasetOutput, Stream? cocoOutput, CancellationToken cancellationToken = default)
    {
        var attr = request.DatasetAttribute;
        GroundTruthManifest.ValidateLabelAttributeName(attr);
        var humanAttr = LabelingConventions.HumanAttribute(attr);
        var priorAttr = LabelingConventions.PriorAttribute(attr);
        var skipped = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var audit = new BoxAgreement(request.AgreementIouThreshold);
        var reviewed = new BoxAgreement(request.AgreementIouThreshold);
        long humanImages = 0, modelImages = 0, humanOverModel = 0, dupHuman = 0, dupModel = 0, unlabeled = 0;

        await using var coco = cocoOutput is null ? null : new CocoExportWriter(request.WorkDirectory);
        await using var writer = new StreamWriter(datasetOutput, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };

        // Pass 1: which images have an auto label at all.
        var autoKeys = new HashSet<UInt128>();
        foreach (var source in request.AutoLabelSources)
        {
            await foreach (var (_, line) in source.ReadLinesAsync(cancellationToken).ConfigureAwait(false))
            {
                if (TryReadSourceRef(line) is { } sourceRef)
                {
                    autoKeys.Add(ImageIdentity.Fingerprint(ImageIdentity.KeyOf(sourceRef)));
                }
            }
        }

        // Pass 2: human labels.
        var humanKeys = new HashSet<UInt128>();
        foreach (var source in request.HumanSources)
        {
            await foreach (var (lineNumber, line) in source.ReadLinesAsync(cancellationToken).ConfigureAwait(false))
            {
                ManifestLabel label;
                try
                {
                    label = GroundTruthManifest.Parse(line, humanAttr);
                }
                catch (FormatException ex)
                {
                    var reason = ClassifyRejectedLine(line, humanAttr);
                    if (reason is "failed-object" or "no-label")
                    {
                        unlabeled++;
                    }
                    else
                    {
                        Count(skipped, reason);
                        _logger.LogWarning("Skipped line {Line} of {Source}: {Reason} ({Detail})", lineNumber, source.Name, reason, ex.Message);
                    }

                    continue;
                }

                var key = ImageIdentity.KeyOf(label.SourceRef);
                var fp = ImageIdentity.Fingerprint(key);
                if (!humanKeys.Add(fp))
                {
                    dupHuman++;
                    continue;
                }

                var inAuto = autoKeys.Contains(fp);
                if (inAuto)
                {
                    humanOverModel++;
                }

                if (label.Raw[priorAttr] is JsonObject && TryParse(line, priorAttr) is { } prior)
                {
                    (inAuto ? audit : reviewed).Add(prior.Boxes, label.Boxes);
                }

                var jobName = label.JobName;
                var provenance = DatasetProvenance.ForDatasetLine(label.Raw, "human", jobName, label.Raw[humanAttr + "-metadata"]?["adjustment-status"]);
                await WriteAsync(writer, coco, label, attr, human: true, jobName, provenance, key, fp, request.FallbackCreationDate).ConfigureAwait(false);
                humanImages++;
            }
        }

        // Pass 3: model labels for everything people did not label.
        foreach (var source in request.AutoLabelSources)
        {
            await foreach (var (lineNumber, line) in source.ReadLinesAsync(cancellationToken).ConfigureAwait(false))
            {
                var label = TryParse(line, attr) ?? TryParse(line, priorAttr);
                if (label is null)
                {
                    var reason = ClassifyRejectedLine(line, attr);
                    Count(skipped, "auto-label-" + reason);
                    _logger.LogWarning("Skipped auto-label line {Line} of {Source}: {Reason}", lineNumber, source.Name, reason);
                    continue;
                }

                var key = ImageIdentity.KeyOf(label.SourceRef);
                var fp = ImageIdentity.Fingerprint(key);
                if (humanKeys.Contains(fp))
                {
                    continue;
                }

                if (!autoKeys.Remove(fp))
                {
                    dupModel++;
                    continue;
                }

                var provenance = DatasetProvenance.ForDatasetLine(label.Raw, "model", label.JobName, null);
                await WriteAsync(writer, coco, label, attr, human: false, label.JobName, provenance, key, fp, request.FallbackCreationDate).ConfigureAwait(false);
                modelImages++;
            }
        }

        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (coco is not null)
        {
            await coco.WriteToAsync(cocoOutput!, $"EdgeLabeling dataset '{attr}'", cancellationToken).ConfigureAwait(false);
        }

        var report = new DatasetBuildReport
        {
            HumanImages = humanImages,
            ModelImages = modelImages,
            HumanOverModel = humanOverModel,
            DuplicateHumanLines = dupHuman,
            DuplicateModelLines = dupModel,
            UnlabeledLines = unlabeled,
            Skipped = skipped,
            AuditAgreement = audit.ToSummary(),
            ReviewedAgreement = reviewed.ToSummary(),
            CocoImages = coco?.ImageCount ?? 0,
            CocoAnnotations = coco?.AnnotationCount ?? 0,
        };
        _logger.LogInformation("Dataset '{Attribute}' built: {Human} human, {Model} model images; audit precision {Precision}", attr, humanImages, modelImages, report.AuditAgreement.Precision);
        return report;
    }

    private static async Task WriteAsync(StreamWriter writer, CocoExportWriter? coco, ManifestLabel label, string attr, bool human, string jobName, JsonObject provenance, string imageKey, UInt128 fp, DateTimeOffset fallbackDate)
    {
        var classNames = ClassNames(label);
        var line = GroundTruthManifest.BuildLine(
            label.SourceRef, attr, label.Size, label.Boxes, classNames, human,
            jobName.Length == 0 ? "" : "labeling-job/" + jobName,
            ParseCreationDate(label.CreationDate) ?? fallbackDate,
            [new KeyValuePair<string, JsonNode?>(ProvenanceKey, provenance)]);
        await writer.WriteLineAsync(line.ToJsonString()).ConfigureAwait(false);
        coco?.AddImage(ImageIdentity.CocoImageId(fp), label.SourceRef, label.Size, label.Boxes, label.ClassMap, i => ImageIdentity.CocoAnnotationId(imageKey, i), human ? "human" : "model");
    }

    /// <summary>class_id indexes the job's label list; names come from the line's class-map, gaps get a placeholder.</summary>
    private static string[] ClassNames(ManifestLabel label)
    {
        var max = -1;
        foreach (var b in label.Boxes)
        {
            max = Math.Max(max, b.ClassId);
        }

        foreach (var id in label.ClassMap.Keys)
        {
            max = Math.Max(max, id);
        }

        var names = new string[max + 1];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = label.ClassMap.TryGetValue(i, out var n) ? n : $"class-{i}";
        }

        return names;
    }

    private static DateTimeOffset? ParseCreationDate(string? value)
    {
        if (value is not null && DateTime.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var d))
        {
            return new DateTimeOffset(d, TimeSpan.Zero);
        }

        return null;
    }

    private static ManifestLabel? TryParse(string line, string attr)
    {
        try
        {
            return GroundTruthManifest.Parse(line, attr);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string? TryReadSourceRef(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("source-ref", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Names why a manifest line was not usable (only called for lines that failed to parse).</summary>
    public static string ClassifyRejectedLine(string line, string attr)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(line);
        }
        catch (JsonException)
        {
            return "not-json";
        }

        if (node is not JsonObject obj)
        {
            return "not-an-object";
        }

        if (obj["source-ref"] is not JsonValue sr || !sr.TryGetValue(out string? s) || string.IsNullOrEmpty(s))
        {
            return "no-source-ref";
        }

        if (obj[attr] is null)
        {
            return obj[attr + "-metadata"]?["failure-reason"] is not null ? "failed-object" : "no-label";
        }

        if (obj[attr + "-metadata"] is null)
        {
            return "no-label-metadata";
        }

        return "invalid-label";
    }

    private static void Count(IDictionary<string, long> counts, string reason) =>
        counts[reason] = counts.TryGetValue(reason, out var n) ? n + 1 : 1;
}
