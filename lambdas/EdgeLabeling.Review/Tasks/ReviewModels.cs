using EdgeLabeling.Contracts;

namespace EdgeLabeling.Review.Tasks;

/// <summary>Where a built-in job stands; the names are Ground Truth's LabelingJobStatus values.</summary>
public static class ReviewJobStatus
{
    /// <summary>Only while the DynamoDB store writes a new job's tasks.</summary>
    public const string Initializing = "Initializing";
    public const string InProgress = "InProgress";
    public const string Completed = "Completed";
    public const string Failed = "Failed";
    public const string Stopping = "Stopping";
    public const string Stopped = "Stopped";

    public static bool IsOpen(string status) => status is InProgress;
}

/// <summary>Where one task stands. Pending and Leased tasks are open; Submitted and Expired are final.</summary>
public enum ReviewTaskState
{
    Pending,
    Leased,
    Submitted,
    Expired,
}

/// <summary>
/// One built-in labeling job: what the CreateLabelingJob request said (attribute, output path, categories,
/// time limits) plus its status. <see cref="Key"/> is the lower-cased name because job names are unique
/// per account and Region ignoring case, as in Ground Truth.
/// </summary>
public sealed record ReviewJob
{
    public required string Name { get; init; }
    public required string Arn { get; init; }
    public required string LabelAttributeName { get; init; }

    /// <summary>S3OutputPath of the request (s3://bucket/prefix/).</summary>
    public required string OutputPath { get; init; }

    public required string InputManifestUri { get; init; }
    public string? LabelCategoryConfigUri { get; init; }
    public required IReadOnlyList<string> Categories { get; init; }
    public required bool Adjustment { get; init; }

    /// <summary>How long one lease lasts without a heartbeat (TaskTimeLimitInSeconds).</summary>
    public required int TaskTimeLimitSeconds { get; init; }

    /// <summary>After this, tasks nobody submitted expire (CreationTime + TaskAvailabilityLifetimeInSeconds).</summary>
    public required DateTimeOffset AvailableUntil { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
    public required int TaskCount { get; init; }
    public string Status { get; init; } = ReviewJobStatus.InProgress;
    public DateTimeOffset LastModifiedAt { get; init; }
    public string? OutputManifestUri { get; init; }
    public string? FailureReason { get; init; }

    /// <summary>The CreateLabelingJob request as JSON, returned by DescribeLabelingJob.</summary>
    public required string RequestJson { get; init; }

    public string Key => KeyOf(Name);

    public static string KeyOf(string jobName) => jobName.ToLowerInvariant();
}

/// <summary>One image of a job. The input line is kept verbatim: Ground Truth passes its keys through.</summary>
public sealed record ReviewTask
{
    public required string JobKey { get; init; }
    public required int Index { get; init; }
    public required string SourceRef { get; init; }
    public required string InputLine { get; init; }

    /// <summary>Null when neither the line nor the sidecar names the size: the task cannot be shown and expires.</summary>
    public ImageSize? ImageSize { get; init; }

    public ReviewTaskState State { get; init; } = ReviewTaskState.Pending;
    public string? LeaseOwner { get; init; }
    public string? LeaseId { get; init; }
    public DateTimeOffset? LeaseExpiresAt { get; init; }
    public DateTimeOffset? AcceptedAt { get; init; }

    /// <summary>The labeler's answer (<see cref="ReviewAnswer"/> as JSON) once submitted.</summary>
    public string? Answer { get; init; }
    public string? SubmittedBy { get; init; }
    public DateTimeOffset? SubmittedAt { get; init; }

    public bool IsLeaseLive(DateTimeOffset now) => State == ReviewTaskState.Leased && LeaseExpiresAt > now;
}

/// <summary>Progress of one job.</summary>
public sealed record ReviewJobProgress(int Total, int Pending, int Leased, int Submitted, int Expired)
{
    public int Open => Pending + Leased;
}

/// <summary>Who did something: the id Ground Truth would write as workerId plus the identity it came from.</summary>
public sealed record ReviewWorker(string WorkerId, string Sub, string Issuer, string IdentityProviderType = "Cognito");

/// <summary>A labeler's answer for one image: the boxes they left, in pixels of the image (origin top-left).</summary>
public sealed record ReviewAnswer
{
    public required IReadOnlyList<ReviewBox> Boxes { get; init; }

    public double TimeSpentSeconds { get; init; }
}

/// <summary>One box of an answer; the label is a name from the job's categories.</summary>
public sealed record ReviewBox(string Label, double Left, double Top, double Width, double Height);
