using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Labeling.SageMaker;

namespace EdgeLabeling.Labeling.Jobs;

/// <summary>Everything one labeling job needs: the three S3 objects and the CreateLabelingJob request.</summary>
public sealed record LabelingJobDraft(
    string JobName,
    string BatchId,
    bool Adjustment,
    IReadOnlyList<string> Labels,
    string ManifestKey,
    byte[] Manifest,
    string LabelCategoriesKey,
    byte[] LabelCategories,
    string TemplateKey,
    byte[] Template,
    CreateLabelingJobRequest Request)
{
    /// <summary>
    /// Prior boxes left out so every manifest line fits Ground Truth's input limits (lowest confidence
    /// first), by image key; empty when every box fit.
    /// </summary>
    public IReadOnlyDictionary<string, int> DroppedPriorBoxes { get; init; } = new Dictionary<string, int>();
}

/// <summary>
/// Builds a job from a batch: the input manifest (source-ref plus the model's boxes as the prior
/// attribute "{attr}-model"), the label category file, the crowd-bounding-box template and the
/// CreateLabelingJob request (adjustment task type when any item has boxes, plain bounding box otherwise).
/// </summary>
public sealed class LabelingJobFactory
{
    public const string BatchIdTag = "edgelabeling:batch-id";
    public const string ManifestFileName = "input.manifest";
    public const string LabelCategoriesFileName = "label-categories.json";
    public const string TemplateFileName = "bounding-box.liquid.html";
    private const string PriorPlaceholder = "__PRIOR_ATTRIBUTE__";

    /// <summary>Ground Truth's limit on one input manifest line (sms-input-data-input-manifest).</summary>
    public const int MaxLineCharacters = 100_000;

    /// <summary>Ground Truth's limit on one attribute of an input manifest line (sms-input-data-input-manifest).</summary>
    public const int MaxAttributeCharacters = 20_000;
    private readonly LabelingOptions options;
    private readonly TimeProvider _time;

    /// <summary>Fails at once (the batch function's cold start) when the settings every job needs are missing.</summary>
    public LabelingJobFactory(LabelingOptions options, TimeProvider? time = null)
    {
        if (string.IsNullOrWhiteSpace(options.WorkteamArn))
        {
            throw new ArgumentException("WORKTEAM_ARN is not set: labeling jobs need the private work team's ARN");
        }

        if (string.IsNullOrWhiteSpace(options.GroundTruthRoleArn))
        {
            throw new ArgumentException("GT_ROLE_ARN is not set: labeling jobs need the role Ground Truth assumes");
        }

        this.options = options;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The template the project ships (placeholders not yet filled).</summary>
    public static string TemplateSource { get; } = LoadTemplate();

    public LabelingJobDraft Build(BatchRecord batch, IReadOnlyList<PendingItem> items)
    {
        if (items.Count == 0)
        {
            throw new ArgumentException($"batch {batch.BatchId} has no items", nameof(items));
        }

        var labels = new List<string>(options.ClassNames);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < labels.Count; i++)
        {
            index.TryAdd(labels[i], i);
        }

        var prior = LabelingConventions.PriorAttribute(options.LabelAttribute);
        var created = _time.GetUtcNow();
        var manifest = new MemoryStream();
        var adjustment = false;
        var dropped = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var item in items.OrderBy(i => i.ImageKey, StringComparer.Ordinal))
        {
            var payload = item.Payload ?? throw new InvalidOperationException($"pending item {item.ImageKey} has no sidecar payload");

            // Each sidecar carries the class list of the model that made it; map its ids onto the job's list.
            var boxes = new List<PixelBox>(payload.PreAnnotations.Count);
            foreach (var p in payload.PreAnnotations)
            {
                var name = payload.ClassNames[p.ClassId];
                if (!index.TryGetValue(name, out var id))
                {
                    id = labels.Count;
                    labels.Add(name);
                    index[name] = id;
                }

                boxes.Add(p.ToPixelBox() with { ClassId = id });
            }

            JsonObject Line(IReadOnlyList<PixelBox> kept) => GroundTruthManifest.BuildLine(item.SourceRef, prior, payload.ImageSize.ToImageSize(), kept, labels,
                humanAnnotated: false, LabelingConventions.EdgeAutoLabelJobName(item.ThingName), created,
                Merge.DatasetProvenance.InputLineKeys(item.ThingName, payload.ModelSha256, payload.Reason));

            var (line, kept) = FitWithinLimits(boxes, Line, prior);
            if (line is null)
            {
                throw new InvalidOperationException(
                    $"manifest line for {item.ImageKey} exceeds Ground Truth's limits ({MaxLineCharacters:N0} characters per line, {MaxAttributeCharacters:N0} per attribute) even without prior boxes");
            }

            if (kept < boxes.Count)
            {
                dropped[item.ImageKey] = boxes.Count - kept;
            }

            adjustment |= kept > 0;
            var bytes = Encoding.UTF8.GetBytes(line.ToJsonString());

            manifest.Write(bytes);
            manifest.WriteByte((byte)'\n');
        }

        if (labels.Count == 0)
        {
            throw new InvalidOperationException($"batch {batch.BatchId} has no class names: set CLASS_NAMES or ship class-names in the sidecars");
        }

