using System.Text.RegularExpressions;

namespace EdgeLabeling.Labeling.SageMaker;

/// <summary>
/// Checks a CreateLabelingJob request against the API's constraints (required members, lengths,
/// patterns, ranges, enums from the botocore model, plus the documented bounding-box rules).
/// Shared by the batcher (nothing invalid is ever sent) and the local SageMaker emulator (which
/// answers ValidationException with the same messages).
/// </summary>
public static partial class CreateLabelingJobValidator
{
    public const int MaxTaskTimeLimitImageSeconds = 28_800;
    public const int MaxTaskAvailabilityPrivateSeconds = 2_592_000;
    public static readonly IReadOnlySet<string> ContentClassifiers = new HashSet<string>(StringComparer.Ordinal) { "FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent" };

    [GeneratedRegex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")]
    private static partial Regex JobName();

    [GeneratedRegex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}$")]
    private static partial Regex AttributeName();

    [GeneratedRegex("^(https|s3)://([^/]+)/?(.*)$")]
    private static partial Regex S3Uri();

    [GeneratedRegex("^arn:aws[a-z\\-]*:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+$")]
    private static partial Regex RoleArn();

    [GeneratedRegex("^arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:workteam/.*$")]
    private static partial Regex WorkteamArn();

    [GeneratedRegex("^arn:aws[a-z\\-]*:lambda:[a-z0-9\\-]*:[0-9]{12}:function:[a-zA-Z0-9\\-_\\.]+(:(\\$LATEST|[a-zA-Z0-9\\-_]+))?$")]
    private static partial Regex LambdaArn();

    [GeneratedRegex("^arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:human-task-ui/.*$")]
    private static partial Regex HumanTaskUiArn();

    [GeneratedRegex("^arn:aws[a-z\\-]*:sns:[a-z0-9\\-]*:[0-9]{12}:[a-zA-Z0-9_.-]*$")]
    private static partial Regex SnsArn();

    [GeneratedRegex("^[a-zA-Z0-9:/_-]*$")]
    private static partial Regex KmsKeyId();

    [GeneratedRegex("^[A-Za-z0-9]+( [A-Za-z0-9]+)*$")]
    private static partial Regex TaskKeyword();

    [GeneratedRegex("^[\\t\\n\\r -\\uD7FF\\uE000-\\uFFFD]*$")]
    private static partial Regex TaskText();

    [GeneratedRegex("^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$")]
    private static partial Regex TagText();

    /// <summary>Every problem found, each naming the member (empty when the request is valid).</summary>
    public static IReadOnlyList<string> Validate(CreateLabelingJobRequest? request)
    {
        var p = new List<string>();
        if (request is null)
        {
            p.Add("request body is missing");
            return p;
        }

        Text(p, "LabelingJobName", request.LabelingJobName, 1, 63, JobName(), required: true);
        if (Text(p, "LabelAttributeName", request.LabelAttributeName, 1, 127, AttributeName(), required: true))
        {
            if (request.LabelAttributeName!.EndsWith("-metadata", StringComparison.Ordinal))
            {
                p.Add("LabelAttributeName must not end with -metadata");
            }

            if (IsBoundingBoxTask(request.HumanTaskConfig?.PreHumanTaskLambdaArn) && request.LabelAttributeName.EndsWith("-ref", StringComparison.Ordinal))
            {
                p.Add("LabelAttributeName must not end with -ref for bounding-box task types");
            }
        }

        if (request.InputConfig is null)
        {
            p.Add("InputConfig is required");
        }
        else if (request.InputConfig.DataSource is null)
        {
            p.Add("InputConfig.DataSource is required");
        }
        else
        {
            var ds = request.InputConfig.DataSource;
            if ((ds.S3DataSource is null) == (ds.SnsDataSource is null))
            {
                p.Add("InputConfig.DataSource must have exactly one of S3DataSource or SnsDataSource");
            }

            if (ds.S3DataSource is not null)
            {
                Text(p, "InputConfig.DataSource.S3DataSource.ManifestS3Uri", ds.S3DataSource.ManifestS3Uri, 0, 1024, S3Uri(), required: true);
            }

            if (ds.SnsDataSource is not null)
            {
                Text(p, "InputConfig.DataSource.SnsDataSource.SnsTopicArn", ds.SnsDataSource.SnsTopicArn, 0, 2048, SnsArn(), required: true);
            }

            foreach (var c in request.InputConfig.DataAttributes?.ContentClassifiers ?? [])
            {
                if (!ContentClassifiers.Contains(c))
                {
                    p.Add($"InputConfig.DataAttributes.ContentClassifiers value '{c}' is not one of {string.Join(", ", ContentClassifiers)}");
                }
            }

            if (request.InputConfig.DataAttributes?.ContentClassifiers is { Count: > 256 })
            {
                p.Add("InputConfig.DataAttributes.ContentClassifiers has more than 256 items");
            }
        }

        if (request.OutputConfig is null)
        {
            p.Add("OutputConfig is required");
        }
        else
        {
            Text(p, "OutputConfig.S3OutputPath", request.OutputConfig.S3OutputPath, 0, 1024, S3Uri(), required: true);
            Text(p, "OutputConfig.KmsKeyId", request.OutputConfig.KmsKeyId, 0, 2048, KmsKeyId(), required: false);
            Text(p, "OutputConfig.SnsTopicArn", request.OutputConfig.SnsTopicArn, 0, 2048, SnsArn(), required: false);
        }

        Text(p, "RoleArn", request.RoleArn, 20, 2048, RoleArn(), required: true);
        Text(p, "LabelCategoryConfigS3Uri", request.LabelCategoryConfigS3Uri, 0, 1024, S3Uri(), required: false);
        if (request.StoppingConditions is { } sc)
        {
            Range(p, "StoppingConditions.MaxHumanLabeledObjectCount", sc.MaxHumanLabeledObjectCount, 1, int.MaxValue, required: false);
            Range(p, "StoppingConditions.MaxPercentageOfInputDatasetLabeled", sc.MaxPercentageOfInputDatasetLabeled, 1, 100, required: false);
        }

        ValidateHumanTaskConfig(p, request.HumanTaskConfig);

        if (request.Tags is { } tags)
        {
            if (tags.Count > 50)
            {
                p.Add($"Tags has {tags.Count} items; at most 50 are allowed");
            }

            foreach (var t in tags)
            {
                Text(p, "Tags.Key", t.Key, 1, 128, TagText(), required: true);
                Text(p, "Tags.Value", t.Value, 0, 256, TagText(), required: true);
            }
        }

        return p;
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem.</summary>
    public static void EnsureValid(CreateLabelingJobRequest request)
    {
        var problems = Validate(request);
        if (problems.Count > 0)
        {
            throw new ArgumentException("CreateLabelingJob request is invalid: " + string.Join("; ", problems), nameof(request));
        }
    }

    private static void ValidateHumanTaskConfig(List<string> p, HumanTaskConfig? h)
    {
        if (h is null)
        {
            p.Add("HumanTaskConfig is required");
            return;
        }

        Text(p, "HumanTaskConfig.WorkteamArn", h.WorkteamArn, 0, 256, WorkteamArn(), required: true);
        if (h.UiConfig is null)
        {
            p.Add("HumanTaskConfig.UiConfig is required");
        }
        else
        {
            if ((h.UiConfig.UiTemplateS3Uri is null) == (h.UiConfig.HumanTaskUiArn is null))
            {
                p.Add("HumanTaskConfig.UiConfig must have exactly one of UiTemplateS3Uri or HumanTaskUiArn");
            }

            Text(p, "HumanTaskConfig.UiConfig.UiTemplateS3Uri", h.UiConfig.UiTemplateS3Uri, 0, 1024, S3Uri(), required: false);
            Text(p, "HumanTaskConfig.UiConfig.HumanTaskUiArn", h.UiConfig.HumanTaskUiArn, 0, 1024, HumanTaskUiArn(), required: false);
        }

        Text(p, "HumanTaskConfig.PreHumanTaskLambdaArn", h.PreHumanTaskLambdaArn, 0, 2048, LambdaArn(), required: false);
        if (h.TaskKeywords is { } kw)
        {
            if (kw.Count is < 1 or > 5)
            {
                p.Add($"HumanTaskConfig.TaskKeywords must have 1-5 items, has {kw.Count}");
            }

            foreach (var k in kw)
            {
                Text(p, "HumanTaskConfig.TaskKeywords item", k, 1, 30, TaskKeyword(), required: true);
            }
        }

        Text(p, "HumanTaskConfig.TaskTitle", h.TaskTitle, 1, 128, TaskText(), required: true);
        Text(p, "HumanTaskConfig.TaskDescription", h.TaskDescription, 1, 255, TaskText(), required: true);
        Range(p, "HumanTaskConfig.NumberOfHumanWorkersPerDataObject", h.NumberOfHumanWorkersPerDataObject, 1, 9, required: true);
        Range(p, "HumanTaskConfig.TaskTimeLimitInSeconds", h.TaskTimeLimitInSeconds, 30, MaxTaskTimeLimitImageSeconds, required: true);
        Range(p, "HumanTaskConfig.TaskAvailabilityLifetimeInSeconds", h.TaskAvailabilityLifetimeInSeconds, 60, MaxTaskAvailabilityPrivateSeconds, required: false);
        Range(p, "HumanTaskConfig.MaxConcurrentTaskCount", h.MaxConcurrentTaskCount, 1, 5000, required: false);
        var acs = h.AnnotationConsolidationConfig?.AnnotationConsolidationLambdaArn;
        if (h.AnnotationConsolidationConfig is not null)
        {
            Text(p, "HumanTaskConfig.AnnotationConsolidationConfig.AnnotationConsolidationLambdaArn", acs, 0, 2048, LambdaArn(), required: true);
        }

        // Optional in the model, but built-in task types fail without their consolidation Lambda.
        if (h.PreHumanTaskLambdaArn is { } pre && BuiltInLambdas.TryParseTaskType(pre, out var preType))
        {
            if (acs is null)
            {
                p.Add($"HumanTaskConfig.AnnotationConsolidationConfig is required for the built-in {preType} task type");
            }
            else if (!BuiltInLambdas.TryParseTaskType(acs, out var acsType) || acsType != preType)
            {
                p.Add($"HumanTaskConfig.AnnotationConsolidationConfig.AnnotationConsolidationLambdaArn must be the ACS-{preType} function matching the pre-human-task Lambda");
            }
        }
    }

    private static bool IsBoundingBoxTask(string? preArn) =>
        preArn is not null && BuiltInLambdas.TryParseTaskType(preArn, out var t) && t.EndsWith("BoundingBox", StringComparison.Ordinal);

    private static bool Text(List<string> p, string name, string? value, int min, int max, Regex pattern, bool required)
    {
        if (value is null)
        {
            if (required)
            {
                p.Add($"{name} is required");
            }

            return false;
        }

        if (value.Length < min || value.Length > max)
        {
            p.Add($"{name} must be {min}-{max} characters, is {value.Length}");
            return false;
        }

        if (!pattern.IsMatch(value))
        {
            p.Add($"{name} '{Shorten(value)}' does not match {pattern}");
            return false;
        }

        return true;
    }

    private static void Range(List<string> p, string name, int? value, int min, int max, bool required)
    {
        if (value is null)
        {
            if (required)
            {
                p.Add($"{name} is required");
            }

            return;
        }

        if (value < min || value > max)
        {
            p.Add($"{name} must be between {min} and {max}, is {value}");
        }
    }

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";
}
