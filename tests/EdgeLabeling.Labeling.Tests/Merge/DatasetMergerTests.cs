using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Storage;
using ManualTime = EdgeLabeling.Labeling.Tests.Support.ManualTime;
using static EdgeLabeling.Labeling.Tests.Merge.OutputFixtures;

namespace EdgeLabeling.Labeling.Tests.Merge;

public sealed class DatasetMergerTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly FileSystemObjectStore _store;
    private readonly InMemoryJobItemsLedger _ledger = new() { SetAsideAfterReturns = 2 };
    private readonly InMemoryJobOutputLocator _outputs = new();
    private readonly ManualTime _time = new(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));
    private readonly RecordingMetrics _metrics = new();
    private readonly DatasetMerger _merger;

    public DatasetMergerTests()
    {
        _store = new FileSystemObjectStore(Path.Combine(_dir.Path, "store"));
        var options = new MergeOptions { DataBucket = Bucket, WorkDirectory = Path.Combine(_dir.Path, "work"), SettleBatchSize = 2, OutputWaitLimit = TimeSpan.FromHours(1) };
        _merger = new DatasetMerger(_store, _ledger, options, new DatasetBuilder(), metrics: _metrics, outputs: _outputs, time: _time);
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>The on-demand export (what `edgelabel export --upload` does) after the merges of a test.</summary>
    private async Task<DatasetBuildReport> ExportAsync(DatasetMerger? merger = null) =>
        (await (merger ?? _merger).ExportDatasetAsync(new DatasetExportRequest { Directory = Path.Combine(_dir.Path, "export-" + Guid.NewGuid().ToString("N")), Upload = true })).Report;

    private static string OutputUri(string job = Job) => $"s3://{Bucket}/{LabelingConventions.JobOutputManifestKey(job)}";

    /// <summary>A job of ours whose output DescribeLabelingJob reports at the documented location.</summary>
    private async Task GivenJobAsync(IEnumerable<int> items, params string[] outputLines) => await GivenJobAsync("Completed", items, outputLines);

    private async Task GivenJobAsync(string status, IEnumerable<int> items, params string[] outputLines)
    {
        _ledger.AddJob(Job, items.Select(SourceRef));
        _outputs.Set(Job, new JobOutputReport(status, OutputUri(), null, null));
        await PutLinesAsync(_store, LabelingConventions.JobOutputManifestKey(Job), outputLines);
    }

    [Fact]
    public async Task MergeAsync_CompletedWithRealOutputVariants_WritesOneDatasetLinePerImageUnderOneAttribute()
    {
        await GivenJobAsync([1, 2, 3, 4], RealStyle(1), DocsStyle(2), Empty(3), Adjusted(4));

        var result = await _merger.MergeAsync(Event("Completed"));

        Assert.Equal(MergeResult.Merged, result.Outcome);
        Assert.Equal(4, result.Labeled);
        Assert.Empty(result.MalformedLines);
        await ExportAsync();
        var lines = await ReadLinesAsync(_store, DatasetKeys.DatasetManifestKey("parts"));
        Assert.Equal(4, lines.Length);
        var parsed = lines.Select(l => GroundTruthManifest.Parse(l, "parts")).ToList();
        Assert.Equal([SourceRef(1), SourceRef(2), SourceRef(3), SourceRef(4)], parsed.Select(p => p.SourceRef).Order());
        Assert.All(parsed, p => Assert.True(p.HumanAnnotated));
        Assert.All(parsed, p => Assert.Equal(Job, p.JobName));
        foreach (var line in lines)
        {
            var keys = JsonDocument.Parse(line).RootElement.EnumerateObject().Select(p => p.Name).ToHashSet();
            Assert.Equal(new HashSet<string> { "source-ref", "parts", "parts-metadata", "edgelabel-provenance" }, keys);
        }

        var real = parsed.Single(p => p.SourceRef == SourceRef(1));
        Assert.Equal(455.6, real.Boxes[0].Left, 2);
        Assert.Equal(187.4, real.Boxes[0].Top, 2);
        Assert.Equal("washer", real.ClassMap[2]);
        Assert.Equal(2, real.Boxes[1].ClassId);
        Assert.Empty(parsed.Single(p => p.SourceRef == SourceRef(3)).Boxes);

        var provenance = JsonDocument.Parse(lines.Single(l => l.Contains(Sha(1), StringComparison.Ordinal))).RootElement.GetProperty("edgelabel-provenance");
        Assert.Equal("human", provenance.GetProperty("source").GetString());
        Assert.Equal(Job, provenance.GetProperty("job-name").GetString());
        Assert.Equal("abc123", provenance.GetProperty("model-sha256").GetString());
        Assert.Equal("uncertain-box", provenance.GetProperty("edge-reason").GetString());
        var adjusted = JsonDocument.Parse(lines.Single(l => l.Contains(Sha(4), StringComparison.Ordinal))).RootElement.GetProperty("edgelabel-provenance");
        Assert.Equal("adjusted", adjusted.GetProperty("adjustment-status").GetString());

        Assert.All([1, 2, 3, 4], i => Assert.Equal(InMemoryJobItemsLedger.ItemState.Labeled, _ledger.StateOf(SourceRef(i))));
        Assert.Equal("Completed", _ledger.ClosedJobs[Job]);
    }

    [Fact]
    public async Task MergeAsync_ExpiredObjects_GoBackToPendingWhetherMarkedFailedOrLeftOut()
    {
        // 2 comes back with a failure-reason and no label; 3 is absent from the output entirely.
        await GivenJobAsync([1, 2, 3], RealStyle(1), Failed(2));

        var result = await _merger.MergeAsync(Event("Completed"));

        Assert.Equal(1, result.Labeled);
        Assert.Equal(1, result.Unlabeled);
        Assert.Equal(2, result.ReturnedItems);
        Assert.Equal(InMemoryJobItemsLedger.ItemState.Labeled, _ledger.StateOf(SourceRef(1)));
        Assert.Equal(InMemoryJobItemsLedger.ItemState.Pending, _ledger.StateOf(SourceRef(2)));
        Assert.Equal(InMemoryJobItemsLedger.ItemState.Pending, _ledger.StateOf(SourceRef(3)));
        Assert.Equal("no-label-in-output", _ledger.PendingReasons[SourceRef(3)]);
        Assert.Single(await ReadLinesAsync(_store, DatasetKeys.JobShardKey("parts", Job)));
    }

    [Theory]
    [InlineData("Failed", "job-failed")]
    [InlineData("Stopped", "job-stopped")]
    public async Task MergeAsync_StoppedOrFailedJobWithPartialOutput_KeepsTheLabeledLinesAndReturnsOnlyTheRest(string status, string reason)
    {
        // People labeled 1 and 2 before the job ended; 3 was never reached (absent from the output).
        await GivenJobAsync(status, [1, 2, 3], RealStyle(1), DocsStyle(2));

        var result = await _merger.MergeAsync(Event(status));

        Assert.Equal(MergeResult.Merged, result.Outcome);
        Assert.Equal(status, result.Status);
        Assert.Equal(2, result.Labeled);
        Assert.Equal(1, result.ReturnedItems);
        Assert.Equal(InMemoryJobItemsLedger.ItemState.Labeled, _ledger.StateOf(SourceRef(1)));
        Assert.Equal(InMemoryJobItemsLedger.ItemState.Labeled, _ledger.StateOf(SourceRef(2)));
        Assert.Equal(InMemoryJobItemsLedger.ItemState.Pending, _ledger.StateOf(SourceRef(3)));
        Assert.Equal(reason, _ledger.PendingReasons[SourceRef(3)]);
        Assert.Equal(2, (await ReadLinesAsync(_store, DatasetKeys.JobShardKey("parts", Job))).Length);
        Assert.Equal(2, (await ExportAsync()).TotalImages);
        Assert.NotNull(await _store.HeadAsync(Bucket, DatasetKeys.JobDoneKey("parts", Job)));
        Assert.Equal(status, _ledger.ClosedJobs[Job]);
        // Only a failure counts towards the failed-jobs alarm; a stop is someone's decision. Labels arrived, so no creation back-off.
        Assert.Equal(status == "Failed" ? 1 : 0, _metrics.Values.Count(v => v.Name == DatasetMerger.JobsFailedMetric && v.Value == 1.0));
        Assert.Empty(_ledger.FailedAtStart);
    }

    [Fact]
    public async Task MergeAsync_FailedJobWithoutOutput_ReturnsEveryItemAndStartsTheCreationBackoff()
    {
        _ledger.AddJob(Job, [SourceRef(1), SourceRef(2)]);
        _outputs.Set(Job, new JobOutputReport("Failed", null, "ClientError: Could not access the input manifest (AccessDenied)", 0));

        var result = await _merger.MergeAsync(Event("Failed"));

        Assert.Equal(MergeResult.ReturnedToPending, result.Outcome);
        Assert.Equal(2, result.ReturnedItems);
        Assert.All([1, 2], i => Assert.Equal(InMemoryJobItemsLedger.ItemState.Pending, _ledger.StateOf(SourceRef(i))));
        Assert.All([1, 2], i => Assert.Equal("job-failed", _ledger.PendingReasons[SourceRef(i)]));
        Assert.Contains("AccessDenied", _ledger.FailedAtStart[Job], StringComparison.Ordinal);
        Assert.Contains(_metrics.Values, v => v.Name == EdgeLabeling.Labeling.Batching.BatchPlanner.JobCreationFailuresMetric && v.Value == 1.0);
        Assert.Null(await _store.HeadAsync(Bucket, DatasetKeys.JobShardKey("parts", Job)));
    }

    [Fact]
    public async Task MergeAsync_OutputWhereDescribeSaysNotWhereConventionSays_ReadsTheReportedLocation()
    {
        _ledger.AddJob(Job, [SourceRef(1), SourceRef(2)]);
        // A decoy at the conventional path: a merge that guesses the path would take it.
        await PutLinesAsync(_store, LabelingConventions.JobOutputManifestKey(Job), [RealStyle(1), DocsStyle(2)]);
        await _store.PutBytesAsync("other-output-bucket", "gt/run-7/manifests/output/output.manifest", System.Text.Encoding.UTF8.GetBytes(Empty(2) + "\n"), "application/jsonlines");
        _outputs.Set(Job, new JobOutputReport("Completed", "s3://other-output-bucket/gt/run-7/manifests/output/output.manifest", null, 1));

        var result = await _merger.MergeAsync(Event("Completed"));

        Assert.Equal(1, result.Labeled);
        Assert.Equal(InMemoryJobItemsLedger.ItemState.Pending, _ledger.StateOf(SourceRef(1)));
        Assert.Equal(InMemoryJobItemsLedger.ItemState.Labeled, _ledger.StateOf(SourceRef(2)));
    }

    [Fact]
    public async Task MergeAsync_JobThisPipelineDidNotMake_IsIgnoredWithoutDescribeMarkerOrMetric()
    {
        // Another team's job in the same account: no ledger record, and the locator does not know it either.
        var result = await _merger.MergeAsync(Event("Completed", "someone-elses-job-42"));

        Assert.Equal(MergeResult.Ignored, result.Outcome);
        Assert.Equal(MergeResult.UnknownJob, result.Reason);
        Assert.Empty(_metrics.Values);
        Assert.Null(await _store.HeadAsync(Bucket, DatasetKeys.JobDoneKey("parts", "someone-elses-job-42")));
    }

    [Fact]
    public async Task MergeAsync_CompletedButDescribeReportsNoOutputYet_ThrowsNotReady()
    {
        _ledger.AddJob(Job, [SourceRef(1)]);
        _outputs.Set(Job, new JobOutputReport("Completed", null, null, null));

        var ex = await Assert.ThrowsAsync<JobOutputNotReadyException>(() => _merger.MergeAsync(Event("Completed")));

        Assert.StartsWith("output-not-reported", ex.Message, StringComparison.Ordinal);
        Assert.Equal(InMemoryJobItemsLedger.ItemState.InJob, _ledger.StateOf(SourceRef(1)));
    }

    [Fact]
    public async Task MergeAsync_StoppedJobWhoseReportedOutputNeverAppears_WaitsThenReturnsEverything()
    {
        _ledger.AddJob(Job, [SourceRef(1), SourceRef(2)]);
        _outputs.Set(Job, new JobOutputReport("Stopped", OutputUri(), null, null));

        // Within the wait limit the event must come back later: the labels may still be on their way.
        _time.Advance(TimeSpan.FromMinutes(30));
        await Assert.ThrowsAsync<JobOutputNotReadyException>(() => _merger.MergeAsync(Event("Stopped")));
        Assert.Equal(InMemoryJobItemsLedger.ItemState.InJob, _ledger.StateOf(SourceRef(1)));

        _time.Advance(TimeSpan.FromMinutes(31));
        var result = await _merger.MergeAsync(Event("Stopped"));

        Assert.Equal(MergeResult.ReturnedToPending, result.Outcome);
        Assert.All([1, 2], i => Assert.Equal(InMemoryJobItemsLedger.ItemState.Pending, _ledger.StateOf(SourceRef(i))));
    }

    [Fact]
    public async Task MergeAsync_ItemUnlabeledByTwoCompletedJobs_IsSetAsideWithMetric()
    {
        const string second = "edgelabel-batch-20261126-0002";
        await GivenJobAsync([1, 2], RealStyle(1), Failed(2));
        await _merger.MergeAsync(Event("Completed"));
        Assert.Equal(InMemoryJobItemsLedger.ItemState.Pending, _ledger.StateOf(SourceRef(2)));

        _ledger.AddJob(second, [SourceRef(2)]);
        _outputs.Set(second, new JobOutputReport("Completed", OutputUri(second), null, 0));
        await PutLinesAsync(_store, LabelingConventions.JobOutputManifestKey(second), [Failed(2, second)]);
        var result = await _merger.MergeAsync(Event("Completed", second));

        Assert.Equal(1, result.SetAsideItems);
        Assert.Equal(InMemoryJobItemsLedger.ItemState.SetAside, _ledger.StateOf(SourceRef(2)));
        Assert.Contains((DatasetMerger.ItemsSetAsideMetric, 1.0, "no-label-in-output"), _metrics.Values);
    }

    [Fact]
    public async Task MergeAsync_ItemsOfTwoFailedJobs_AreNotSetAside()
    {
        // A failed job says nothing about its items: they go round again however often jobs fail.
        foreach (var job in new[] { Job, "edgelabel-batch-20261126-0002", "edgelabel-batch-20261126-0003" })
        {
            _ledger.AddJob(job, [SourceRef(1)]);
            _outputs.Set(job, new JobOutputReport("Failed", null, "ClientError: CORS", 0));
            await _merger.MergeAsync(Event("Failed", job));
        }

        Assert.Equal(InMemoryJobItemsLedger.ItemState.Pending, _ledger.StateOf(SourceRef(1)));
    }

    [Fact]
    public async Task MergeAsync_DuplicateCompletedEvent_ChangesNothing()
    {
        await GivenJobAsync([1, 2], RealStyle(1), Failed(2));
        await _merger.MergeAsync(Event("Completed"));
        var shardBefore = await _store.ReadBytesAsync(Bucket, DatasetKeys.JobShardKey("parts", Job));
        var indexBefore = await _store.ReadBytesAsync(Bucket, DatasetKeys.IndexKey("parts"));

        // Meanwhile item 2 was claimed into another job; a stale duplicate must not touch it.
        _ledger.AddJob("edgelabel-batch-20261126-0002", [SourceRef(2)]);
        var again = await _merger.MergeAsync(Event("Completed"));
        var thenFailed = await _merger.MergeAsync(Event("Failed"));

        Assert.Equal(MergeResult.AlreadyMerged, again.Outcome);
        Assert.Equal(MergeResult.AlreadyMerged, thenFailed.Outcome);
        Assert.Equal(InMemoryJobItemsLedger.ItemState.InJob, _ledger.StateOf(SourceRef(2)));
        Assert.Equal(shardBefore, await _store.ReadBytesAsync(Bucket, DatasetKeys.JobShardKey("parts", Job)));
        Assert.Equal(indexBefore, await _store.ReadBytesAsync(Bucket, DatasetKeys.IndexKey("parts")));
    }

    [Fact]
    public async Task MergeAsync_RepeatedAfterCrashBeforeMarker_RebuildsTheSameDataset()
    {
        await GivenJobAsync([1, 2], RealStyle(1), DocsStyle(2));
        await _merger.MergeAsync(Event("Completed"));
        await ExportAsync();
        var first = await _store.ReadBytesAsync(Bucket, DatasetKeys.DatasetManifestKey("parts"));
        var firstCoco = await _store.ReadBytesAsync(Bucket, DatasetKeys.CocoKey("parts"));
        var firstShard = await _store.ReadBytesAsync(Bucket, DatasetKeys.JobShardKey("parts", Job));
        await _store.DeleteAsync(Bucket, DatasetKeys.JobDoneKey("parts", Job));

        var again = await _merger.MergeAsync(Event("Completed"));
        await ExportAsync();

        Assert.Equal(MergeResult.Merged, again.Outcome);
        Assert.Equal(firstShard, await _store.ReadBytesAsync(Bucket, DatasetKeys.JobShardKey("parts", Job)));
        Assert.Equal(first, await _store.ReadBytesAsync(Bucket, DatasetKeys.DatasetManifestKey("parts")));
        Assert.Equal(firstCoco, await _store.ReadBytesAsync(Bucket, DatasetKeys.CocoKey("parts")));
        Assert.Single(await _store.ListAsync(Bucket, DatasetKeys.JobShardPrefix("parts")).Where(o => o.Key.EndsWith(".manifest", StringComparison.Ordinal)).ToListAsync());
        Assert.Equal((1L, 2L), (again.Dataset!.Shards, again.Dataset.HumanImages));
    }

    [Fact]
    public async Task MergeAsync_MalformedLines_AreNamedAndTheRestProceeds()
    {
        const string notJson = "{\"source-ref\": \"s3://x/y.jpg\", \"parts-human\": ";
        const string noSourceRef = """{"parts-human":{"annotations":[],"image_size":[{"width":1,"height":1}]},"parts-human-metadata":{}}""";
        var badBox = RealStyle(3).Replace("\"left\":455.6", "\"left\":\"far left\"", StringComparison.Ordinal);
        await GivenJobAsync([1, 2, 3], RealStyle(1), notJson, noSourceRef, badBox, "[1,2]", DocsStyle(2));

        var result = await _merger.MergeAsync(Event("Completed"));

        Assert.Equal(2, result.Labeled);
        Assert.Equal(1, result.MalformedLines["not-json"]);
        Assert.Equal(1, result.MalformedLines["no-source-ref"]);
        Assert.Equal(1, result.MalformedLines["invalid-label"]);
        Assert.Equal(1, result.MalformedLines["not-an-object"]);
        Assert.Equal(InMemoryJobItemsLedger.ItemState.Pending, _ledger.StateOf(SourceRef(3)));
        Assert.Equal(2, (await ReadLinesAsync(_store, DatasetKeys.JobShardKey("parts", Job))).Length);
        Assert.Contains(("MergeMalformedLines", 1.0, "not-json"), _metrics.Values);
        Assert.Contains(("MergeReturnedToPending", 1.0, "no-label-in-output"), _metrics.Values);
    }

    [Fact]
    public async Task MergeAsync_InProgressEvent_IsIgnored()
    {
        await GivenJobAsync([1], RealStyle(1));

        var result = await _merger.MergeAsync(Event("InProgress"));

        Assert.Equal(MergeResult.Ignored, result.Outcome);
        Assert.Equal(InMemoryJobItemsLedger.ItemState.InJob, _ledger.StateOf(SourceRef(1)));
        Assert.Null(await _store.HeadAsync(Bucket, DatasetKeys.JobDoneKey("parts", Job)));
    }

    [Fact]
    public async Task MergeAsync_OutputManifestNotWrittenYet_ThrowsNamingItAndLeavesNoMarker()
    {
        _ledger.AddJob(Job, [SourceRef(1)]);
        _outputs.Set(Job, new JobOutputReport("Completed", OutputUri(), null, null));

        var ex = await Assert.ThrowsAsync<JobOutputNotReadyException>(() => _merger.MergeAsync(Event("Completed")));

        Assert.StartsWith("output-manifest-missing", ex.Message, StringComparison.Ordinal);
        Assert.Null(await _store.HeadAsync(Bucket, DatasetKeys.JobDoneKey("parts", Job)));
    }

    [Fact]
    public async Task MergeAsync_AutoLabelsAndHumanLabels_JoinWithHumanWinning()
    {
        await GivenJobAsync([1], RealStyle(1).Replace("uncertain-box", LabelingConventions.AuditSampleReason, StringComparison.Ordinal));
        await PutLinesAsync(_store, LabelingConventions.AutoLabelBatchKey("site-a-cam1", DateTimeOffset.UtcNow, Sha(100)), [Auto(1), Auto(5), Auto(6)]);

        await _merger.MergeAsync(Event("Completed"));
        var report = await ExportAsync();

        var lines = (await ReadLinesAsync(_store, DatasetKeys.DatasetManifestKey("parts"))).Select(l => GroundTruthManifest.Parse(l, "parts")).ToList();
        Assert.Equal(3, lines.Count);
        Assert.True(lines.Single(l => l.SourceRef == SourceRef(1)).HumanAnnotated);
        Assert.False(lines.Single(l => l.SourceRef == SourceRef(5)).HumanAnnotated);
        Assert.Equal(1, report.HumanOverModel);
        Assert.Equal(1, report.AuditAgreement.Images);
        Assert.Contains(("DatasetHumanImages", 1.0, (string?)null), _metrics.Values);
    }

    [Fact]
    public async Task MergeAsync_AutoLabelsInTheIncomingBucket_AreJoinedToo()
    {
        var merger = new DatasetMerger(_store, _ledger, new MergeOptions { DataBucket = Bucket, AutoLabelBuckets = ["incoming-bucket", Bucket], WorkDirectory = Path.Combine(_dir.Path, "work2") }, new DatasetBuilder(), outputs: _outputs);
        await GivenJobAsync([1], RealStyle(1));
        await _store.PutBytesAsync("incoming-bucket", LabelingConventions.AutoLabelBatchKey("site-a-cam1", DateTimeOffset.UtcNow, Sha(200)), System.Text.Encoding.UTF8.GetBytes(Auto(8) + "\n"), "application/jsonlines");
        await PutLinesAsync(_store, LabelingConventions.AutoLabelBatchKey("site-b-cam2", DateTimeOffset.UtcNow, Sha(201)), [Auto(9)]);

        await merger.MergeAsync(Event("Completed"));
        var report = await ExportAsync(merger);

        Assert.Equal(1, report.HumanImages);
        Assert.Equal(2, report.ModelImages);
    }

    [Fact]
    public async Task MergeAsync_GzipAutoLabelBatchBesidePlainOne_BothAreJoined()
    {
        await GivenJobAsync([1], RealStyle(1));
        // The edge stores batches gzip-compressed; older batches and hand-made ones are plain JSON lines.
        var gz = ObjectContent.Compress(System.Text.Encoding.UTF8.GetBytes(Auto(5) + "\n" + Auto(6) + "\n"));
        await _store.PutBytesAsync(Bucket, LabelingConventions.AutoLabelBatchKey("site-a-cam1", DateTimeOffset.UtcNow, Sha(300)), gz, "application/x-ndjson",
            new Dictionary<string, string> { [ObjectContent.ContentEncodingKey] = ObjectContent.Gzip });
        await PutLinesAsync(_store, LabelingConventions.AutoLabelBatchKey("site-a-cam1", DateTimeOffset.UtcNow, Sha(301)), [Auto(7)]);

        await _merger.MergeAsync(Event("Completed"));
        var report = await ExportAsync();

        var lines = (await ReadLinesAsync(_store, DatasetKeys.DatasetManifestKey("parts"))).Select(l => GroundTruthManifest.Parse(l, "parts")).ToList();
        Assert.Equal([SourceRef(1), SourceRef(5), SourceRef(6), SourceRef(7)], lines.Select(l => l.SourceRef).Order());
        Assert.Equal(3, report.ModelImages);
        Assert.Empty(report.Skipped);
    }

    [Fact]
    public async Task MergeAsync_OutputWithForeignAttributeName_WritesTheFullShardUnderTheDatasetAttribute()
    {
        await GivenJobAsync([1, 2, 3], LabelSelectionTests.Foreign(1), LabelSelectionTests.Foreign(2), LabelSelectionTests.Foreign(3));

        var result = await _merger.MergeAsync(Event("Completed"));

        Assert.Equal(3, result.Labeled);
        Assert.Equal(0, result.ReturnedItems);
        Assert.Equal(new AttributeTally(GroundTruthManifest.ObjectDetectionType, 3, 3), result.Shard!.Attributes["category"]);
        var shard = (await ReadLinesAsync(_store, DatasetKeys.JobShardKey("parts", Job))).Select(l => GroundTruthManifest.Parse(l, "parts")).ToList();
        Assert.Equal([SourceRef(1), SourceRef(2), SourceRef(3)], shard.Select(l => l.SourceRef));
        Assert.All([1, 2, 3], i => Assert.Equal(InMemoryJobItemsLedger.ItemState.Labeled, _ledger.StateOf(SourceRef(i))));
    }

    [Fact]
    public async Task MergeAsync_OutputWithoutAnyBoxLabel_CountsItByNameAndReturnsTheItems()
    {
        const string classification = """{"source-ref":"@","category":1,"category-metadata":{"class-name":"bolt","type":"groundtruth/image-classification","human-annotated":"yes"}}""";
        await GivenJobAsync([1, 2], classification.Replace("@", SourceRef(1), StringComparison.Ordinal), classification.Replace("@", SourceRef(2), StringComparison.Ordinal));

        var result = await _merger.MergeAsync(Event("Completed"));

        Assert.Equal(0, result.Labeled);
        Assert.Equal(2, result.MalformedLines["not-bounding-box"]);
        Assert.Equal(2, result.ReturnedItems);
        Assert.Equal(new AttributeTally("groundtruth/image-classification", 2, 0), result.Shard!.Attributes["category"]);
        Assert.Contains(("MergeMalformedLines", 2.0, "not-bounding-box"), _metrics.Values);
    }

    [Fact]
    public async Task MergeAsync_NextJob_ReadsNoOtherShardOnlyTheIndex()
    {
        var counting = new ReadCountingStore(_store);
        var merger = new DatasetMerger(counting, _ledger, new MergeOptions { DataBucket = Bucket, WorkDirectory = Path.Combine(_dir.Path, "work3") }, new DatasetBuilder(), outputs: _outputs);
        await GivenJobAsync([1, 2], RealStyle(1), DocsStyle(2));
        await merger.MergeAsync(Event("Completed"));
        const string next = "edgelabel-batch-20261126-0002";
        _ledger.AddJob(next, [SourceRef(3)]);
        _outputs.Set(next, new JobOutputReport("Completed", OutputUri(next), null, 1));
        await PutLinesAsync(_store, LabelingConventions.JobOutputManifestKey(next), [DocsStyle(3, next)]);
        await PutLinesAsync(_store, LabelingConventions.AutoLabelBatchKey("site-a-cam1", DateTimeOffset.UtcNow, Sha(400)), [Auto(9)]);
        counting.Reads.Clear();

        var result = await merger.MergeAsync(Event("Completed", next));

        // O(job): the job's own output, the index (and the done-marker check); never the first shard or the auto labels.
        Assert.Equal([DatasetKeys.IndexKey("parts"), LabelingConventions.JobOutputManifestKey(next)], counting.Reads.Order(StringComparer.Ordinal));
        Assert.Equal((2L, 3L), (result.Dataset!.Shards, result.Dataset.HumanImages));
    }

    [Fact]
    public async Task MergeAsync_IndexLostAnEntry_IsRepairedFromTheJobSummaries()
    {
        await GivenJobAsync([1, 2], RealStyle(1), DocsStyle(2));
        await _merger.MergeAsync(Event("Completed"));
        // A concurrent merge wrote the index without this job's entry.
        await _store.PutBytesAsync(Bucket, DatasetKeys.IndexKey("parts"), """{"Attribute":"parts","Shards":[]}"""u8.ToArray(), "application/json");
        const string next = "edgelabel-batch-20261126-0002";
        _ledger.AddJob(next, [SourceRef(3)]);
        _outputs.Set(next, new JobOutputReport("Completed", OutputUri(next), null, 1));
        await PutLinesAsync(_store, LabelingConventions.JobOutputManifestKey(next), [DocsStyle(3, next)]);

        var result = await _merger.MergeAsync(Event("Completed", next));

        Assert.Equal((2L, 3L), (result.Dataset!.Shards, result.Dataset.HumanImages));
    }

    [Fact]
    public async Task MergeAsync_AuditSampleImages_FeedTheAuditMetricsOverEveryJobSoFar()
    {
        // The edge sent image 1 as an audit of a confident auto label: its prior boxes are what the edge labeled.
        var audit = RealStyle(1).Replace("uncertain-box", LabelingConventions.AuditSampleReason, StringComparison.Ordinal);
        await GivenJobAsync([1, 2], audit, DocsStyle(2));

        var result = await _merger.MergeAsync(Event("Completed"));

        Assert.Equal(1, result.Dataset!.Audit.Images);
        Assert.Equal(0, result.Dataset.Reviewed.Images);
        Assert.Equal(1.0, result.Dataset.Audit.Precision);
        Assert.Equal(0.5, result.Dataset.Audit.Recall);
        Assert.Contains(("AuditModelPrecision", 100.0, (string?)null), _metrics.Values);
        Assert.Contains(("AuditModelRecall", 50.0, (string?)null), _metrics.Values);
    }

    [Fact]
    public async Task MergeAsync_NoAuditImageYet_EmitsNoAgreementMetric()
    {
        await GivenJobAsync([1], DocsStyle(1));

        var result = await _merger.MergeAsync(Event("Completed"));

        Assert.Null(result.Dataset!.Audit.Precision);
        Assert.DoesNotContain(_metrics.Values, v => v.Name.StartsWith("AuditModel", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"source":"aws.s3","detail-type":"SageMaker Ground Truth Labeling Job State Change","resources":["arn:aws:sagemaker:us-east-1:1:labeling-job/a"],"detail":{"LabelingJobStatus":"Completed"}}""", "unexpected-source")]
    [InlineData("""{"source":"aws.sagemaker","detail-type":"Scheduled Event","resources":[],"detail":{}}""", "unexpected-detail-type")]
    [InlineData("""{"source":"aws.sagemaker","detail-type":"SageMaker Ground Truth Labeling Job State Change","resources":[],"detail":{"LabelingJobStatus":"Completed"}}""", "missing-job-arn")]
    [InlineData("""{"source":"aws.sagemaker","detail-type":"SageMaker Ground Truth Labeling Job State Change","resources":["arn:aws:sagemaker:us-east-1:1:training-job/a"],"detail":{"LabelingJobStatus":"Completed"}}""", "not-a-labeling-job-arn")]
    [InlineData("""{"source":"aws.sagemaker","detail-type":"SageMaker Ground Truth Labeling Job State Change","resources":["arn:aws:sagemaker:us-east-1:1:labeling-job/a"],"detail":{}}""", "missing-status")]
    [InlineData("""{"source": 12""", "malformed-event")]
    public void Parse_BadEvent_ThrowsWithNamedReason(string json, string reason)
    {
        var ex = Assert.Throws<FormatException>(() => JobStateChangeEvent.Parse(System.Text.Encoding.UTF8.GetBytes(json)));

        Assert.StartsWith(reason, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EventBridgeEvent_TakesTheJobNameFromTheArn()
    {
        var change = JobStateChangeEvent.Parse(Event("Completed", "My-Job-7"));

        Assert.Equal("My-Job-7", change.JobName);
        Assert.Equal("Completed", change.Status);
        Assert.Equal("arn:aws:sagemaker:us-east-1:123456789012:labeling-job/My-Job-7", change.JobArn);
    }

    /// <summary>Records which objects are opened for reading (HEADs and LISTs are not reads of lines).</summary>
    private sealed class ReadCountingStore(IObjectStore inner) : IObjectStore
    {
        public List<string> Reads { get; } = [];

        public Task PutAsync(string bucket, string key, Stream content, string contentType, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) =>
            inner.PutAsync(bucket, key, content, contentType, metadata, cancellationToken);

        public Task<StoredObject?> HeadAsync(string bucket, string key, CancellationToken cancellationToken = default) => inner.HeadAsync(bucket, key, cancellationToken);

        public Task<Stream?> OpenReadAsync(string bucket, string key, CancellationToken cancellationToken = default)
        {
            Reads.Add(key);
            return inner.OpenReadAsync(bucket, key, cancellationToken);
        }

        public IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(bucket, prefix, cancellationToken);

        public Task DeleteAsync(string bucket, string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(bucket, key, cancellationToken);
    }

    private sealed class RecordingMetrics : ILabelingMetrics
    {
        public List<(string Name, double Value, string? Reason)> Values { get; } = [];

        public void Emit(string name, double value, string unit, IReadOnlyDictionary<string, string>? dimensions = null, IReadOnlyDictionary<string, string>? properties = null) =>
            Values.Add((name, value, dimensions?.GetValueOrDefault("Reason")));
    }
}
