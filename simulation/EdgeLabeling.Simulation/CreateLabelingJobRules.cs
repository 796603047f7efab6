using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace EdgeLabeling.Simulation;

/// <summary>Checks a CreateLabelingJob request body; returns the constraint violations (empty when valid).</summary>
public interface ICreateLabelingJobRules
{
    /// <exception cref="SageMakerApiException">SerializationException when a member has the wrong JSON type.</exception>
    IReadOnlyList<string> Check(JsonElement request, string region);
}

/// <summary>
/// The service's side of CreateLabelingJob, written from the botocore model and the developer guide
/// (docs: /work/shared/reference/aws-contracts.md §1, §4, §6) and deliberately sharing no code with the
/// client's own validator, so a mistake made once cannot pass both. It reads the raw JSON (a member of the
/// wrong JSON type is a SerializationException, as the json protocol answers), applies patterns as full
/// matches (<c>\A…\z</c>: .NET's <c>$</c> would also accept a trailing newline), and words each violation
/// like the service: <c>Value 'x' at 'humanTaskConfig.taskTimeLimitInSeconds' failed to satisfy constraint: …</c>.
/// On top of the model: the documented bounding-box rules (no <c>-ref</c>/<c>-metadata</c> attribute, the
/// 8-hour task limit of image tasks, the built-in PRE/ACS Lambdas of the endpoint's Region, a label
/// category file, a UI template rather than a HumanTaskUiArn) and what the simulation does not run
/// (streaming jobs, the public workforce).
/// </summary>
public sealed class CreateLabelingJobRules : ICreateLabelingJobRules
{
    // Ground Truth's account per Region for the built-in PRE-/ACS- Lambdas (12 documented Regions).
    private static readonly Dictionary<string, string> GroundTruthAccounts = new(StringComparer.Ordinal)
    {
        ["us-east-1"] = "432418664414",
        ["us-east-2"] = "266458841044",
        ["us-west-2"] = "081040173940",
        ["ca-central-1"] = "918755190332",
        ["eu-west-1"] = "568282634449",
        ["eu-west-2"] = "487402164563",
        ["eu-central-1"] = "203001061592",
        ["ap-northeast-1"] = "477331159723",
        ["ap-northeast-2"] = "845288260483",
        ["ap-south-1"] = "565803892007",
        ["ap-southeast-1"] = "377565633583",
        ["ap-southeast-2"] = "454466003867",
    };

    private static readonly string[] BoundingBoxTaskTypes = ["BoundingBox", "AdjustmentBoundingBox"];

