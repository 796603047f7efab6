using System.Text.RegularExpressions;

namespace EdgeLabeling.Labeling.SageMaker;

/// <summary>
/// Ground Truth's built-in pre-annotation (PRE-) and consolidation (ACS-) Lambdas. They live in a
/// Ground Truth account that differs per Region; only these 12 Regions are documented.
/// </summary>
public static partial class BuiltInLambdas
{
    public const string BoundingBox = "BoundingBox";
    public const string AdjustmentBoundingBox = "AdjustmentBoundingBox";

    public static readonly IReadOnlyDictionary<string, string> AccountByRegion = new Dictionary<string, string>(StringComparer.Ordinal)
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

    [GeneratedRegex("^arn:aws[a-z\\-]*:lambda:[a-z0-9\\-]+:[0-9]{12}:function:(PRE|ACS)-(?<type>[A-Za-z]+)$")]
    private static partial Regex BuiltInArn();

    /// <summary>arn:aws:lambda:{region}:{gt-account}:function:PRE-{taskType}.</summary>
    public static string PreHumanTask(string region, string taskType) => Arn(region, "PRE", taskType);

    /// <summary>arn:aws:lambda:{region}:{gt-account}:function:ACS-{taskType}.</summary>
    public static string Consolidation(string region, string taskType) => Arn(region, "ACS", taskType);

    /// <summary>The task type of a built-in PRE-/ACS- ARN (false for custom Lambdas).</summary>
    public static bool TryParseTaskType(string arn, out string taskType)
    {
        var m = BuiltInArn().Match(arn);
        taskType = m.Success ? m.Groups["type"].Value : "";
        return m.Success;
    }

    private static string Arn(string region, string kind, string taskType)
    {
        if (!AccountByRegion.TryGetValue(region ?? "", out var account))
        {
            throw new ArgumentException(
                $"Ground Truth built-in Lambdas are not documented for region '{region}'; use one of {string.Join(", ", AccountByRegion.Keys)}",
                nameof(region));
        }

        return $"arn:aws:lambda:{region}:{account}:function:{kind}-{taskType}";
    }
}
