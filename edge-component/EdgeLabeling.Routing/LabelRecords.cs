using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Inference;

namespace EdgeLabeling.Routing;

/// <summary>
/// Turns decisions into the records that leave the device:
/// <list type="bullet">
/// <item>auto-labels: one SageMaker Ground Truth bounding-box output-manifest line (human-annotated "no",
/// the model's confidences, job-name <c>labeling-job/edge-auto-{device}</c>) with an extra
/// <c>edgelabel-provenance</c> key naming the model, thresholds and device;</item>
/// <item>review/audit images: a contracts <see cref="ReviewRecord"/> with the model's boxes as pre-annotations.</item>
/// </list>
/// </summary>
/// <remarks>
/// No Ground Truth job exists for labels made on a device, so the job name follows
/// <see cref="LabelingConventions.EdgeAutoLabelJobName"/>: the merge can tell them from human jobs by the
/// <c>edge-auto-</c> prefix and by <c>human-annotated: "no"</c>.
/// </remarks>
public sealed class LabelRecords
{
    /// <summary>
    /// Extra key of every auto-label line, carrying <see cref="Contracts.Provenance"/> (+ per-class thresholds) minus
    /// "source" and "job-name", which the line states in its own metadata.
    /// </summary>
    public const string ProvenanceKey = "edgelabel-provenance";

    private readonly JsonObject _provenanceNode;

    /// <summary>Creates the factory for one model and one set of options.</summary>
    public LabelRecords(DetectorInfo detector, RoutingOptions options)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(options);
        Detector = detector;
        Options = options.Validate();
        JobName = LabelingConventions.EdgeAutoLabelJobName(options.DeviceName);
        Provenance = new Provenance
        {
            Source = "model",
            ModelSha256 = detector.ModelSha256,
            ModelName = Path.GetFileName(detector.ModelPath),
            Device = options.DeviceName,
            AutoAcceptThreshold = options.AutoAcceptThreshold,
            UncertainLow = options.UncertainLow,
            JobName = JobName,
            PolicyVersion = RoutingOptions.PolicyVersion,
        };
        _provenanceNode = JsonSerializer.SerializeToNode(Provenance, ContractsJsonContext.Default.Provenance)!.AsObject();
        // The line already says both: human-annotated "no" is the source, and its metadata carries the job name.
        // The merge sets "source" and "job-name" on every dataset line itself, so repeating them here only costs
        // link bytes on every auto-label line.
        _provenanceNode.Remove("source");
        _provenanceNode.Remove("job-name");
        if (options.ClassThresholds.Count > 0)
        {
            var perClass = new JsonObject();
            foreach (var (name, value) in options.ClassThresholds.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                perClass[name] = value;
            }

            _provenanceNode["class-thresholds"] = perClass;
        }
    }

    /// <summary>The model the records describe.</summary>
    public DetectorInfo Detector { get; }

    /// <summary>The options in force.</summary>
    public RoutingOptions Options { get; }

    /// <summary>"labeling-job/edge-auto-{device}".</summary>
    public string JobName { get; }

    /// <summary>Provenance written into every record.</summary>
    public Provenance Provenance { get; }

    /// <summary>
    /// The S3 key the image gets: incoming/{device}/{yyyy}/{MM}/{dd}/{sha256}.{ext} when people see it (review,
    /// audit); an auto-labeled image, uploaded only if the operator asks, goes under auto-labels/{device}/images/
    /// so it never enters the labeling queue.
    /// </summary>
    public string ImageKey(ImageDecision decision) => decision.Outcome == RoutingOutcome.AutoLabel
        ? LabelingConventions.AutoLabeledImageKey(Options.DeviceName, decision.Input.CaptureTime, decision.Sha256, UsableExtension(decision))
        : ObjectKeyLayout.ImageKey(Options.DeviceName, decision.Input.CaptureTime, decision.Sha256, UsableExtension(decision));

    /// <summary>
    /// The source-ref: <c>s3://{sourceBucket}/{image key}</c> when a bucket is configured, otherwise the
    /// <c>file://</c> URI of the input file (the local CLI has no bucket; an absolute URI keeps the manifest
    /// valid wherever it is moved).
    /// </summary>
    public string SourceRef(ImageDecision decision) =>
        Options.SourceBucket is { } bucket
            ? $"s3://{bucket}/{ImageKey(decision)}"
            : new Uri(Path.GetFullPath(decision.Input.SourcePath)).AbsoluteUri;

    /// <summary>The Ground Truth output-manifest line of an auto-labeled (or audit) image.</summary>
    public JsonObject AutoLabelLine(ImageDecision decision, DateTimeOffset creationDate)
    {
        ArgumentNullException.ThrowIfNull(decision);
        if (decision.Outcome is not (RoutingOutcome.AutoLabel or RoutingOutcome.Audit) || decision.Size is not { } size)
        {
            throw new ArgumentException($"only auto-label and audit decisions have an auto-label line, not {decision.Outcome.ToWire()}", nameof(decision));
        }

        return GroundTruthManifest.BuildLine(
            SourceRef(decision),
            Options.LabelAttributeName,
            size,
            decision.Boxes,
            Detector.ClassNames,
            humanAnnotated: false,
            JobName,
            creationDate,
            [new KeyValuePair<string, JsonNode?>(ProvenanceKey, _provenanceNode)]);
    }

    /// <summary>The sidecar review record of an image that goes to people (review or audit).</summary>
    public ReviewRecord ReviewRecord(ImageDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        if (!decision.Outcome.NeedsPeople() || decision.Size is not { } size)
        {
            throw new ArgumentException($"only review and audit decisions have a review record, not {decision.Outcome.ToWire()}", nameof(decision));
        }

        return new ReviewRecord
        {
            ImageSha256 = decision.Sha256,
            ImageKey = ImageKey(decision),
            ThingName = Options.DeviceName,
            Camera = decision.Input.Camera,
            OriginalFile = Path.GetFileName(decision.Input.SourcePath),
            CaptureTime = decision.Input.CaptureTime,
            ImageSize = ImageSizeDto.From(size),
            Outcome = decision.Outcome.ToWire(),
            Reason = decision.Reason,
            ClassNames = Detector.ClassNames,
            PreAnnotations = decision.Boxes.Select(PreAnnotation.From).ToList(),
            Provenance = Provenance,
        };
    }

    private static string UsableExtension(ImageDecision decision) =>
        decision.Extension is "jpg" or "png"
            ? decision.Extension
            : throw new ArgumentException($"image {decision.Input.SourcePath} has no image format ({decision.Extension}); it cannot get an image key", nameof(decision));
}
