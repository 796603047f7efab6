using System.Text.Json.Nodes;

namespace EdgeLabeling.Simulation;

public enum SimulatedJobStatus
{
    Initializing,
    InProgress,
    Completed,
    Failed,
    Stopping,
    Stopped,
}

/// <summary>One job's state; guarded by locking the instance.</summary>
internal sealed class SimulatedJob(string name, string arn, JsonObject request, DateTimeOffset created, long sequence)
{
    public string Name { get; } = name;
    public string Arn { get; } = arn;
    public JsonObject Request { get; } = request;
    public DateTimeOffset CreationTime { get; } = created;
    public long Sequence { get; } = sequence;
    public string ReferenceCode { get; } = Guid.NewGuid().ToString("N")[..12];
    public SimulatedJobStatus Status { get; private set; } = SimulatedJobStatus.Initializing;
    public DateTimeOffset LastModifiedTime { get; private set; } = created;
    public long Labeled { get; set; }
    public long Failed { get; set; }
    public string? FailureReason { get; set; }
    public string? OutputDatasetS3Uri { get; set; }
    public bool Running { get; set; }

    /// <summary>Data objects people answered so far (from the start of the input manifest).</summary>
    public long Answered { get; set; }

    public void Move(SimulatedJobStatus to, DateTimeOffset at)
    {
        Status = to;
        LastModifiedTime = at;
    }

    public JsonObject Counters() => new()
    {
        ["TotalLabeled"] = Labeled,
        ["HumanLabeled"] = Labeled,
        ["MachineLabeled"] = 0,
        ["FailedNonRetryableError"] = Failed,
        ["Unlabeled"] = Status is SimulatedJobStatus.Completed ? 0 : Math.Max(0, Total - Labeled - Failed),
    };

    private long Total => Labeled + Failed;

    public LabelingJobSpec ToSpec(string region)
    {
        var h = Request["HumanTaskConfig"]!;
        var pre = h["PreHumanTaskLambdaArn"]?.GetValue<string>() ?? "";
        var categories = Request["LabelCategoryConfigS3Uri"]?.GetValue<string>();
        return new LabelingJobSpec(
            Name,
            Request["LabelAttributeName"]!.GetValue<string>(),
            S3Location.Parse(Request["InputConfig"]!["DataSource"]!["S3DataSource"]!["ManifestS3Uri"]!.GetValue<string>()),
            S3Location.Parse(Request["OutputConfig"]!["S3OutputPath"]!.GetValue<string>()),
            categories is null ? null : S3Location.Parse(categories),
            pre.EndsWith("-AdjustmentBoundingBox", StringComparison.Ordinal),
            h["NumberOfHumanWorkersPerDataObject"]?.GetValue<int>() ?? 1,
            region);
    }
}
