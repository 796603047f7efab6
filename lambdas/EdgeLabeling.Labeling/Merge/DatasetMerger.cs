using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>Settings of the merge; the bucket is the data bucket holding jobs/, auto-labels/ and dataset/.</summary>
public sealed record MergeOptions
{
    public required string DataBucket { get; init; }

    /// <summary>
    /// Buckets holding auto-label batches under auto-labels/ (devices upload them next to their images,
    /// in the incoming bucket). Empty means the data bucket.
    /// </summary>
    public IReadOnlyList<string> AutoLabelBuckets { get; init; } = [];
    public string DatasetAttribute { get; init; } = LabelingConventions.DefaultDatasetAttribute;

    /// <summary>Local scratch space for spooling shards and the COCO export (Lambda: /tmp).</summary>
    public string WorkDirectory { get; init; } = Path.GetTempPath();

    public double AgreementIouThreshold { get; init; } = 0.5;

    /// <summary>Items are settled in the ledger in batches of this size.</summary>
    public int SettleBatchSize { get; init; } = 500;

    /// <summary>
    /// How long after a Stopped or Failed event the merge keeps waiting for the output DescribeLabelingJob
    /// reports before it gives the job's items back without labels. Completed jobs always wait.
    /// </summary>
    public TimeSpan OutputWaitLimit { get; init; } = TimeSpan.FromHours(2);

    /// <summary>Window and sample floor of the production precision emitted after each merged job.</summary>
    public Quality.ProductionPrecisionOptions ProductionPrecision { get; init; } = new();
}

/// <summary>Where the merge writes, all under dataset/&lt;attr&gt;/.</summary>
public static class DatasetKeys
{
    public static string Root(string attr) => $"{LabelingConventions.DatasetPrefix}{attr}/";
    public static string JobShardPrefix(string attr) => Root(attr) + "jobs/";

    /// <summary>Deterministic per job, so a repeated merge rewrites the same object instead of adding one.</summary>
    public static string JobShardKey(string attr, string jobName) => JobShardPrefix(attr) + jobName + ".manifest";

    public static string JobDoneKey(string attr, string jobName) => JobShardPrefix(attr) + jobName + ".done.json";

    /// <summary>The job's entry of the dataset index, kept beside its shard.</summary>
    public static string JobSummaryKey(string attr, string jobName) => JobShardPrefix(attr) + jobName + ".summary.json";

    /// <summary>The job name of a <see cref="JobSummaryKey"/>, or null for any other key.</summary>
    public static string? JobOfSummaryKey(string attr, string key)
    {
        var prefix = JobShardPrefix(attr);
        const string suffix = ".summary.json";
        return key.StartsWith(prefix, StringComparison.Ordinal) && key.EndsWith(suffix, StringComparison.Ordinal) && key.Length > prefix.Length + suffix.Length
            ? key[prefix.Length..^suffix.Length]
            : null;
    }

    public static string IndexKey(string attr) => Root(attr) + "index.json";
    public static string DatasetManifestKey(string attr) => Root(attr) + "dataset.manifest";
    public static string CocoKey(string attr) => Root(attr) + "coco.json";
    public static string BuildReportKey(string attr) => Root(attr) + "build-report.json";
}

/// <summary>What one state-change event did.</summary>
public sealed record MergeResult
{
    public const string Merged = "merged";
    public const string AlreadyMerged = "already-merged";
    public const string ReturnedToPending = "returned-to-pending";
    public const string Ignored = "ignored";
    public const string Rejected = "rejected";

    /// <summary>Reason of an <see cref="Ignored"/> event about a job this pipeline has no record of.</summary>
    public const string UnknownJob = "unknown-job";

    public required string JobName { get; init; }
    public required string Status { get; init; }
    public required string Outcome { get; init; }
    public long OutputLines { get; init; }
    public long Labeled { get; init; }
    public long Unlabeled { get; init; }
    public long ReturnedItems { get; init; }

    /// <summary>Items among <see cref="ReturnedItems"/> that came back unlabeled too often and were set aside.</summary>
    public long SetAsideItems { get; init; }
    public long SettledLabeledItems { get; init; }
    public IReadOnlyDictionary<string, long> MalformedLines { get; init; } = new Dictionary<string, long>();
    public string? ShardKey { get; init; }

    /// <summary>The job's entry of the dataset index: counts, agreement and the label attributes found.</summary>
    public ShardSummary? Shard { get; init; }

    /// <summary>Totals over every shard merged so far (from the index).</summary>
    public DatasetTotals? Dataset { get; init; }