        var categories = JsonSerializer.SerializeToUtf8Bytes(LabelCategoryConfig.FromClassNames(labels), ContractsJsonContext.Default.LabelCategoryConfig);
        var template = Encoding.UTF8.GetBytes(TemplateSource.Replace(PriorPlaceholder, prior, StringComparison.Ordinal));
        var folder = $"{LabelingConventions.JobInputPrefix}{batch.JobName}/";
        var manifestKey = folder + ManifestFileName;
        var categoriesKey = folder + LabelCategoriesFileName;
        var templateKey = folder + TemplateFileName;
        var taskType = adjustment ? BuiltInLambdas.AdjustmentBoundingBox : BuiltInLambdas.BoundingBox;
        var tags = options.JobTags.Select(t => new SageMakerTag { Key = t.Key, Value = t.Value }).ToList();
        tags.Add(new SageMakerTag { Key = BatchIdTag, Value = batch.BatchId });

        var request = new CreateLabelingJobRequest
        {
            LabelingJobName = batch.JobName,
            LabelAttributeName = LabelingConventions.HumanAttribute(options.LabelAttribute),
            InputConfig = new LabelingJobInputConfig
            {
                DataSource = new LabelingJobDataSource { S3DataSource = new LabelingJobS3DataSource { ManifestS3Uri = S3Uri(manifestKey) } },
            },
            OutputConfig = new LabelingJobOutputConfig
            {
                S3OutputPath = S3Uri(LabelingConventions.JobOutputPrefix),
                KmsKeyId = options.KmsKeyId,
            },
            RoleArn = options.GroundTruthRoleArn,
            LabelCategoryConfigS3Uri = S3Uri(categoriesKey),
            HumanTaskConfig = new HumanTaskConfig
            {
                WorkteamArn = options.WorkteamArn,
                UiConfig = new UiConfig { UiTemplateS3Uri = S3Uri(templateKey) },
                PreHumanTaskLambdaArn = BuiltInLambdas.PreHumanTask(options.Region, taskType),
                TaskKeywords = ["Images", "bounding boxes", "object detection"],
                TaskTitle = options.Task.Title,
                TaskDescription = options.Task.Description,
                NumberOfHumanWorkersPerDataObject = options.Task.WorkersPerObject,
                TaskTimeLimitInSeconds = options.Task.TaskTimeLimitSeconds,
                TaskAvailabilityLifetimeInSeconds = options.Task.TaskAvailabilitySeconds(options.Batching),
                MaxConcurrentTaskCount = options.Task.MaxConcurrentTaskCount,
                AnnotationConsolidationConfig = new AnnotationConsolidationConfig
                {
                    AnnotationConsolidationLambdaArn = BuiltInLambdas.Consolidation(options.Region, taskType),
                },
            },
            Tags = tags,
        };
        CreateLabelingJobValidator.EnsureValid(request);
        return new LabelingJobDraft(batch.JobName, batch.BatchId, adjustment, labels, manifestKey, manifest.ToArray(), categoriesKey, categories, templateKey, template, request)
        {
            DroppedPriorBoxes = dropped,
        };
    }

    /// <summary>
    /// The line with as many prior boxes as fit Ground Truth's limits (the whole line and each of the
    /// prior's two attributes), keeping the most confident ones; null when not even an empty prior fits.
    /// A busy image thus loses its least confident pre-labels (workers can still draw them) instead of
    /// making a line Ground Truth rejects, which would fail the whole job.
    /// </summary>
    internal static (JsonObject? Line, int Kept) FitWithinLimits(IReadOnlyList<PixelBox> boxes, Func<IReadOnlyList<PixelBox>, JsonObject> build, string priorAttribute)
    {
        bool Fits(JsonObject line) =>
            line.ToJsonString().Length <= MaxLineCharacters
            && line[priorAttribute]!.ToJsonString().Length <= MaxAttributeCharacters
            && line[priorAttribute + "-metadata"]!.ToJsonString().Length <= MaxAttributeCharacters;

        var all = build(boxes);
        if (Fits(all))
        {
            return (all, boxes.Count);
        }

        // Stable sort: equal confidences keep the model's order. Size grows with the count, so the
        // largest count that fits is found by bisection.
        var ranked = boxes.OrderByDescending(b => b.Confidence).ToList();
        JsonObject? best = null;
        int lo = 0, hi = ranked.Count - 1, bestCount = -1;
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) / 2);
            var candidate = build(ranked.GetRange(0, mid));
            if (Fits(candidate))
            {
                best = candidate;
                bestCount = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return (best, Math.Max(bestCount, 0));
    }

    private string S3Uri(string key) => $"s3://{options.DataBucket}/{key}";

    private static string LoadTemplate()
    {
        using var s = typeof(LabelingJobFactory).Assembly.GetManifestResourceStream("EdgeLabeling.Labeling.Templates.bounding-box.liquid.html")
            ?? throw new InvalidOperationException("the bounding-box template is not embedded in EdgeLabeling.Labeling");
        using var r = new StreamReader(s, Encoding.UTF8);
        return r.ReadToEnd();
    }
}
