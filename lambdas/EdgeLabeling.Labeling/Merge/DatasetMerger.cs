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

    public required string JobName { get; init; }
    public required string Status { get; init; }
    public required string Outcome { get; init; }
    public long OutputLines { get; init; }
    public long Labeled { get; init; }
    public long Unlabeled { get; init; }
    public long ReturnedItems { get; init; }
    public long SettledLabeledItems { get; init; }
    public IReadOnlyDictionary<string, long> MalformedLines { get; init; } = new Dictionary<string, long>();
    public string? ShardKey { get; init; }

    /// <summary>The job's entry of the dataset index: counts, agreement and the label attributes found.</summary>
    public ShardSummary? Shard { get; init; }

    /// <summary>Totals over every shard merged so far (from the index).</summary>
    public DatasetTotals? Dataset { get; init; }

    /// <summary>Named reason when the event was rejected.</summary>
    public string? Reason { get; init; }
}

/// <summary>Written last: its presence means the job's event has been fully handled.</summary>
public sealed record MergeDoneMarker(string JobName, string Status, string Outcome, long Labeled, long ReturnedItems, DateTimeOffset EventTime);

/// <summary>
/// Handles a Ground Truth job state change: on Completed, streams the job's output manifest into the job's
/// dataset shard (label attribute found per line, written under the dataset's), settles the job's items
/// (labeled, or back to pending when they came back without a label) and adds the job to the dataset index;
/// on Failed or Stopped, every item of the job goes back to pending. A done-marker makes a repeated event a
/// no-op. The cost is O(job): no other shard is read; the joined dataset, COCO and YOLO files are built on
/// demand by <see cref="DatasetExporter"/> (<c>edgelabel export</c>).
/// </summary>
/// <remarks>
/// Metrics (CloudWatch EMF through <see cref="ILabelingMetrics"/>): MergeLabeledObjects,
/// MergeReturnedToPending{Reason}, MergeMalformedLines{Reason}, MergeEventsRejected{Reason},
/// DatasetHumanImages, AuditModelPrecision and AuditModelRecall (percent, over all audit images so far).
/// </remarks>
public sealed class DatasetMerger(IObjectStore store, IJobItemsLedger ledger, MergeOptions options, DatasetBuilder builder, ILogger<DatasetMerger>? logger = null, ILabelingMetrics? metrics = null)
{
    /// <summary>EMF metric (no dimensions), 1 per Ground Truth job that ended Failed; the stack's alarm watches it.</summary>
    public const string JobsFailedMetric = "LabelingJobsFailed";

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
            _metrics.Emit("MergeEventsRejected", 1, "Count", new Dictionary<string, string> { ["Reason"] = reason });
            return Task.FromResult(new MergeResult { JobName = "", Status = "", Outcome = MergeResult.Rejected, Reason = reason });
        }

        return MergeAsync(change, cancellationToken);
    }

    /// <summary>Acts on one parsed state change (see the class summary); safe to repeat.</summary>
    public async Task<MergeResult> MergeAsync(JobStateChange change, CancellationToken cancellationToken = default)
    {
        var attr = options.DatasetAttribute;
        var job = change.JobName;
        if (change.Status is not ("Completed" or "Failed" or "Stopped"))
        {
            _logger.LogInformation("Job {Job} is {Status}: nothing to merge yet", job, change.Status);
            return new MergeResult { JobName = job, Status = change.Status, Outcome = MergeResult.Ignored };
        }

        var doneKey = DatasetKeys.JobDoneKey(attr, job);
        if (await store.HeadAsync(options.DataBucket, doneKey, cancellationToken).ConfigureAwait(false) is not null)
        {
            _logger.LogInformation("Job {Job} was already merged; duplicate {Status} event ignored", job, change.Status);
            return new MergeResult { JobName = job, Status = change.Status, Outcome = MergeResult.AlreadyMerged };
        }

        MergeResult result;
        if (change.Status == "Completed")
        {
            result = await MergeCompletedAsync(change, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var reason = change.Status == "Failed" ? "job-failed" : "job-stopped";
            var (returned, _) = await SettleAsync(job, _ => false, reason, cancellationToken).ConfigureAwait(false);
            _metrics.Emit("MergeReturnedToPending", returned, "Count", new Dictionary<string, string> { ["Reason"] = reason }, new Dictionary<string, string> { ["Job"] = job });
            if (change.Status == "Failed")
            {
                // A stopped job is someone's decision; a failed one needs a person to look.
                _metrics.Emit(JobsFailedMetric, 1, "Count", null, new Dictionary<string, string> { ["Job"] = job });
            }
            _logger.LogWarning("Job {Job} ended {Status}: {Count} items returned to pending", job, change.Status, returned);
            result = new MergeResult { JobName = job, Status = change.Status, Outcome = MergeResult.ReturnedToPending, ReturnedItems = returned };
        }

        await ledger.CloseJobAsync(job, change.Status, cancellationToken).ConfigureAwait(false);
        var marker = new MergeDoneMarker(job, change.Status, result.Outcome, result.Labeled, result.ReturnedItems, change.Time);
        await store.PutBytesAsync(options.DataBucket, doneKey, JsonSerializer.SerializeToUtf8Bytes(marker, MergeJsonContext.Default.MergeDoneMarker), "application/json", cancellationToken: cancellationToken).ConfigureAwait(false);
        return result;
    }

    private async Task<MergeResult> MergeCompletedAsync(JobStateChange change, CancellationToken cancellationToken)
    {
        var attr = options.DatasetAttribute;
        var job = change.JobName;
        var outputKey = LabelingConventions.JobOutputManifestKey(job);
        var shardKey = DatasetKeys.JobShardKey(attr, job);

        Directory.CreateDirectory(options.WorkDirectory);
        var spool = Path.Combine(options.WorkDirectory, $"shard-{job}-{Guid.NewGuid():N}.manifest");
        JobShardResult shard;
        try
        {
            await using (var input = await store.OpenReadAsync(options.DataBucket, outputKey, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"output-manifest-missing: s3://{options.DataBucket}/{outputKey} does not exist yet (Ground Truth output can lag; the event will be retried)"))
            await using (var shardFile = new FileStream(spool, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                shard = await JobShard.WriteAsync(input, shardFile, $"s3://{options.DataBucket}/{outputKey}", attr, options.AgreementIouThreshold, change.Time, _logger, cancellationToken).ConfigureAwait(false);
            }

            await using (var shardStream = new FileStream(spool, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous))
            {
                await store.PutAsync(options.DataBucket, shardKey, shardStream, "application/jsonlines", cancellationToken: cancellationToken).ConfigureAwait(false);
            }
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
            MergedAt = change.Time,
        };
        await store.PutBytesAsync(options.DataBucket, DatasetKeys.JobSummaryKey(attr, job), JsonSerializer.SerializeToUtf8Bytes(summary, DatasetIndexJsonContext.Default.ShardSummary), "application/json", cancellationToken: cancellationToken).ConfigureAwait(false);

        var (returned, settledLabeled) = await SettleAsync(job, fp => shard.LabeledKeys.Contains(fp), "no-label-in-output", cancellationToken).ConfigureAwait(false);
        var index = await DatasetIndex.UpdateAsync(store, options.DataBucket, attr, summary, change.Time, cancellationToken).ConfigureAwait(false);
        var totals = index.Totals(options.AgreementIouThreshold);
        if (totals.Audit.Precision is { } precision && totals.Audit.Recall is { } recall)
        {
            // Precision of what the edge labels on its own, measured on audit images people also labeled.
            _metrics.Emit("AuditModelPrecision", precision * 100, "Percent");
            _metrics.Emit("AuditModelRecall", recall * 100, "Percent");
        }

        _metrics.Emit("DatasetHumanImages", totals.HumanImages, "Count");

        var props = new Dictionary<string, string> { ["Job"] = job };
        _metrics.Emit("MergeLabeledObjects", shard.Labeled, "Count", null, props);
        _metrics.Emit("MergeReturnedToPending", returned, "Count", new Dictionary<string, string> { ["Reason"] = "no-label-in-output" }, props);
        foreach (var (reason, count) in shard.Rejected)
        {
            _metrics.Emit("MergeMalformedLines", count, "Count", new Dictionary<string, string> { ["Reason"] = reason }, props);
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
            SettledLabeledItems = settledLabeled,
            MalformedLines = shard.Rejected,
            ShardKey = shardKey,
            Shard = summary,
            Dataset = totals,
        };
    }

    /// <summary>Builds the joined dataset (manifest, COCO, YOLO) from every shard merged so far; see <see cref="DatasetExporter"/>.</summary>
    public Task<DatasetExportResult> ExportDatasetAsync(DatasetExportRequest request, CancellationToken cancellationToken = default) =>
        new DatasetExporter(store, options, builder).ExportAsync(request, cancellationToken);

    /// <summary>Walks the job's items and settles each: labeled when <paramref name="isLabeled"/> says so, else back to pending.</summary>
    private async Task<(long Returned, long Labeled)> SettleAsync(string job, Func<UInt128, bool> isLabeled, string reason, CancellationToken cancellationToken)
    {
        var done = new List<string>(options.SettleBatchSize);
        var back = new List<string>(options.SettleBatchSize);
        long returned = 0, labeled = 0;
        await foreach (var sourceRef in ledger.ListJobItemsAsync(job, cancellationToken).ConfigureAwait(false))
        {
            var target = isLabeled(ImageIdentity.Fingerprint(ImageIdentity.KeyOf(sourceRef))) ? done : back;
            target.Add(sourceRef);
            if (done.Count >= options.SettleBatchSize)
            {
                await ledger.MarkLabeledAsync(job, done, cancellationToken).ConfigureAwait(false);
                labeled += done.Count;
                done.Clear();
            }

            if (back.Count >= options.SettleBatchSize)
            {
                await ledger.ReturnToPendingAsync(job, back, reason, cancellationToken).ConfigureAwait(false);
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
            await ledger.ReturnToPendingAsync(job, back, reason, cancellationToken).ConfigureAwait(false);
            returned += back.Count;
        }

        return (returned, labeled);
    }
}