    // botocore patterns, printed without anchors in the model and applied to the whole value.
    private const string NamePattern = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}";
    private const string AttributePattern = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}";
    private const string S3UriPattern = "(https|s3)://([^/]+)/?(.*)";
    private const string RolePattern = "arn:aws[a-z\\-]*:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+";
    private const string WorkteamPattern = "arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:workteam/.*";
    private const string LambdaPattern = "arn:aws[a-z\\-]*:lambda:[a-z0-9\\-]*:[0-9]{12}:function:[a-zA-Z0-9\\-_\\.]+(:(\\$LATEST|[a-zA-Z0-9\\-_]+))?";
    private const string KeywordPattern = "[A-Za-z0-9]+( [A-Za-z0-9]+)*";
    private const string TaskTextPattern = "[\\t\\n\\r -\\uD7FF\\uE000-\\uFFFD]*";
    private const string KmsPattern = "[a-zA-Z0-9:/_-]*";
    private const string SnsPattern = "arn:aws[a-z\\-]*:sns:[a-z0-9\\-]*:[0-9]{12}:[a-zA-Z0-9_.-]*";

    private static readonly Regex BuiltInLambda = new("\\Aarn:aws[a-z\\-]*:lambda:(?<region>[a-z0-9\\-]+):(?<account>[0-9]{12}):function:(?<phase>PRE|ACS)-(?<type>[A-Za-z0-9]+)\\z", RegexOptions.CultureInvariant);

    private static readonly Dictionary<string, Regex> Compiled = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Check(JsonElement request, string region)
    {
        var v = new Violations();
        Str(v, request, "LabelingJobName", "labelingJobName", 1, 63, NamePattern, required: true);
        if (Str(v, request, "LabelAttributeName", "labelAttributeName", 1, 127, AttributePattern, required: true) is { } attr)
        {
            if (attr.EndsWith("-metadata", StringComparison.Ordinal))
            {
                v.Add($"Value '{attr}' at 'labelAttributeName' failed to satisfy constraint: the label attribute name must not end with -metadata");
            }

            // Bounding-box output is the label itself, not an S3 reference (sms-data-output).
            if (attr.EndsWith("-ref", StringComparison.Ordinal))
            {
                v.Add($"Value '{attr}' at 'labelAttributeName' failed to satisfy constraint: bounding-box label attribute names must not end with -ref");
            }
        }

        CheckInput(v, request);
        if (Obj(v, request, "OutputConfig", "outputConfig", required: true) is { } output)
        {
            Str(v, output, "S3OutputPath", "outputConfig.s3OutputPath", 0, 1024, S3UriPattern, required: true);
            Str(v, output, "KmsKeyId", "outputConfig.kmsKeyId", 0, 2048, KmsPattern, required: false);
            Str(v, output, "SnsTopicArn", "outputConfig.snsTopicArn", 0, 2048, SnsPattern, required: false);
        }

        Str(v, request, "RoleArn", "roleArn", 20, 2048, RolePattern, required: true);
        if (Str(v, request, "LabelCategoryConfigS3Uri", "labelCategoryConfigS3Uri", 0, 1024, S3UriPattern, required: false) is null && !request.TryGetProperty("LabelCategoryConfigS3Uri", out _))
        {
            v.Add("LabelCategoryConfigS3Uri is required for bounding-box jobs (it names the labels)");
        }

        if (Obj(v, request, "StoppingConditions", "stoppingConditions", required: false) is { } stop)
        {
            Int(v, stop, "MaxHumanLabeledObjectCount", "stoppingConditions.maxHumanLabeledObjectCount", 1, int.MaxValue, required: false);
            Int(v, stop, "MaxPercentageOfInputDatasetLabeled", "stoppingConditions.maxPercentageOfInputDatasetLabeled", 1, 100, required: false);
        }

        if (Obj(v, request, "HumanTaskConfig", "humanTaskConfig", required: true) is { } task)
        {
            CheckHumanTask(v, task, region);
        }

        if (Arr(request, "Tags", "tags") is { } tags && tags.GetArrayLength() > 50)
        {
            v.Add($"Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50");
        }

        return v.List;
    }

    private static void CheckInput(Violations v, JsonElement request)
    {
        if (Obj(v, request, "InputConfig", "inputConfig", required: true) is not { } input)
        {
            return;
        }

        if (Obj(v, input, "DataSource", "inputConfig.dataSource", required: true) is not { } source)
        {
            return;
        }

        var s3 = Obj(v, source, "S3DataSource", "inputConfig.dataSource.s3DataSource", required: false);
        var sns = Obj(v, source, "SnsDataSource", "inputConfig.dataSource.snsDataSource", required: false);
        if (s3 is { } s)
        {
            Str(v, s, "ManifestS3Uri", "inputConfig.dataSource.s3DataSource.manifestS3Uri", 0, 1024, S3UriPattern, required: true);
        }

        if (sns is not null)
        {
            v.Add("InputConfig.DataSource.SnsDataSource: streaming labeling jobs are not supported by this simulation");
        }
        else if (s3 is null)
        {
            v.Add("Value null at 'inputConfig.dataSource.s3DataSource' failed to satisfy constraint: Member must not be null");
        }

        if (Obj(v, input, "DataAttributes", "inputConfig.dataAttributes", required: false) is { } attributes && Arr(attributes, "ContentClassifiers", "inputConfig.dataAttributes.contentClassifiers") is { } classifiers)
        {
            foreach (var c in classifiers.EnumerateArray())
            {
                var value = c.ValueKind == JsonValueKind.String ? c.GetString() : throw Serialization("inputConfig.dataAttributes.contentClassifiers");
                if (value is not ("FreeOfPersonallyIdentifiableInformation" or "FreeOfAdultContent"))
                {
                    v.Add($"Value '{value}' at 'inputConfig.dataAttributes.contentClassifiers' failed to satisfy constraint: Member must satisfy enum value set: [FreeOfPersonallyIdentifiableInformation, FreeOfAdultContent]");
                }
            }
        }
    }

    private static void CheckHumanTask(Violations v, JsonElement task, string region)
    {
        Str(v, task, "WorkteamArn", "humanTaskConfig.workteamArn", 0, 256, WorkteamPattern, required: true);
        if (Obj(v, task, "UiConfig", "humanTaskConfig.uiConfig", required: true) is { } ui)
        {
            Str(v, ui, "UiTemplateS3Uri", "humanTaskConfig.uiConfig.uiTemplateS3Uri", 0, 1024, S3UriPattern, required: false);
            if (ui.TryGetProperty("HumanTaskUiArn", out _))
            {
                v.Add("HumanTaskConfig.UiConfig.HumanTaskUiArn: image bounding box has no HumanTaskUiArn; use UiTemplateS3Uri");
            }
            else if (!ui.TryGetProperty("UiTemplateS3Uri", out _))
            {
                v.Add("Value null at 'humanTaskConfig.uiConfig.uiTemplateS3Uri' failed to satisfy constraint: Member must not be null");
            }
        }

        var pre = Str(v, task, "PreHumanTaskLambdaArn", "humanTaskConfig.preHumanTaskLambdaArn", 0, 2048, LambdaPattern, required: false);
        if (pre is null && !task.TryGetProperty("PreHumanTaskLambdaArn", out _))
        {
            v.Add("HumanTaskConfig.PreHumanTaskLambdaArn is required for built-in bounding-box task types");
        }

        var preType = pre is null ? null : BuiltIn(v, pre, "PRE", "humanTaskConfig.preHumanTaskLambdaArn", region);
        if (Arr(task, "TaskKeywords", "humanTaskConfig.taskKeywords") is { } keywords)
        {
            var count = keywords.GetArrayLength();
            if (count is < 1 or > 5)
            {
                v.Add($"Value at 'humanTaskConfig.taskKeywords' failed to satisfy constraint: Member must have length between 1 and 5, has {count}");
            }

            foreach (var k in keywords.EnumerateArray())
            {
                var keyword = k.ValueKind == JsonValueKind.String ? k.GetString()! : throw Serialization("humanTaskConfig.taskKeywords");
                Text(v, keyword, "humanTaskConfig.taskKeywords.member", 1, 30, KeywordPattern);
            }
        }

        Str(v, task, "TaskTitle", "humanTaskConfig.taskTitle", 1, 128, TaskTextPattern, required: true);
        Str(v, task, "TaskDescription", "humanTaskConfig.taskDescription", 1, 255, TaskTextPattern, required: true);
        Int(v, task, "NumberOfHumanWorkersPerDataObject", "humanTaskConfig.numberOfHumanWorkersPerDataObject", 1, 9, required: true);
        // 8 hours is the documented ceiling for image and text task types; bounding box is an image task.
        Int(v, task, "TaskTimeLimitInSeconds", "humanTaskConfig.taskTimeLimitInSeconds", 30, 28_800, required: true);
        // A private workforce's tasks live at most 30 days.
        Int(v, task, "TaskAvailabilityLifetimeInSeconds", "humanTaskConfig.taskAvailabilityLifetimeInSeconds", 60, 2_592_000, required: false);
        Int(v, task, "MaxConcurrentTaskCount", "humanTaskConfig.maxConcurrentTaskCount", 1, 5000, required: false);
        if (task.TryGetProperty("PublicWorkforceTaskPrice", out _))
        {
            v.Add("HumanTaskConfig.PublicWorkforceTaskPrice is only for the public (Mechanical Turk) workforce, not a private team");
        }

        var consolidation = Obj(v, task, "AnnotationConsolidationConfig", "humanTaskConfig.annotationConsolidationConfig", required: false);
        var acs = consolidation is { } c
            ? Str(v, c, "AnnotationConsolidationLambdaArn", "humanTaskConfig.annotationConsolidationConfig.annotationConsolidationLambdaArn", 0, 2048, LambdaPattern, required: true)
            : null;
        if (consolidation is null)
        {
            // Optional in the model, but a built-in task type cannot consolidate answers without it.
            v.Add("HumanTaskConfig.AnnotationConsolidationConfig is required for built-in bounding-box task types");
        }
        else if (acs is not null && BuiltIn(v, acs, "ACS", "humanTaskConfig.annotationConsolidationConfig.annotationConsolidationLambdaArn", region) is { } acsType && preType is not null && acsType != preType)
        {
            v.Add($"The consolidation Lambda ACS-{acsType} does not match the pre-human-task Lambda PRE-{preType}");
        }
    }

    /// <summary>The task type of a built-in Lambda of this Region's Ground Truth account; null (with a violation) otherwise.</summary>
    private static string? BuiltIn(Violations v, string arn, string phase, string member, string region)
    {
        var m = BuiltInLambda.Match(arn);
        if (!m.Success || m.Groups["phase"].Value != phase)
        {
            v.Add($"{member} '{arn}' must be a built-in {phase}-<TaskType> Lambda ARN");
            return null;
        }

        var arnRegion = m.Groups["region"].Value;
        if (!GroundTruthAccounts.TryGetValue(arnRegion, out var account))
        {
            v.Add($"{member} '{arn}': Region '{arnRegion}' has no documented built-in Ground Truth Lambdas");
            return null;
        }

        if (arnRegion != region)
        {
            v.Add($"{member} '{arn}' must be in the job's Region '{region}'");
        }

        if (m.Groups["account"].Value != account)
        {
            v.Add($"{member} '{arn}': built-in Lambdas in {arnRegion} belong to account {account}");
        }

        var type = m.Groups["type"].Value;
        if (!BoundingBoxTaskTypes.Contains(type, StringComparer.Ordinal))
        {
            v.Add($"{member} '{arn}': task type '{type}' is not a bounding-box task this simulation runs");
        }

        return type;
    }

    private static JsonElement? Obj(Violations v, JsonElement parent, string name, string path, bool required)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                v.Add($"Value null at '{path}' failed to satisfy constraint: Member must not be null");
            }

            return null;
        }

        return value.ValueKind == JsonValueKind.Object ? value : throw Serialization(path);
    }

    private static JsonElement? Arr(JsonElement parent, string name, string path)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Array ? value : throw Serialization(path);
    }

    private static string? Str(Violations v, JsonElement parent, string name, string path, int min, int max, string pattern, bool required)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                v.Add($"Value null at '{path}' failed to satisfy constraint: Member must not be null");
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw Serialization(path);
        }

        var s = value.GetString()!;
        return Text(v, s, path, min, max, pattern) ? s : null;
    }

    private static bool Text(Violations v, string s, string path, int min, int max, string pattern)
    {
        if (s.Length < min)
        {
            v.Add($"Value '{Shorten(s)}' at '{path}' failed to satisfy constraint: Member must have length greater than or equal to {min}");
            return false;
        }

        if (s.Length > max)
        {
            v.Add($"Value '{Shorten(s)}' at '{path}' failed to satisfy constraint: Member must have length less than or equal to {max}");
            return false;
        }

        if (!FullMatch(pattern).IsMatch(s))
        {
            v.Add($"Value '{Shorten(s)}' at '{path}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}");
            return false;
        }

        return true;
    }

    private static void Int(Violations v, JsonElement parent, string name, string path, long min, long max, bool required)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                v.Add($"Value null at '{path}' failed to satisfy constraint: Member must not be null");
            }

            return;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var n))
        {
            throw Serialization(path);
        }

        if (n < min)
        {
            v.Add($"Value '{n.ToString(CultureInfo.InvariantCulture)}' at '{path}' failed to satisfy constraint: Member must have value greater than or equal to {min.ToString(CultureInfo.InvariantCulture)}");
        }
        else if (n > max)
        {
            v.Add($"Value '{n.ToString(CultureInfo.InvariantCulture)}' at '{path}' failed to satisfy constraint: Member must have value less than or equal to {max.ToString(CultureInfo.InvariantCulture)}");
        }
    }

    private static Regex FullMatch(string pattern)
    {
        lock (Compiled)
        {
            if (!Compiled.TryGetValue(pattern, out var regex))
            {
                regex = new Regex("\\A(?:" + pattern + ")\\z", RegexOptions.CultureInvariant);
                Compiled[pattern] = regex;
            }

            return regex;
        }
    }

    private static SageMakerApiException Serialization(string path) =>
        new(400, "SerializationException", $"Member '{path}' has the wrong JSON type for its shape.");

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";

    private sealed class Violations
    {
        public List<string> List { get; } = [];

        public void Add(string message) => List.Add(message);
    }
}
