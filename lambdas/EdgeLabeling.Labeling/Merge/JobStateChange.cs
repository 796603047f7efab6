using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>
/// The EventBridge event SageMaker sends when a Ground Truth labeling job changes state
/// (source <c>aws.sagemaker</c>, detail-type "SageMaker Ground Truth Labeling Job State Change").
/// </summary>
public sealed record JobStateChangeEvent
{
    public const string ExpectedSource = "aws.sagemaker";
    public const string ExpectedDetailType = "SageMaker Ground Truth Labeling Job State Change";

    [JsonPropertyName("version")] public string? Version { get; init; }
    [JsonPropertyName("id")] public string? Id { get; init; }
    [JsonPropertyName("detail-type")] public string? DetailType { get; init; }
    [JsonPropertyName("source")] public string? Source { get; init; }
    [JsonPropertyName("account")] public string? Account { get; init; }
    [JsonPropertyName("time")] public DateTimeOffset? Time { get; init; }
    [JsonPropertyName("region")] public string? Region { get; init; }
    [JsonPropertyName("resources")] public IReadOnlyList<string>? Resources { get; init; }
    [JsonPropertyName("detail")] public JobStateDetail? Detail { get; init; }

    /// <summary>Builds the event exactly as EventBridge delivers it (used by the simulator and tests).</summary>
    public static JobStateChangeEvent Create(string jobArn, string status, DateTimeOffset time)
    {
        var arn = LabelingJobArn.Parse(jobArn);
        return new JobStateChangeEvent
        {
            Version = "0",
            Id = Guid.NewGuid().ToString(),
            DetailType = ExpectedDetailType,
            Source = ExpectedSource,
            Account = arn.Account,
            Time = time,
            Region = arn.Region,
            Resources = [jobArn],
            Detail = new JobStateDetail { LabelingJobStatus = status },
        };
    }

    public string ToJson() => JsonSerializer.Serialize(this, MergeJsonContext.Default.JobStateChangeEvent);

    /// <summary>Parses and checks the event; throws <see cref="FormatException"/> naming the problem.</summary>
    public static JobStateChange Parse(ReadOnlySpan<byte> utf8Json)
    {
        JobStateChangeEvent? e;
        try
        {
            e = JsonSerializer.Deserialize(utf8Json, MergeJsonContext.Default.JobStateChangeEvent);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"malformed-event: not a job state-change event ({ex.Message})", ex);
        }

        if (e is null)
        {
            throw new FormatException("malformed-event: the event is JSON null");
        }

        if (!string.Equals(e.Source, ExpectedSource, StringComparison.Ordinal))
        {
            throw new FormatException($"unexpected-source: event source is '{e.Source}', expected '{ExpectedSource}'");
        }

        if (!string.Equals(e.DetailType, ExpectedDetailType, StringComparison.Ordinal))
        {
            throw new FormatException($"unexpected-detail-type: '{e.DetailType}' is not a labeling job state change");
        }

        if (e.Resources is not { Count: > 0 })
        {
            throw new FormatException("missing-job-arn: the event has no resources[0]");
        }

        var status = e.Detail?.LabelingJobStatus;
        if (string.IsNullOrEmpty(status))
        {
            throw new FormatException("missing-status: the event has no detail.LabelingJobStatus");
        }

        var arn = LabelingJobArn.Parse(e.Resources[0]);
        return new JobStateChange(arn.JobName, arn.Arn, status, e.Time ?? DateTimeOffset.UnixEpoch);
    }
}

public sealed record JobStateDetail
{
    [JsonPropertyName("LabelingJobStatus")] public string? LabelingJobStatus { get; init; }
}

/// <summary>The part of a state-change event the merge acts on.</summary>
public sealed record JobStateChange(string JobName, string JobArn, string Status, DateTimeOffset Time);

/// <summary><c>arn:aws:sagemaker:&lt;region&gt;:&lt;account&gt;:labeling-job/&lt;name&gt;</c>.</summary>
public readonly record struct LabelingJobArn(string Arn, string Partition, string Region, string Account, string JobName)
{
    public static LabelingJobArn Parse(string? arn)
    {
        var parts = arn?.Split(':', 6);
        if (arn is null || parts is not { Length: 6 } || parts[0] != "arn" || parts[2] != "sagemaker" || !parts[5].StartsWith("labeling-job/", StringComparison.Ordinal))
        {
            throw new FormatException($"not-a-labeling-job-arn: '{arn}' is not arn:aws:sagemaker:<region>:<account>:labeling-job/<name>");
        }

        var name = parts[5]["labeling-job/".Length..];
        if (!EdgeLabeling.Contracts.GroundTruthManifest.IsValidName(name, 63))
        {
            throw new FormatException($"not-a-labeling-job-arn: job name '{name}' in '{arn}' is not a valid labeling job name");
        }

        return new LabelingJobArn(arn, parts[1], parts[3], parts[4], name);
    }

    public static string Format(string region, string account, string jobName) => $"arn:aws:sagemaker:{region}:{account}:labeling-job/{jobName}";
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JobStateChangeEvent))]
[JsonSerializable(typeof(MergeResult))]
[JsonSerializable(typeof(DatasetBuildReport))]
[JsonSerializable(typeof(MergeDoneMarker))]
public partial class MergeJsonContext : JsonSerializerContext;
