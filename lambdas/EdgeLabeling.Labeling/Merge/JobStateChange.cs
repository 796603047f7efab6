using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeLabeling.Labeling.Events;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>
/// Reads and writes the EventBridge event SageMaker sends when a Ground Truth labeling job changes state
/// (source <c>aws.sagemaker</c>, detail-type "SageMaker Ground Truth Labeling Job State Change"). The
/// envelope is the shared <see cref="EventBridgeEvent"/>; this class owns only what is specific to job
/// state changes: the expected source and detail-type, the job ARN in <c>resources[0]</c>, and the status.
/// </summary>
public static class JobStateChangeEvent
{
    public const string ExpectedSource = EventBridgeEvent.SageMakerSource;
    public const string ExpectedDetailType = EventBridgeEvent.LabelingJobStateChangeType;

    /// <summary>Builds the event exactly as EventBridge delivers it (used by the simulator and tests).</summary>
    public static EventBridgeEvent Create(string jobArn, string status, DateTimeOffset time)
    {
        var arn = LabelingJobArn.Parse(jobArn);
        return new EventBridgeEvent
        {
            Version = "0",
            Id = Guid.NewGuid().ToString(),
            DetailType = ExpectedDetailType,
            Source = ExpectedSource,
            Account = arn.Account,
            Time = time,
            Region = arn.Region,
            Resources = [jobArn],
            Detail = JsonSerializer.SerializeToElement(new LabelingJobStateDetail { LabelingJobStatus = status }, LabelingJsonContext.Default.LabelingJobStateDetail),
        };
    }

    /// <summary>Parses and checks the event; throws <see cref="FormatException"/> naming the problem.</summary>
    public static JobStateChange Parse(ReadOnlySpan<byte> utf8Json)
    {
        EventBridgeEvent? e;
        LabelingJobStateDetail? detail;
        try
        {
            e = JsonSerializer.Deserialize(utf8Json, LabelingJsonContext.Default.EventBridgeEvent);
            // The envelope keeps detail as raw JSON (its shape depends on detail-type), so a detail of the
            // wrong shape surfaces here and is reported as malformed like any other JSON error.
            detail = e?.Detail is { ValueKind: not JsonValueKind.Null } d ? d.Deserialize(LabelingJsonContext.Default.LabelingJobStateDetail) : null;
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

        var status = detail?.LabelingJobStatus;
        if (string.IsNullOrEmpty(status))
        {
            throw new FormatException("missing-status: the event has no detail.LabelingJobStatus");
        }

        var arn = LabelingJobArn.Parse(e.Resources[0]);
        return new JobStateChange(arn.JobName, arn.Arn, status, e.Time ?? DateTimeOffset.UnixEpoch);
    }
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
[JsonSerializable(typeof(MergeResult))]
[JsonSerializable(typeof(DatasetBuildReport))]
[JsonSerializable(typeof(MergeDoneMarker))]
public partial class MergeJsonContext : JsonSerializerContext;
