namespace EdgeLabeling.Simulation;

/// <summary>Settings of the simulated SageMaker endpoint.</summary>
public sealed record GroundTruthSimulatorOptions
{
    public string Region { get; init; } = "us-east-1";
    public string AccountId { get; init; } = "123456789012";
    public required string AccessKeyId { get; init; }
    public required string SecretAccessKey { get; init; }

    /// <summary>How far x-amz-date may be from the server clock (AWS allows 5 minutes).</summary>
    public TimeSpan AllowedClockSkew { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>When set, jobs move Initializing → InProgress → Completed on their own after this long.</summary>
    public TimeSpan? AutoCompleteAfter { get; init; }

    /// <summary>How long a stopped job stays Stopping before it is Stopped.</summary>
    public TimeSpan StopDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Scratch folder for spooling output files.</summary>
    public string WorkDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "edgelabeling-gt-sim");

    /// <summary>Receives each state-change event as EventBridge would deliver it (JSON).</summary>
    public Func<string, CancellationToken, Task>? OnJobStateChange { get; init; }

    /// <summary>
    /// Ground Truth's output can appear minutes after the state-change event. When set, a finished job's
    /// output manifest is written, reported by DescribeLabelingJob, but kept out of the bucket until
    /// <see cref="GroundTruthSimulator.ReleaseOutputAsync"/>.
    /// </summary>
    public bool HoldOutputUntilReleased { get; init; }
}