    /// <summary>Production precision over the window ending with the event's day, from the index's evidence.</summary>
    public Quality.ProductionPrecisionReport? Precision { get; init; }

    /// <summary>Named reason when the event was rejected or ignored.</summary>
    public string? Reason { get; init; }
}

/// <summary>Written last: its presence means the job's event has been fully handled.</summary>
public sealed record MergeDoneMarker(string JobName, string Status, string Outcome, long Labeled, long ReturnedItems, DateTimeOffset EventTime);

/// <summary>
/// Handles a Ground Truth job state change. Events of jobs this pipeline has no record of are ignored.
/// For its own jobs it asks the service (DescribeLabelingJob) for the final status and the output location
/// (<c>LabelingJobOutput.OutputDatasetS3Uri</c>), streams that output manifest into the job's dataset shard
/// (label attribute found per line, written under the dataset's), settles the job's items (labeled, or back
/// to pending when they came back without a label) and adds the job to the dataset index. This holds for
/// Completed, Stopped and Failed alike: a stopped or failed job keeps what people labeled before it ended.
/// A job that ended without output gives all its items back. An output that is not readable yet throws
/// <see cref="JobOutputNotReadyException"/> so the event is delivered again. A done-marker makes a repeated
/// event a no-op. The cost is O(job): no other shard is read; the joined dataset, COCO and YOLO files are
/// built on demand by <see cref="DatasetExporter"/> (<c>edgelabel export</c>).
/// </summary>
/// <remarks>
/// Metrics (CloudWatch EMF through <see cref="ILabelingMetrics"/>): MergeLabeledObjects,
/// MergeReturnedToPending{Reason}, ItemsSetAside{Reason}, LabelingJobsFailed, MergeMalformedLines{Reason}, MergeEventsRejected{Reason},
/// DatasetHumanImages, AuditModelPrecision and AuditModelRecall (percent, over all audit images so far), and the production
/// precision over the rolling window per class, device and model version (see <see cref="Quality.ProductionPrecision.Emit"/>).
/// </remarks>
public sealed class DatasetMerger(IObjectStore store, IJobItemsLedger ledger, MergeOptions options, DatasetBuilder builder, ILogger<DatasetMerger>? logger = null, ILabelingMetrics? metrics = null,
    IJobOutputLocator? outputs = null, TimeProvider? time = null)
{
    /// <summary>EMF metric (no dimensions), 1 per Ground Truth job that ended Failed; the stack's alarm watches it.</summary>
    public const string JobsFailedMetric = LabelingMetricNames.JobsFailed;

    /// <summary>EMF metric (dimension Reason): items set aside because they came back unlabeled too often.</summary>
    public const string ItemsSetAsideMetric = LabelingMetricNames.ItemsSetAside;

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private readonly ILogger _logger = logger ?? NullLogger<DatasetMerger>.Instance;
    private readonly ILabelingMetrics _metrics = metrics ?? NullLabelingMetrics.Instance;

    /// <summary>
    /// Parses an EventBridge event and merges it. An event that is not a labeling-job state change is
    /// not retried: it is logged with its named reason and answered with <see cref="MergeResult.Rejected"/>.
    /// </summary>
    public Task<MergeResult> MergeAsync(ReadOnlySpan<byte> eventJson, CancellationToken cancellationToken = default)
    {
        JobStateChange change;
        try
        {
            change = JobStateChangeEvent.Parse(eventJson);
        }
        catch (FormatException ex)
        {
            var reason = ex.Message.Split(':', 2)[0];
            _logger.LogWarning("Merge event rejected: {Reason} ({Detail})", reason, ex.Message);
            _metrics.Emit(LabelingMetricNames.MergeEventsRejected, 1, "Count", new Dictionary<string, string> { ["Reason"] = reason });
            return Task.FromResult(new MergeResult { JobName = "", Status = "", Outcome = MergeResult.Rejected, Reason = reason });
        }

        return MergeAsync(change, cancellationToken);
    }

    /// <summary>Acts on one parsed state change (see the class summary); safe to repeat.</summary>
    /// <exception cref="JobOutputNotReadyException">The job's output is not readable yet; deliver the event again later.</exception>
    public async Task<MergeResult> MergeAsync(JobStateChange change, CancellationToken cancellationToken = default)
    {
        var attr = options.DatasetAttribute;
        var job = change.JobName;
        if (!IsFinal(change.Status))
        {
            _logger.LogInformation("Job {Job} is {Status}: nothing to merge yet", job, change.Status);
            return new MergeResult { JobName = job, Status = change.Status, Outcome = MergeResult.Ignored };
        }

        // The account may run other labeling jobs; their events are none of this pipeline's business.
        if (!await ledger.IsKnownJobAsync(job, cancellationToken).ConfigureAwait(false))
        {
            _logger.LogInformation("Job {Job} ({Status}) has no record here: not one of this project's jobs, ignored", job, change.Status);
            return new MergeResult { JobName = job, Status = change.Status, Outcome = MergeResult.Ignored, Reason = MergeResult.UnknownJob };
        }

        var doneKey = DatasetKeys.JobDoneKey(attr, job);
        if (await store.HeadAsync(options.DataBucket, doneKey, cancellationToken).ConfigureAwait(false) is not null)
        {
            _logger.LogInformation("Job {Job} was already merged; duplicate {Status} event ignored", job, change.Status);
            return new MergeResult { JobName = job, Status = change.Status, Outcome = MergeResult.AlreadyMerged };
        }

        // The service's own answer decides: the status it reports now and where it put the output (never a guessed path).
        var report = await (outputs ?? throw new InvalidOperationException("DatasetMerger needs an IJobOutputLocator to find a job's output"))
            .DescribeAsync(job, cancellationToken).ConfigureAwait(false);
        if (!IsFinal(report.Status))
        {
            throw new JobOutputNotReadyException($"job-not-finished: the event says {change.Status} but DescribeLabelingJob reports {report.Status} for {job}");
        }

        var status = report.Status;
        var leftoverReason = status switch { "Completed" => ReturnReasons.NoLabelInOutput, "Failed" => ReturnReasons.JobFailed, _ => ReturnReasons.JobStopped };
        var output = await LocateOutputAsync(job, status, report, change.Time, cancellationToken).ConfigureAwait(false);
        MergeResult result;
        if (output is { } location)
        {
            result = await MergeOutputAsync(change with { Status = status }, location, leftoverReason, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // A job that ended without any output (failed at the start, or stopped before anyone labeled).
            var (returned, _, setAside) = await SettleAsync(job, _ => false, leftoverReason, cancellationToken).ConfigureAwait(false);
            _metrics.Emit(LabelingMetricNames.MergeReturnedToPending, returned, "Count", new Dictionary<string, string> { ["Reason"] = leftoverReason }, new Dictionary<string, string> { ["Job"] = job });
            EmitSetAside(job, setAside, leftoverReason);
            _logger.LogWarning("Job {Job} ended {Status} without output ({Failure}): {Count} items returned to pending", job, status, report.FailureReason, returned);
            result = new MergeResult { JobName = job, Status = status, Outcome = MergeResult.ReturnedToPending, ReturnedItems = returned, SetAsideItems = setAside };
        }

        if (status == "Failed")
        {
            // A stopped job is someone's decision; a failed one needs a person to look.
            _metrics.Emit(JobsFailedMetric, 1, "Count", null, new Dictionary<string, string> { ["Job"] = job, ["FailureReason"] = report.FailureReason ?? "" });
            if (result.Labeled == 0)
            {
                // Nothing labeled at all: the job itself could not run (role, CORS, input). The batcher backs off
                // instead of making the same job again on its next run.
                await ledger.RecordJobFailedAtStartAsync(job, report.FailureReason ?? "job failed", cancellationToken).ConfigureAwait(false);
                _metrics.Emit(Batching.BatchPlanner.JobCreationFailuresMetric, 1, "Count", null, new Dictionary<string, string> { ["JobName"] = job, ["FailureReason"] = report.FailureReason ?? "" });
            }
        }

        await ledger.CloseJobAsync(job, status, cancellationToken).ConfigureAwait(false);
        var marker = new MergeDoneMarker(job, status, result.Outcome, result.Labeled, result.ReturnedItems, change.Time);
        await store.PutBytesAsync(options.DataBucket, doneKey, JsonSerializer.SerializeToUtf8Bytes(marker, MergeJsonContext.Default.MergeDoneMarker), "application/json", cancellationToken: cancellationToken).ConfigureAwait(false);
        return result;
    }

    private static bool IsFinal(string status) => status is "Completed" or "Failed" or "Stopped";

    /// <summary>
    /// Where to read the job's output: the location DescribeLabelingJob reports, once the object is there.
    /// A completed job always has output, so its event waits (is redelivered) until the output appears. A
    /// stopped or failed job may have none: when the service reports no location, or the reported object
    /// is still missing <see cref="MergeOptions.OutputWaitLimit"/> after the event, its items go back to pending.
    /// </summary>
    private async Task<S3Uri?> LocateOutputAsync(string job, string status, JobOutputReport report, DateTimeOffset eventTime, CancellationToken cancellationToken)
    {
        if (report.OutputDatasetS3Uri is not { Length: > 0 } uri)
        {
            return status == "Completed"
                ? throw new JobOutputNotReadyException($"output-not-reported: DescribeLabelingJob reports no LabelingJobOutput for completed job {job} yet")
                : null;
        }

        var location = S3Uri.Parse(uri);
        if (await store.HeadAsync(location.Bucket, location.Key, cancellationToken).ConfigureAwait(false) is not null)
        {
            return location;
        }

        if (status != "Completed" && _time.GetUtcNow() - eventTime > options.OutputWaitLimit)
        {
            _logger.LogWarning("Job {Job} ended {Status}; its reported output {Uri} is still missing {Limit} after the event: no labels to keep", job, status, uri, options.OutputWaitLimit);
            return null;
        }

        throw new JobOutputNotReadyException($"output-manifest-missing: {uri} does not exist yet (Ground Truth output can lag; the event will be delivered again)");
    }

    private void EmitSetAside(string job, long count, string reason)
    {
        if (count > 0)
        {
            _metrics.Emit(ItemsSetAsideMetric, count, "Count", new Dictionary<string, string> { ["Reason"] = reason }, new Dictionary<string, string> { ["Job"] = job });
        }
    }

    /// <summary>Keeps the labeled lines of the job's output as its shard; every other item of the job goes back to pending.</summary>
    private async Task<MergeResult> MergeOutputAsync(JobStateChange change, S3Uri output, string leftoverReason, CancellationToken cancellationToken)
    {
        var attr = options.DatasetAttribute;
        var job = change.JobName;
        var shardKey = DatasetKeys.JobShardKey(attr, job);

        Directory.CreateDirectory(options.WorkDirectory);
        var spool = Path.Combine(options.WorkDirectory, $"shard-{job}-{Guid.NewGuid():N}.manifest");
        JobShardResult shard;
        try
        {
            await using (var input = await store.OpenReadAsync(output.Bucket, output.Key, cancellationToken).ConfigureAwait(false)
                ?? throw new JobOutputNotReadyException($"output-manifest-missing: {output} does not exist yet (Ground Truth output can lag; the event will be delivered again)"))
            await using (var shardFile = new FileStream(spool, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                shard = await JobShard.WriteAsync(input, shardFile, output.ToString(), attr, options.AgreementIouThreshold, change.Time, _logger, cancellationToken).ConfigureAwait(false);
            }

            await store.PutFileAndDeleteAsync(options.DataBucket, shardKey, spool, "application/jsonlines", cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(spool);
        }

        if (shard.Source.NothingUsable && shard.Unlabeled == 0)
        {
            // Not one line could be read as a label: say which attributes the output holds instead of an empty shard.
            _logger.LogError("Job {Job} output had no usable bounding-box label: {What}", job, shard.Source.Describe(attr));
        }
        else if (shard.Source.Attributes.Keys.Any(a => a != LabelingConventions.HumanAttribute(attr) && shard.Source.Attributes[a].Used > 0))
        {
            _logger.LogInformation("Job {Job}: {What}", job, shard.Source.Describe(attr));
        }

        var summary = new ShardSummary
        {
            Job = job,
            ShardKey = shardKey,
            Lines = shard.Lines,
            Images = shard.Labeled,
            Boxes = shard.Boxes,
            Unlabeled = shard.Unlabeled,
            DuplicateLines = shard.DuplicateLines,
            Audit = shard.Audit,
            Reviewed = shard.Reviewed,
            Attributes = shard.Source.Attributes,
            Evidence = shard.Evidence,
            MergedAt = change.Time,
        };
        await store.PutBytesAsync(options.DataBucket, DatasetKeys.JobSummaryKey(attr, job), JsonSerializer.SerializeToUtf8Bytes(summary, DatasetIndexJsonContext.Default.ShardSummary), "application/json", cancellationToken: cancellationToken).ConfigureAwait(false);

        var (returned, settledLabeled, setAside) = await SettleAsync(job, fp => shard.LabeledKeys.Contains(fp), leftoverReason, cancellationToken).ConfigureAwait(false);
        var index = await DatasetIndex.UpdateAsync(store, options.DataBucket, attr, summary, change.Time, cancellationToken).ConfigureAwait(false);
        var totals = index.Totals(options.AgreementIouThreshold);
        if (totals.Audit.Precision is { } precision && totals.Audit.Recall is { } recall)
        {
            // Precision of what the edge labels on its own, measured on audit images people also labeled.
            _metrics.Emit(LabelingMetricNames.AuditModelPrecision, precision * 100, "Percent");
            _metrics.Emit(LabelingMetricNames.AuditModelRecall, recall * 100, "Percent");
        }

        _metrics.Emit(LabelingMetricNames.DatasetHumanImages, totals.HumanImages, "Count");

        // O(index): the evidence cells of every job are already in the index just read; no shard is opened.
        var production = Quality.ProductionPrecision.Compute(index.Evidence, DateOnly.FromDateTime(change.Time.UtcDateTime), options.ProductionPrecision);
        Quality.ProductionPrecision.Emit(_metrics, production, options.ProductionPrecision);
        foreach (var pair in production.ByClassAndDevice.Where(r => r.Enough))
        {
            _logger.LogInformation("Production precision {Group}: {Precision} [{Lower}, {Upper}] over {Boxes} audited boxes ({From}..{To})",
                pair.Label, pair.Precision, pair.PrecisionLower, pair.PrecisionUpper, pair.ModelBoxes, production.From, production.To);
        }

        var props = new Dictionary<string, string> { ["Job"] = job };
        _metrics.Emit(LabelingMetricNames.MergeLabeledObjects, shard.Labeled, "Count", null, props);
        _metrics.Emit(LabelingMetricNames.MergeReturnedToPending, returned, "Count", new Dictionary<string, string> { ["Reason"] = leftoverReason }, props);
        EmitSetAside(job, setAside, leftoverReason);
        foreach (var (reason, count) in shard.Rejected)
        {
            _metrics.Emit(LabelingMetricNames.MergeMalformedLines, count, "Count", new Dictionary<string, string> { ["Reason"] = reason }, props);
        }

        _logger.LogInformation("Job {Job} merged: {Labeled} labeled, {Unlabeled} without label, {Returned} items back to pending, {Rejected} malformed lines",
            job, shard.Labeled, shard.Unlabeled, returned, shard.Rejected.Values.Sum());
        return new MergeResult
        {
            JobName = job,
            Status = change.Status,
            Outcome = MergeResult.Merged,
            OutputLines = shard.Lines,
            Labeled = shard.Labeled,
            Unlabeled = shard.Unlabeled,
            ReturnedItems = returned,
            SetAsideItems = setAside,
            SettledLabeledItems = settledLabeled,
            MalformedLines = shard.Rejected,
            ShardKey = shardKey,
            Shard = summary,
            Dataset = totals,
            Precision = production,
        };
    }

    /// <summary>Builds the joined dataset (manifest, COCO, YOLO) from every shard merged so far; see <see cref="DatasetExporter"/>.</summary>
    public Task<DatasetExportResult> ExportDatasetAsync(DatasetExportRequest request, CancellationToken cancellationToken = default) =>
        new DatasetExporter(store, options, builder).ExportAsync(request, cancellationToken);

    /// <summary>Walks the job's items and settles each: labeled when <paramref name="isLabeled"/> says so, else back to pending.</summary>
    private async Task<(long Returned, long Labeled, long SetAside)> SettleAsync(string job, Func<UInt128, bool> isLabeled, string reason, CancellationToken cancellationToken)
    {
        var done = new List<string>(options.SettleBatchSize);
        var back = new List<string>(options.SettleBatchSize);
        long returned = 0, labeled = 0, setAside = 0;
        await foreach (var sourceRef in ledger.ListJobItemsAsync(job, cancellationToken).ConfigureAwait(false))
        {
            var target = isLabeled(ImageIdentity.FingerprintOf(sourceRef)) ? done : back;
            target.Add(sourceRef);
            if (done.Count >= options.SettleBatchSize)
            {
                await ledger.MarkLabeledAsync(job, done, cancellationToken).ConfigureAwait(false);
                labeled += done.Count;
                done.Clear();
            }

            if (back.Count >= options.SettleBatchSize)
            {
                setAside += (await ledger.ReturnToPendingAsync(job, back, reason, cancellationToken).ConfigureAwait(false)).SetAside;
                returned += back.Count;
                back.Clear();
            }
        }

        if (done.Count > 0)
        {
            await ledger.MarkLabeledAsync(job, done, cancellationToken).ConfigureAwait(false);
            labeled += done.Count;
        }

        if (back.Count > 0)
        {
            setAside += (await ledger.ReturnToPendingAsync(job, back, reason, cancellationToken).ConfigureAwait(false)).SetAside;
            returned += back.Count;
        }

        return (returned, labeled, setAside);
    }
}
