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

    /// <summary>Ground Truth output lines (job shards or raw output manifests); the label attribute is found per line (see <see cref="LabelSelection"/>).</summary>
    public required IReadOnlyList<ManifestSource> HumanSources { get; init; }

    /// <summary>Auto-label batches from the edge (label under the dataset attribute, "&lt;attr&gt;-model" or any box label).</summary>
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
    public long YoloImages { get; init; }
    public long TotalImages => HumanImages + ModelImages;

    /// <summary>Per input: lines read and used, and which label attributes were found and mapped onto the dataset's.</summary>
    public IReadOnlyList<SourceReport> Sources { get; init; } = [];
}

/// <summary>
/// Joins job shards (human labels) and auto-label batches (model labels) into one augmented manifest with
/// ONE label attribute, one line per image, human labels winning, plus COCO and YOLO exports. Streams every
/// input through the one tolerant parser (<see cref="ManifestLineParser"/>, no DOM per line) and writes with
/// <see cref="DatasetLineWriter"/>; memory is two sets of 128-bit image fingerprints (<see cref="FingerprintSet"/>,
/// 16-32 MB each per million images), never the lines themselves. This is the on-demand export; the per-job merge only
/// writes the job's shard (<see cref="JobShard"/>).
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
    public Task<DatasetBuildReport> BuildAsync(DatasetBuildRequest request, Stream datasetOutput, Stream? cocoOutput, CancellationToken cancellationToken = default) =>
        BuildAsync(request, datasetOutput, cocoOutput, null, cancellationToken);

    /// <summary>As above, also writing a YOLO dataset into <paramref name="yoloDirectory"/> when given.</summary>
    public async Task<DatasetBuildReport> BuildAsync(DatasetBuildRequest request, Stream datasetOutput, Stream? cocoOutput, string? yoloDirectory, CancellationToken cancellationToken = default)
    {
        var attr = request.DatasetAttribute;
        GroundTruthManifest.ValidateLabelAttributeName(attr);
        var skipped = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var audit = new BoxAgreement(request.AgreementIouThreshold);
        var reviewed = new BoxAgreement(request.AgreementIouThreshold);
        var sources = new List<SourceReport>();
        long humanImages = 0, modelImages = 0, humanOverModel = 0, dupHuman = 0, dupModel = 0, unlabeled = 0;

        await using var coco = cocoOutput is null ? null : new CocoExportWriter(request.WorkDirectory);
        using var yolo = yoloDirectory is null ? null : new YoloExportWriter(yoloDirectory);
        var buffered = new BufferedStream(datasetOutput, 1 << 16);
        using var writer = new DatasetLineWriter(buffered);

        // Pass 1: which images have an auto label at all.
        var autoKeys = new FingerprintSet();
        foreach (var source in request.AutoLabelSources)
        {
            await foreach (var (_, line) in source.ReadUtf8LinesAsync(cancellationToken).ConfigureAwait(false))
            {
                if (ManifestLineParser.ReadSourceRef(line.Span) is { } sourceRef)
                {
                    autoKeys.Add(ImageIdentity.FingerprintOf(sourceRef));
                }
            }
        }

        // Pass 2: human labels.
        var humanKeys = new FingerprintSet();
        var parsed = ManifestLine.CreateReusable();
        foreach (var source in request.HumanSources)
        {
            var tally = new SourceTally(source.Name, "job-output");
            await foreach (var (lineNumber, bytes) in source.ReadUtf8LinesAsync(cancellationToken).ConfigureAwait(false))
            {
                var line = ManifestLineParser.Parse(bytes.Span, parsed);
                var choice = LabelSelection.Choose(line, attr, LabelRole.Human);
                tally.Add(line, choice);
                if (choice.Label is not { } label)
                {
                    if (choice.IsUnlabeled)
                    {
                        unlabeled++;
                    }
                    else
                    {
                        Count(skipped, choice.Reason!);
                        _logger.LogWarning("Skipped line {Line} of {Source}: {Reason} ({Detail})", lineNumber, source.Name, choice.Reason, choice.Detail);
                    }

                    continue;
                }

                var fp = ImageIdentity.FingerprintOf(line.SourceRef!);
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

                if (choice.Prior is { } prior)
                {
                    (inAuto ? audit : reviewed).Add(prior.Boxes, label.Boxes);
                }

                writer.Write(line, label, attr, human: true, request.FallbackCreationDate);
                AddToExports(coco, yolo, line.SourceRef!, label, fp, "human");
                humanImages++;
            }

            sources.Add(tally.ToReport());
        }

        // Pass 3: model labels for everything people did not label.
        foreach (var source in request.AutoLabelSources)
        {
            var tally = new SourceTally(source.Name, "auto-labels");
            await foreach (var (lineNumber, bytes) in source.ReadUtf8LinesAsync(cancellationToken).ConfigureAwait(false))
            {
                var line = ManifestLineParser.Parse(bytes.Span, parsed);
                var choice = LabelSelection.Choose(line, attr, LabelRole.Model);
                tally.Add(line, choice);
                if (choice.Label is not { } label)
                {
                    Count(skipped, "auto-label-" + choice.Reason);
                    _logger.LogWarning("Skipped auto-label line {Line} of {Source}: {Reason} ({Detail})", lineNumber, source.Name, choice.Reason, choice.Detail);
                    continue;
                }

                var fp = ImageIdentity.FingerprintOf(line.SourceRef!);
                if (humanKeys.Contains(fp))
                {
                    continue;
                }

                if (!autoKeys.Remove(fp))
                {
                    dupModel++;
                    continue;
                }

                writer.Write(line, label, attr, human: false, request.FallbackCreationDate);
                AddToExports(coco, yolo, line.SourceRef!, label, fp, "model");
                modelImages++;
            }

            sources.Add(tally.ToReport());
        }

        await buffered.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (coco is not null)
        {
            await coco.WriteToAsync(cocoOutput!, $"EdgeLabeling dataset '{attr}'", cancellationToken).ConfigureAwait(false);
        }

        yolo?.Finish($"EdgeLabeling dataset '{attr}' (written by edgelabel export)");
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
            YoloImages = yolo?.ImageCount ?? 0,
            Sources = sources,
        };
        _logger.LogInformation("Dataset '{Attribute}' built: {Human} human, {Model} model images; audit precision {Precision}", attr, humanImages, modelImages, AgreementSummary.Format(report.AuditAgreement.Precision));
        return report;
    }

    private static void AddToExports(CocoExportWriter? coco, YoloExportWriter? yolo, string sourceRef, ManifestAttribute label, UInt128 fp, string labelSource)
    {
        if (coco is null && yolo is null)
        {
            return;
        }

        var imageKey = ImageIdentity.KeyOf(sourceRef);
        coco?.AddImage(ImageIdentity.CocoImageId(fp), sourceRef, label.Size!.Value, label.Boxes, label.ClassMap, i => ImageIdentity.CocoAnnotationId(imageKey, i), labelSource);
        yolo?.AddImage(sourceRef, YoloExportWriter.StemOf(imageKey, fp), label.Size!.Value, label.Boxes, id => DatasetLineWriter.ClassName(label, id));
    }

    private static void Count(IDictionary<string, long> counts, string reason) =>
        counts[reason] = counts.TryGetValue(reason, out var n) ? n + 1 : 1;
}
