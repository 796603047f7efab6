using System.Collections.Concurrent;
using EdgeLabeling.Labeling.SageMaker;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>
/// What the service says about a finished job: its status, where its output manifest is (only when the
/// service reports one) and why it failed. The merge never derives the output path itself.
/// </summary>
public sealed record JobOutputReport(string Status, string? OutputDatasetS3Uri, string? FailureReason, long? TotalLabeled);

/// <summary>Asks the labeling service about one job (DescribeLabelingJob in AWS).</summary>
public interface IJobOutputLocator
{
    Task<JobOutputReport> DescribeAsync(string jobName, CancellationToken cancellationToken = default);
}

/// <summary>
/// The job's report from DescribeLabelingJob: <c>LabelingJobOutput.OutputDatasetS3Uri</c> is where Ground
/// Truth put the output manifest (for a stopped job: the results obtained before the stop, API reference
/// of StopLabelingJob).
/// </summary>
public sealed class SageMakerJobOutputLocator(ISageMakerClient sageMaker) : IJobOutputLocator
{
    public async Task<JobOutputReport> DescribeAsync(string jobName, CancellationToken cancellationToken = default)
    {
        var d = await sageMaker.DescribeLabelingJobAsync(jobName, cancellationToken).ConfigureAwait(false);
        return new JobOutputReport(d.LabelingJobStatus ?? "", d.LabelingJobOutput?.OutputDatasetS3Uri, d.FailureReason, d.LabelCounters?.TotalLabeled);
    }
}

/// <summary>
/// Job reports held in memory, for local merges of files (<c>edgelabel merge</c>) and tests: the caller
/// states where each job's output is, as DescribeLabelingJob would.
/// </summary>
public sealed class InMemoryJobOutputLocator : IJobOutputLocator
{
    private readonly ConcurrentDictionary<string, JobOutputReport> _jobs = new(StringComparer.OrdinalIgnoreCase);

    public void Set(string jobName, JobOutputReport report) => _jobs[jobName] = report;

    public Task<JobOutputReport> DescribeAsync(string jobName, CancellationToken cancellationToken = default) =>
        _jobs.TryGetValue(jobName, out var r)
            ? Task.FromResult(r)
            : throw new SageMakerResourceNotFoundException($"Labeling job '{jobName}' does not exist.", System.Net.HttpStatusCode.BadRequest);
}

/// <summary>
/// The job's output manifest is not readable yet (Ground Truth's output can lag the state-change event by
/// minutes). Thrown so the event is delivered again later; it is never a reason to drop the event.
/// </summary>
public sealed class JobOutputNotReadyException(string message) : InvalidOperationException(message);

/// <summary>An <c>s3://bucket/key</c> URI as the service reports it.</summary>
public readonly record struct S3Uri(string Bucket, string Key)
{
    /// <exception cref="FormatException">Not s3://bucket/key with a non-empty bucket and key.</exception>
    public static S3Uri Parse(string uri)
    {
        var slash = uri.StartsWith("s3://", StringComparison.Ordinal) ? uri.IndexOf('/', 5) : -1;
        if (slash <= 5 || slash == uri.Length - 1)
        {
            throw new FormatException($"output-uri-invalid: '{uri}' is not an s3://bucket/key URI");
        }

        return new S3Uri(uri[5..slash], uri[(slash + 1)..]);
    }

    public override string ToString() => $"s3://{Bucket}/{Key}";
}

/// <summary>Why items of a job went back to pending (the Reason dimension of MergeReturnedToPending).</summary>
public static class ReturnReasons
{
    /// <summary>The job completed and the item came back without a label (expired, declined, failed object).</summary>
    public const string NoLabelInOutput = "no-label-in-output";
    public const string JobFailed = "job-failed";
    public const string JobStopped = "job-stopped";

    /// <summary>
    /// Whether this return counts against the item: only when people had the whole job to label it and did
    /// not. A failed or stopped job says nothing about its individual items.
    /// </summary>
    public static bool CountsAgainstItem(string reason) => reason == NoLabelInOutput;
}
