using System.Text;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Jobs;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Labeling.Tests.Support;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Tests.Batching;

public sealed class BatchPlannerTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly FileSystemObjectStore _objects;
    private readonly SqlitePendingStore _store;
    private readonly FakeSageMaker _sageMaker = new();
    private readonly RecordingMetrics _metrics = new();
    private readonly ManualTime _time = new(Fixtures.Start);

    public BatchPlannerTests()
    {
        _objects = new FileSystemObjectStore(_dir.File("s3"));
        _store = new SqlitePendingStore(_dir.File("pending.db"));
    }

    public void Dispose() => _dir.Dispose();

    private BatchPlanner Planner(Func<LabelingOptions, LabelingOptions>? tweak = null, IPendingStore? store = null, ILabelingMetrics? metrics = null)
    {
        var options = Fixtures.Options(_dir.File("pending.db"), tweak);
        return new BatchPlanner(store ?? _store, _objects, _sageMaker, new LabelingJobFactory(options, _time), new CostForecaster(options.Budget), options, metrics ?? _metrics, _time);
    }

    /// <summary>The EMF line (as CloudWatch would read it) that carries <paramref name="metric"/>.</summary>
    private static JsonNode EmfLine(string output, string metric) => Assert.Single(
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!),
        l => l["_aws"]!["CloudWatchMetrics"]![0]!["Metrics"]![0]!["Name"]!.GetValue<string>() == metric);

    private async Task AddPendingAsync(int from, int count, int boxes = 1, IPendingStore? store = null)
    {
        store ??= _store;
        for (var n = from; n < from + count; n++)
        {
            var key = Fixtures.ImageKey(n);
            await store.RegisterImageAsync(new ImageArrival(key, Fixtures.Bucket, "site-7_cam:1", _time.GetUtcNow()));
            await store.RegisterSidecarAsync(new SidecarArrival(key, Fixtures.Bucket, "site-7_cam:1", PendingPayload.From(Fixtures.Review(n, boxes)), _time.GetUtcNow()));
        }
    }

    private static BatchingPolicy Small(BatchingPolicy p) => p with { MinItems = 10, MaxAge = TimeSpan.FromHours(2) };

    private async Task<List<string>> ManifestSourceRefsAsync(string jobName)
    {
        var bytes = await _objects.ReadBytesAsync(Fixtures.DataBucket, $"{LabelingConventions.JobInputPrefix}{jobName}/{LabelingJobFactory.ManifestFileName}");
        return Encoding.UTF8.GetString(bytes!).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonNode.Parse(l)!["source-ref"]!.GetValue<string>()).ToList();
    }

    [Fact]
    public async Task PlanAsync_FewAndFresh_MakesNoJob()
    {
        await AddPendingAsync(0, 9);

        var report = await Planner(o => o with { Batching = Small(o.Batching) }).PlanAsync();

        Assert.Equal(BatchDecisions.BelowThreshold, report.Decision);
        Assert.Empty(_sageMaker.Jobs);
        Assert.Equal(9, report.PendingAfter);
    }

    [Fact]
    public async Task PlanAsync_ReachesMinItems_MakesOneJobWithAllItems()
    {
        await AddPendingAsync(0, 10);

        var report = await Planner(o => o with { Batching = Small(o.Batching) }).PlanAsync();

        var job = Assert.Single(report.Jobs);
        Assert.Equal(10, job.Items);
        Assert.True(job.Adjustment);
        Assert.Equal(BatchDecisions.NoPending, report.Decision);
        Assert.Equal(10, (await ManifestSourceRefsAsync(job.JobName)).Count);
        Assert.Equal(BatchStatus.Created, (await _store.GetBatchAsync(job.JobName))!.Status);
        Assert.Equal(FakeSageMaker.Arn(job.JobName), (await _store.GetBatchAsync(job.JobName))!.JobArn);
    }

    [Fact]
    public async Task PlanAsync_OldestOlderThanMaxAge_MakesJobBelowMinItems()
    {
        await AddPendingAsync(0, 3);
        _time.Advance(TimeSpan.FromHours(2));

        var report = await Planner(o => o with { Batching = Small(o.Batching) }).PlanAsync();

        Assert.Equal(3, Assert.Single(report.Jobs).Items);
    }

    [Fact]
    public async Task PlanAsync_MoreThanCap_SplitsIntoCappedJobsOldestFirst()
    {
        await AddPendingAsync(0, 25);
        // 1 labeler × 1 h × 1 day × 3600 s ÷ 360 s = 10 images per job.
        var planner = Planner(o => o with { Batching = Small(o.Batching) with { Labelers = 1, HoursPerDay = 1, TaskAvailabilityDays = 1, SecondsPerImage = 360 } });

        var report = await planner.PlanAsync(flush: true);

        Assert.Equal(10, report.JobSizeCap);
        Assert.Equal([10, 10, 5], report.Jobs.Select(j => j.Items));
        var all = new List<string>();
        foreach (var j in report.Jobs)
        {
            all.AddRange(await ManifestSourceRefsAsync(j.JobName));
        }

        Assert.Equal(25, all.Distinct().Count());
    }

    [Fact]
    public async Task PlanAsync_BudgetForFewerItems_ShrinksJobToWhatFits()
    {
        await AddPendingAsync(0, 10);

        var report = await Planner(o => o with { Batching = Small(o.Batching) with { MinItems = 5 }, Budget = o.Budget with { MonthlyBudgetUsd = 0.40m } }).PlanAsync();

        var job = Assert.Single(report.Jobs);
        Assert.Equal(5, job.Items);
        Assert.Equal(0.40m, job.ForecastUsd);
        Assert.Equal(BatchDecisions.BudgetExhausted, report.Decision);
        Assert.Equal(5, report.PendingAfter);
        Assert.Equal(new BudgetState("2026-11", 5, 0.40m), await _store.GetBudgetAsync("2026-11"));
        Assert.Equal(1, _metrics.Sum("BudgetShrunkJobs"));
    }

    [Fact]
    public async Task PlanAsync_BudgetSpent_CreatesNoJobAndSaysWhy()
    {
        await AddPendingAsync(0, 10);
        await _store.TryReserveBudgetAsync("2026-11", 0, 1250, 100m, 100m);

        var report = await Planner(o => o with { Batching = Small(o.Batching) }).PlanAsync();

        Assert.Empty(report.Jobs);
        Assert.Equal(BatchDecisions.BudgetExhausted, report.Decision);
        Assert.Equal(10, _metrics.Sum("BudgetBlockedItems", "Reason", "budget-exhausted"));
        Assert.Equal(1, _metrics.Sum("BatchRuns", "Decision", "budget-exhausted"));
        Assert.Equal(10, (await _store.GetPendingSummaryAsync()).Count);
    }

    [Fact]
    public async Task PlanAsync_NewMonth_BudgetIsAvailableAgain()
    {
        await AddPendingAsync(0, 10);
        await _store.TryReserveBudgetAsync("2026-11", 0, 1250, 100m, 100m);

        var report = await Planner(o => o with { Batching = Small(o.Batching) }).PlanAsync(now: new DateTimeOffset(2026, 12, 1, 0, 5, 0, TimeSpan.Zero));

        Assert.Equal(10, Assert.Single(report.Jobs).Items);
        Assert.Equal(0.80m, (await _store.GetBudgetAsync("2026-12")).SpentUsd);
    }

    [Fact]
    public async Task PlanAsync_ResponseLostAfterCreate_NextRunAdoptsJobWithoutSecond()
    {
        await AddPendingAsync(0, 10);
        _sageMaker.LoseNextResponse = true;
        var planner = Planner(o => o with { Batching = Small(o.Batching) });

        var first = await planner.PlanAsync();
        var tooSoon = await planner.PlanAsync();
        _time.Advance(TimeSpan.FromMinutes(20));
        var second = await planner.PlanAsync();

        Assert.Equal(BatchDecisions.Deferred, first.Decision);
        Assert.Contains("response lost", first.Error, StringComparison.Ordinal);
        Assert.Empty(tooSoon.Jobs);
        var job = Assert.Single(second.Jobs);
        Assert.True(job.Resumed);
        Assert.Equal(2, _sageMaker.CreateCalls);
        Assert.Single(_sageMaker.Jobs);
        Assert.Equal(FakeSageMaker.Arn(job.JobName), job.JobArn);
        Assert.Equal(BatchStatus.Created, (await _store.GetBatchAsync(job.JobName))!.Status);
        Assert.Equal(new BudgetState("2026-11", 10, 0.80m), await _store.GetBudgetAsync("2026-11"));
    }

    [Fact]
    public async Task PlanAsync_NameTakenBySomeoneElse_AbandonsBatchAndReturnsItems()
    {
        await AddPendingAsync(0, 10);
        _sageMaker.BeforeCreate = r => _sageMaker.Jobs.TryAdd(r.LabelingJobName!, r with
        {
            InputConfig = new LabelingJobInputConfig { DataSource = new LabelingJobDataSource { S3DataSource = new LabelingJobS3DataSource { ManifestS3Uri = "s3://other/manifest" } } },
            Tags = [],
        });

        var report = await Planner(o => o with { Batching = Small(o.Batching) }).PlanAsync();

        Assert.Equal(BatchDecisions.JobRejected, report.Decision);
        Assert.Equal(10, report.PendingAfter);
        Assert.Equal(new BudgetState("2026-11", 0, 0m), await _store.GetBudgetAsync("2026-11"));
        Assert.Equal(1, _metrics.Sum("JobsRejected", "Reason", "name-taken"));
    }

    [Fact]
    public async Task PlanAsync_ValidationRejected_ReturnsItemsAndRefunds()
    {
        await AddPendingAsync(0, 10);
        _sageMaker.BeforeCreate = _ => throw new SageMakerValidationException("Workteam is not in this region", System.Net.HttpStatusCode.BadRequest);

        var report = await Planner(o => o with { Batching = Small(o.Batching) }).PlanAsync();

        Assert.Empty(report.Jobs);
        Assert.Equal(BatchDecisions.JobRejected, report.Decision);
        Assert.Equal(10, (await _store.GetPendingSummaryAsync()).Count);
        Assert.Equal(0m, (await _store.GetBudgetAsync("2026-11")).SpentUsd);
        Assert.Single(await _store.ListBatchesAsync(BatchStatus.Abandoned));
    }

    [Fact]
    public async Task PlanAsync_CreationRefusedOverAndOver_BacksOffInsteadOfRecreatingEveryRun()
    {
        await AddPendingAsync(0, 10);
        // An execution role SageMaker cannot assume: every CreateLabelingJob is refused the same way.
        _sageMaker.BeforeCreate = _ => throw new SageMakerException("AccessDeniedException", "not authorized to perform iam:PassRole", System.Net.HttpStatusCode.BadRequest);
        var planner = Planner(o => o with { Batching = Small(o.Batching) with { CreationBackoffInitial = TimeSpan.FromMinutes(30), CreationBackoffMax = TimeSpan.FromHours(4) } });

        var first = await planner.PlanAsync();
        // A batcher scheduled every 5 minutes for an hour and a half.
        var decisions = new List<string>();
        for (var run = 0; run < 18; run++)
        {
            _time.Advance(TimeSpan.FromMinutes(5));
            decisions.Add((await planner.PlanAsync()).Decision);
        }

        Assert.Equal(BatchDecisions.JobRejected, first.Decision);
        // Attempts at 0, +30 min and +90 min (30, then 60 minutes of back-off), not 19.
        Assert.Equal(3, _sageMaker.CreateCalls);
        Assert.Equal(16, decisions.Count(d => d == BatchDecisions.CreationBackoff));
        Assert.Equal(3, _metrics.Sum(BatchPlanner.JobCreationFailuresMetric));
        Assert.Equal(16, _metrics.Sum(BatchPlanner.CreationBackoffMetric));
        Assert.Equal(10, (await _store.GetPendingSummaryAsync()).Count);
        var backoff = (await _store.GetCreationBackoffAsync())!;
        Assert.Equal(3, backoff.Failures);
        Assert.Contains("AccessDeniedException", backoff.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlanAsync_BackoffSurvivesANewPlannerAndEndsWithTheFirstCreatedJob()
    {
        await AddPendingAsync(0, 10);
        await _store.RecordCreationFailureAsync("edgelabel-x: ClientError: CORS", _time.GetUtcNow(), TimeSpan.FromMinutes(30), TimeSpan.FromHours(4));

        var during = await Planner(o => o with { Batching = Small(o.Batching) }).PlanAsync();
        _time.Advance(TimeSpan.FromMinutes(31));
        var after = await Planner(o => o with { Batching = Small(o.Batching) }).PlanAsync();

        Assert.Equal(BatchDecisions.CreationBackoff, during.Decision);
        Assert.Empty(during.Jobs);
        Assert.Single(after.Jobs);
        Assert.Equal(1, _sageMaker.CreateCalls);
        Assert.Null(await _store.GetCreationBackoffAsync());
    }

    [Fact]
    public async Task PlanAsync_ThrottledCreate_IsNotABackoffReason()
    {
        await AddPendingAsync(0, 10);
        _sageMaker.BeforeCreate = _ => throw new SageMakerThrottlingException("Rate exceeded", System.Net.HttpStatusCode.BadRequest);

        var report = await Planner(o => o with { Batching = Small(o.Batching) }).PlanAsync();

        Assert.Equal(BatchDecisions.Deferred, report.Decision);
        Assert.Null(await _store.GetCreationBackoffAsync());
    }

    [Fact]
    public async Task PlanAsync_HalfPairsOlderThanAlarm_AreReportedByReason()
    {
        await _store.RegisterImageAsync(new ImageArrival(Fixtures.ImageKey(1), Fixtures.Bucket, "t", _time.GetUtcNow()));
        await _store.RegisterImageAsync(new ImageArrival(Fixtures.ImageKey(2), Fixtures.Bucket, "t", _time.GetUtcNow()));
        await _store.RegisterSidecarAsync(new SidecarArrival(Fixtures.ImageKey(3), Fixtures.Bucket, "t", PendingPayload.From(Fixtures.Review(3)), _time.GetUtcNow()));
        var fresh = await Planner().PlanAsync();
        _time.Advance(TimeSpan.FromHours(2));

        var stale = await Planner().PlanAsync();

        Assert.Equal((0, 0), (fresh.StaleImagesWithoutSidecar, fresh.StaleSidecarsWithoutImage));
        Assert.Equal((2, 1), (stale.StaleImagesWithoutSidecar, stale.StaleSidecarsWithoutImage));
        Assert.Equal(2, _metrics.Sum("StaleHalfPairs", "Reason", "image-without-sidecar"));
        Assert.Equal(1, _metrics.Sum("StaleHalfPairs", "Reason", "sidecar-without-image"));
    }

    [Fact]
    public async Task PlanAsync_NoBoxes_UsesPlainBoundingBoxLambdas()
    {
        await AddPendingAsync(0, 10, boxes: 0);

        var report = await Planner(o => o with { Batching = Small(o.Batching) }).PlanAsync();

        var job = Assert.Single(report.Jobs);
        Assert.False(job.Adjustment);
        var request = _sageMaker.Jobs[job.JobName];
        Assert.Equal("arn:aws:lambda:eu-west-1:568282634449:function:PRE-BoundingBox", request.HumanTaskConfig!.PreHumanTaskLambdaArn);
        Assert.Equal("arn:aws:lambda:eu-west-1:568282634449:function:ACS-BoundingBox", request.HumanTaskConfig.AnnotationConsolidationConfig!.AnnotationConsolidationLambdaArn);
    }

    [Fact]
    public async Task PlanAsync_ConcurrentPlannersOnOneFile_NoImageInTwoJobsNoneLost()
    {
        const int items = 300;
        await AddPendingAsync(0, items);

        // Four batchers with their own connections, racing; each may make up to 5 jobs of at most 40.
        var planners = Enumerable.Range(0, 4).Select(_ => Task.Run(() => Planner(
            o => o with { Batching = Small(o.Batching) with { MaxItemsPerJob = 40 } },
            new SqlitePendingStore(_dir.File("pending.db"))).PlanAsync(flush: true))).ToList();
        var reports = await Task.WhenAll(planners);
        var leftover = await Planner(o => o with { Batching = Small(o.Batching) with { MaxItemsPerJob = 40, MaxJobsPerRun = 20 } }).PlanAsync(flush: true);

        var jobs = reports.SelectMany(r => r.Jobs).Concat(leftover.Jobs).ToList();
        var refs = new List<string>();
        foreach (var j in jobs)
        {
            refs.AddRange(await ManifestSourceRefsAsync(j.JobName));
        }

        Assert.Equal(items, refs.Count);
        Assert.Equal(items, refs.Distinct().Count());
        Assert.Equal(jobs.Count, _sageMaker.Jobs.Count);
        Assert.Equal(0, (await _store.GetPendingSummaryAsync()).Count);
        Assert.Equal(new BudgetState("2026-11", items, items * 0.08m), await _store.GetBudgetAsync("2026-11"));
    }

    [Fact]
    public async Task PlanAsync_ConcurrentPlannersWithTightBudget_NeverOverspend()
    {
        await AddPendingAsync(0, 200);
        var tweak = (LabelingOptions o) => o with { Batching = Small(o.Batching) with { MaxItemsPerJob = 30 }, Budget = o.Budget with { MonthlyBudgetUsd = 5.00m } };

        var reports = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            Planner(tweak, new SqlitePendingStore(_dir.File("pending.db"))).PlanAsync(flush: true))));

        var labeled = reports.SelectMany(r => r.Jobs).Sum(j => j.Items);
        Assert.Equal(62, labeled);
        Assert.Equal(new BudgetState("2026-11", 62, 4.96m), await _store.GetBudgetAsync("2026-11"));
        Assert.Equal(200 - 62, (await _store.GetPendingSummaryAsync()).Count);
    }

    [Fact]
    public async Task PlanAsync_ItemsWaitingBelowThreshold_EmitsOldestAgeMinutesEmfLine()
    {
        await AddPendingAsync(0, 3);
        _time.Advance(TimeSpan.FromMinutes(90));
        await AddPendingAsync(3, 2);
        var output = new StringWriter();

        var report = await Planner(o => o with { Batching = Small(o.Batching) }, metrics: new EmfMetrics(output, "EdgeLabeling", _time)).PlanAsync();

        Assert.Equal(BatchDecisions.BelowThreshold, report.Decision);
        Assert.Equal(TimeSpan.FromMinutes(90), report.OldestPendingAge);
        var line = EmfLine(output.ToString(), BatchPlanner.OldestPendingAgeMetric);
        var directive = line["_aws"]!["CloudWatchMetrics"]![0]!;
        Assert.Equal("OldestPendingAgeMinutes", directive["Metrics"]![0]!["Name"]!.GetValue<string>());
        Assert.Equal("None", directive["Metrics"]![0]!["Unit"]!.GetValue<string>());
        Assert.Equal("EdgeLabeling", directive["Namespace"]!.GetValue<string>());
        Assert.Equal("[[]]", directive["Dimensions"]!.ToJsonString());
        Assert.Equal(90, line["OldestPendingAgeMinutes"]!.GetValue<double>());
        Assert.Equal(_time.GetUtcNow().ToUnixTimeMilliseconds(), line["_aws"]!["Timestamp"]!.GetValue<long>());
        Assert.Equal(5, EmfLine(output.ToString(), "PendingItems")["PendingItems"]!.GetValue<double>());
    }

    [Fact]
    public async Task PlanAsync_NothingPending_EmitsZeroAge()
    {
        var output = new StringWriter();

        var report = await Planner(metrics: new EmfMetrics(output, "EdgeLabeling", _time)).PlanAsync();

        Assert.Equal(BatchDecisions.NoPending, report.Decision);
        Assert.Equal(TimeSpan.Zero, report.OldestPendingAge);
        Assert.Equal(0, EmfLine(output.ToString(), BatchPlanner.OldestPendingAgeMetric)[BatchPlanner.OldestPendingAgeMetric]!.GetValue<double>());
    }

    [Fact]
    public async Task PlanAsync_JobTakesTheOldest_AgeIsOfTheOldestLeftBehind()
    {
        await AddPendingAsync(0, 10);
        _time.Advance(TimeSpan.FromMinutes(30));
        await AddPendingAsync(10, 5);
        _time.Advance(TimeSpan.FromMinutes(45));
        // 1 labeler × 1 h × 1 day × 3600 s ÷ 360 s = 10 images per job, and one job per run.
        var planner = Planner(o => o with { Batching = Small(o.Batching) with { Labelers = 1, HoursPerDay = 1, TaskAvailabilityDays = 1, SecondsPerImage = 360, MaxJobsPerRun = 1 } });

        var report = await planner.PlanAsync(flush: true);

        Assert.Equal(10, Assert.Single(report.Jobs).Items);
        Assert.Equal(5, report.PendingAfter);
        Assert.Equal(TimeSpan.FromMinutes(45), report.OldestPendingAge);
        Assert.Equal(45, _metrics.Sum(BatchPlanner.OldestPendingAgeMetric));
    }

    [Fact]
    public async Task PlanAsync_JobRejectedForGood_ReturnedItemsKeepTheirOriginalAge()
    {
        await AddPendingAsync(0, 10);
        _time.Advance(TimeSpan.FromHours(3));
        _sageMaker.BeforeCreate = _ => throw new SageMakerValidationException("Workteam is not in this region", System.Net.HttpStatusCode.BadRequest);

        var report = await Planner(o => o with { Batching = Small(o.Batching) }).PlanAsync();

        Assert.Equal(BatchDecisions.JobRejected, report.Decision);
        Assert.Equal(10, report.PendingAfter);
        Assert.Equal(180, _metrics.Sum(BatchPlanner.OldestPendingAgeMetric));
    }

    [Fact]
    public async Task PlanAsync_ReplayClock_MeasuresAgeAtTheGivenTime()
    {
        await AddPendingAsync(0, 3);

        var report = await Planner(o => o with { Batching = Small(o.Batching) with { MaxAge = TimeSpan.FromDays(30) } })
            .PlanAsync(now: Fixtures.Start.AddMinutes(125));

        Assert.Equal(BatchDecisions.BelowThreshold, report.Decision);
        Assert.Equal(125, _metrics.Sum(BatchPlanner.OldestPendingAgeMetric));
    }

    [Theory]
    [InlineData(null, 0)]
    [InlineData(30, 0)]
    [InlineData(-30, 30)]
    public void OldestPendingAge_PendingSinceMissingOrAheadOfClock_IsNeverNegative(int? minutesFromNow, double expectedMinutes)
    {
        DateTimeOffset? since = minutesFromNow is { } m ? Fixtures.Start.AddMinutes(m) : null;

        Assert.Equal(expectedMinutes, BatchPlanner.OldestPendingAge(since, Fixtures.Start).TotalMinutes);
    }
}
