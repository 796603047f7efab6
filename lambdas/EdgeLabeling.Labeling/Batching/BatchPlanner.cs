using System.Globalization;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Jobs;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Batching;

/// <summary>A job this run created (or found already created when resuming a batch).</summary>
public sealed record PlannedJob(string JobName, string BatchId, int Items, decimal ForecastUsd, bool Adjustment, bool Resumed, string? JobArn)
{
    /// <summary>Prior boxes left out of the manifest to fit Ground Truth's line and attribute limits.</summary>
    public int PriorBoxesDropped { get; init; }
}

/// <summary>What one planner run did and why it stopped.</summary>
public sealed record BatchRunReport
{
    public required DateTimeOffset Now { get; init; }

    /// <summary>Why the run stopped making jobs: see <see cref="BatchDecisions"/>.</summary>
    public required string Decision { get; init; }
    public required IReadOnlyList<PlannedJob> Jobs { get; init; }
    public long PendingBefore { get; init; }
    public long PendingAfter { get; init; }
    public int JobSizeCap { get; init; }

    /// <summary>Half pairs older than <see cref="BatchingPolicy.HalfPairAlarmAfter"/> (up to 1,000 counted).</summary>
    public int StaleImagesWithoutSidecar { get; init; }
    public int StaleSidecarsWithoutImage { get; init; }

    /// <summary>How long the oldest item still pending after the run has waited (zero when none; the OldestPendingAgeMinutes metric).</summary>
    public TimeSpan OldestPendingAge { get; init; }

    public string? Error { get; init; }
}

/// <summary>Named reasons a planner run stops (the <c>Decision</c> dimension of the BatchRuns metric).</summary>
public static class BatchDecisions
{
    public const string NoPending = "no-pending";
    public const string BelowThreshold = "below-threshold";
    public const string BudgetExhausted = "budget-exhausted";
    public const string MaxJobsPerRun = "max-jobs-per-run";
    public const string BudgetContention = "budget-contention";
    public const string JobRejected = "job-rejected";
    public const string Deferred = "deferred-after-error";

    /// <summary>Job creation failed recently (refused, or the job failed at its start); the run waits out the back-off.</summary>
    public const string CreationBackoff = "creation-backoff";
}

/// <summary>
/// Decides when to make a Ground Truth job and makes it. A job is made when at least
/// <see cref="BatchingPolicy.MinItems"/> items are pending or the oldest has waited
/// <see cref="BatchingPolicy.MaxAge"/>. Its size is the smallest of: what is pending, what the team can
/// finish before tasks expire (<see cref="BatchingPolicy.JobSizeCap"/>), and what the month's remaining
/// budget pays for.
/// <para>
/// Budget: a job that does not fit is <b>shrunk</b> to what fits rather than held back. Ground Truth
/// charges per object with no per-job fee, so the smaller job costs exactly its share and labels the
/// oldest items now; waiting would leave paid-for capacity unused for the rest of the month. When not
/// even one object fits, nothing is created, the items wait for next month, and the run reports
/// <see cref="BatchDecisions.BudgetExhausted"/>.
/// </para>
/// <para>
/// Crash safety: the batch record is written before items are claimed, budget is reserved before the
/// job is created, and the job name is derived from the batch id. A run that dies anywhere leaves a
/// batch in <see cref="BatchStatus.Claimed"/>, which the next run resumes; CreateLabelingJob then either
/// succeeds or answers ResourceInUse for the job the dead run created, which is adopted after a describe.
/// </para>
/// </summary>
public sealed class BatchPlanner(
    IPendingStore store,
    IObjectStore objects,
    ISageMakerClient sageMaker,
    LabelingJobFactory factory,
    CostForecaster forecaster,
    LabelingOptions options,
    ILabelingMetrics metrics,
    TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public static string MonthOf(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary>One planner run: resume unfinished batches, then make jobs while the thresholds hold.</summary>
    /// <param name="flush">Make a job from whatever is pending even below the thresholds (operator request, dry runs).</param>
    /// <param name="now">Clock override for replays; defaults to the time provider.</param>
    public async Task<BatchRunReport> PlanAsync(bool flush = false, DateTimeOffset? now = null, CancellationToken cancellationToken = default)
    {
        var at = now ?? _time.GetUtcNow();
        var jobs = new List<PlannedJob>();
        var cap = options.Batching.JobSizeCap(options.Task.WorkersPerObject);
        var before = (await store.GetPendingSummaryAsync(cancellationToken).ConfigureAwait(false)).Count;
        string decision;
        string? error = null;
        try
        {
            if (await store.GetCreationBackoffAsync(cancellationToken).ConfigureAwait(false) is { } backoff && at < backoff.NextAttemptAt)
            {
                // Persisted, so a failing role or CORS rule costs one attempt per back-off step, not one per schedule tick.
                metrics.Emit(CreationBackoffMetric, 1, "Count", null, new Dictionary<string, string>
                {
                    ["Failures"] = backoff.Failures.ToString(CultureInfo.InvariantCulture),
                    ["NextAttemptAt"] = backoff.NextAttemptAt.ToString("O", CultureInfo.InvariantCulture),
                    ["Reason"] = backoff.Reason,
                });
                return await FinishAsync(at, now, jobs, before, cap, BatchDecisions.CreationBackoff, null, cancellationToken).ConfigureAwait(false);
            }

            foreach (var open in await store.ListBatchesAsync(BatchStatus.Claimed, cancellationToken).ConfigureAwait(false))
            {
                if (at - open.CreatedAt < options.Batching.ResumeAfter)
                {
                    continue;
                }

                var resumed = await ResumeAsync(open, at, cancellationToken).ConfigureAwait(false);
                if (resumed is not null)
                {
                    jobs.Add(resumed);
                }
            }

            decision = await MakeJobsAsync(jobs, flush, at, cap, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Transient (S3, SageMaker after retries, the store): the batch stays Claimed and the next run resumes it.
            decision = BatchDecisions.Deferred;
            error = $"{ex.GetType().Name}: {ex.Message}";
        }

        return await FinishAsync(at, now, jobs, before, cap, decision, error, cancellationToken).ConfigureAwait(false);
    }

    private async Task<BatchRunReport> FinishAsync(DateTimeOffset at, DateTimeOffset? now, List<PlannedJob> jobs, long before, int cap, string decision, string? error, CancellationToken cancellationToken)
    {
        var afterSummary = await store.GetPendingSummaryAsync(cancellationToken).ConfigureAwait(false);
        var after = afterSummary.Count;

        // An upload whose other half never arrives waits forever; say so on every run until someone looks.
        var stale = await store.ListHalfPairsAsync(at - options.Batching.HalfPairAlarmAfter, 1000, cancellationToken).ConfigureAwait(false);
        var staleImages = stale.Count(h => h.HasImage);
        var staleSidecars = stale.Count - staleImages;
        foreach (var (reason, count) in new[] { (IngestReasons.ImageWithoutSidecar, staleImages), (IngestReasons.SidecarWithoutImage, staleSidecars) })
        {
            metrics.Emit(LabelingMetricNames.StaleHalfPairs, count, "Count", new Dictionary<string, string> { ["Reason"] = reason },
                count == 0 ? null : new Dictionary<string, string> { ["Oldest"] = stale.Where(h => h.HasImage == (reason == IngestReasons.ImageWithoutSidecar)).Select(h => h.ImageKey).First() });
        }

        metrics.Emit(LabelingMetricNames.BatchRuns, 1, "Count", new Dictionary<string, string> { ["Decision"] = decision },
            error is null ? null : new Dictionary<string, string> { ["Error"] = error });
        metrics.Emit(LabelingMetricNames.PendingItems, after, "Count");
        // Measured when the run ends (the backlog it leaves behind), on the planner's clock or the replay override.
        var oldestAge = OldestPendingAge(afterSummary.OldestPendingSince, now ?? _time.GetUtcNow());
        metrics.Emit(OldestPendingAgeMetric, Math.Round(oldestAge.TotalMinutes, 1), "None");
        metrics.Emit(LabelingMetricNames.JobsCreated, jobs.Count(j => !j.Resumed), "Count");
        return new BatchRunReport
        {
            Now = at,
            Decision = decision,
            Jobs = jobs,
            PendingBefore = before,
            PendingAfter = after,
            JobSizeCap = cap,
            StaleImagesWithoutSidecar = staleImages,
            StaleSidecarsWithoutImage = staleSidecars,
            OldestPendingAge = oldestAge,
            Error = error,
        };
    }

    /// <summary>
    /// EMF metric (no dimensions, unit None) emitted on every run next to <c>PendingItems</c>: minutes
    /// the longest-waiting pending item has waited (0 when nothing is pending). It is what the
    /// "items waiting too long" alarm watches: unlike the pending count it grows only while one item
    /// really waits, whatever the trickle of new ones.
    /// </summary>
    public const string OldestPendingAgeMetric = LabelingMetricNames.OldestPendingAgeMinutes;

    /// <summary>
    /// EMF metric (no dimensions): 1 per job creation that failed for good — CreateLabelingJob refused the
    /// request, or the job failed before anyone labeled anything (the merge emits it then). The stack's
    /// job-creation alarm watches it; each failure also extends the persisted back-off.
    /// </summary>
    public const string JobCreationFailuresMetric = LabelingMetricNames.JobCreationFailures;

    /// <summary>EMF metric (no dimensions): 1 per batcher run skipped because the job-creation back-off is running.</summary>
    public const string CreationBackoffMetric = LabelingMetricNames.JobCreationBackoffRuns;

    /// <summary>
    /// How long the item pending since <paramref name="oldestPendingSince"/> has waited at <paramref name="now"/>;
    /// zero when nothing is pending or the pending time lies ahead of this clock (skew between writers).
    /// </summary>
    public static TimeSpan OldestPendingAge(DateTimeOffset? oldestPendingSince, DateTimeOffset now) =>
        oldestPendingSince is { } since && since < now ? now - since : TimeSpan.Zero;

    private async Task<string> MakeJobsAsync(List<PlannedJob> jobs, bool flush, DateTimeOffset now, int cap, CancellationToken ct)
    {
        while (true)
        {
            if (jobs.Count >= options.Batching.MaxJobsPerRun)
            {
                return BatchDecisions.MaxJobsPerRun;
            }

            var summary = await store.GetPendingSummaryAsync(ct).ConfigureAwait(false);
            if (summary.Count == 0)
            {
                return BatchDecisions.NoPending;
            }

            var age = summary.OldestPendingSince is { } oldest ? now - oldest : TimeSpan.Zero;
            if (!flush && summary.Count < options.Batching.MinItems && age < options.Batching.MaxAge)
            {
                return BatchDecisions.BelowThreshold;
            }

            var month = MonthOf(now);
            var budget = await store.GetBudgetAsync(month, ct).ConfigureAwait(false);
            var limit = options.Budget.MonthlyBudgetUsd;
            var want = (int)Math.Min(summary.Count, cap);
            var affordable = (int)forecaster.Affordable(budget.Objects, limit - budget.SpentUsd, want);
            if (affordable == 0)
            {
                EmitBudgetExhausted(summary.Count, budget, want);
                return BatchDecisions.BudgetExhausted;
            }

            if (affordable < want)
            {
                metrics.Emit(LabelingMetricNames.BudgetShrunkJobs, 1, "Count", null, new Dictionary<string, string>
                {
                    ["Wanted"] = want.ToString(CultureInfo.InvariantCulture),
                    ["Affordable"] = affordable.ToString(CultureInfo.InvariantCulture),
                });
            }

            var batchId = JobNames.NewBatchId(now);
            var jobName = JobNames.ForBatch(options.Batching.JobNamePrefix, batchId);
            if (!await store.TryCreateBatchAsync(new BatchRecord(batchId, jobName, BatchStatus.Claimed, now, 0, month, 0m), ct).ConfigureAwait(false))
            {
                throw new InvalidOperationException($"batch {jobName} already exists; batch ids must be unique");
            }

            var claimed = await store.ClaimAsync(batchId, affordable, ct).ConfigureAwait(false);
            if (claimed.Count == 0)
            {
                // Another batcher took them between the count and the claim.
                await store.TryUpdateBatchStatusAsync(jobName, BatchStatus.Claimed, BatchStatus.Abandoned, cancellationToken: ct).ConfigureAwait(false);
                return BatchDecisions.NoPending;
            }

            var (items, forecast, outcome) = await ReserveAsync(jobName, batchId, month, claimed, ct).ConfigureAwait(false);
            if (outcome is not null)
            {
                await store.TryUpdateBatchStatusAsync(jobName, BatchStatus.Claimed, BatchStatus.Abandoned, cancellationToken: ct).ConfigureAwait(false);
                return outcome;
            }

            await store.SetBatchTotalsAsync(jobName, items.Count, forecast, ct).ConfigureAwait(false);
            var batch = new BatchRecord(batchId, jobName, BatchStatus.Claimed, now, items.Count, month, forecast);
            var job = await PublishAsync(batch, items, resumed: false, ct).ConfigureAwait(false);
            if (job is null)
            {
                return BatchDecisions.JobRejected;
            }

            jobs.Add(job);
        }
    }

    /// <summary>
    /// Reserves the forecast for the claimed items. The reservation is conditional on the month's
    /// object count the forecast was made for, so two batchers cannot both spend the same remainder;
    /// on a lost race the forecast is redone and, if needed, the newest claimed items are released.
    /// </summary>
    private async Task<(IReadOnlyList<Pending.PendingItem> Items, decimal Forecast, string? Stop)> ReserveAsync(
        string jobName, string batchId, string month, IReadOnlyList<Pending.PendingItem> claimed, CancellationToken ct)
    {
        var items = claimed;
        var limit = options.Budget.MonthlyBudgetUsd;
        for (var attempt = 0; attempt < 8; attempt++)
        {
            var budget = await store.GetBudgetAsync(month, ct).ConfigureAwait(false);
            var fits = (int)forecaster.Affordable(budget.Objects, limit - budget.SpentUsd, items.Count);
            if (fits < items.Count)
            {
                await store.ReleaseAsync(batchId, items.Skip(fits).Select(i => i.ImageKey), ct).ConfigureAwait(false);
                items = items.Take(fits).ToList();
            }

            if (items.Count == 0)
            {
                EmitBudgetExhausted(claimed.Count, budget, claimed.Count);
                return (items, 0m, BatchDecisions.BudgetExhausted);
            }

            var cost = forecaster.Forecast(budget.Objects, items.Count);
            if (await store.TryReserveBudgetAsync(month, budget.Objects, items.Count, cost, limit, ct).ConfigureAwait(false))
            {
                return (items, cost, null);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 50)), ct).ConfigureAwait(false);
        }

        await store.ReleaseAsync(batchId, items.Select(i => i.ImageKey), ct).ConfigureAwait(false);
        return (items, 0m, BatchDecisions.BudgetContention);
    }

    private async Task<PlannedJob?> ResumeAsync(BatchRecord batch, DateTimeOffset now, CancellationToken ct)
    {
        var items = (await store.GetBatchItemsAsync(batch.BatchId, ct).ConfigureAwait(false)).Where(i => i.Status == PendingStatus.Claimed).ToList();
        if (items.Count == 0)
        {
            await store.TryUpdateBatchStatusAsync(batch.JobName, BatchStatus.Claimed, BatchStatus.Abandoned, cancellationToken: ct).ConfigureAwait(false);
            if (batch.ForecastUsd > 0)
            {
                await store.RefundBudgetAsync(batch.Month, batch.ItemCount, batch.ForecastUsd, ct).ConfigureAwait(false);
            }

            return null;
        }

        if (batch.ItemCount != items.Count || batch.ForecastUsd == 0)
        {
            // The run died between claim and recording its reservation: reserve again. This (and two runs
            // resuming the same stale batch at once) can only over-count the month's spend, never
            // under-count it, which errs on the side of the budget.
            var (kept, forecast, stop) = await ReserveAsync(batch.JobName, batch.BatchId, batch.Month, items, ct).ConfigureAwait(false);
            if (stop is not null)
            {
                await store.TryUpdateBatchStatusAsync(batch.JobName, BatchStatus.Claimed, BatchStatus.Abandoned, cancellationToken: ct).ConfigureAwait(false);
                return null;
            }

            items = kept.ToList();
            await store.SetBatchTotalsAsync(batch.JobName, items.Count, forecast, ct).ConfigureAwait(false);
            batch = batch with { ItemCount = items.Count, ForecastUsd = forecast };
        }

        return await PublishAsync(batch, items, resumed: true, ct).ConfigureAwait(false);
    }

    /// <summary>Writes the job inputs and creates the job; null when SageMaker refused it for good (items go back to pending).</summary>
    private async Task<PlannedJob?> PublishAsync(BatchRecord batch, IReadOnlyList<Pending.PendingItem> items, bool resumed, CancellationToken ct)
    {
        LabelingJobDraft draft;
        try
        {
            draft = factory.Build(batch, items);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            await AbandonAsync(batch, items, "build-failed", ex.Message, ct).ConfigureAwait(false);
            return null;
        }

        var bucket = options.DataBucket;
        await objects.PutBytesAsync(bucket, draft.ManifestKey, draft.Manifest, "application/jsonlines", cancellationToken: ct).ConfigureAwait(false);
        await objects.PutBytesAsync(bucket, draft.LabelCategoriesKey, draft.LabelCategories, "application/json", cancellationToken: ct).ConfigureAwait(false);
        await objects.PutBytesAsync(bucket, draft.TemplateKey, draft.Template, "text/html", cancellationToken: ct).ConfigureAwait(false);

        string? arn;
        try
        {
            arn = (await sageMaker.CreateLabelingJobAsync(draft.Request, ct).ConfigureAwait(false)).LabelingJobArn;
        }
        catch (SageMakerResourceInUseException)
        {
            // A previous attempt (timed out, or a run that died) may have created it: adopt it if it is ours.
            var existing = await sageMaker.DescribeLabelingJobAsync(draft.JobName, ct).ConfigureAwait(false);
            if (!IsOurs(existing, draft))
            {
                await AbandonAsync(batch, items, "name-taken", $"job name {draft.JobName} belongs to another job", ct).ConfigureAwait(false);
                return null;
            }

            arn = existing.LabelingJobArn;
        }
        catch (SageMakerException ex) when (IsRefusal(ex))
        {
            // Refused for good (validation, quota, access to the role or bucket): the same job would be refused
            // again on the next run, so creations back off and the alarm tells a person.
            await AbandonAsync(batch, items, ex.ErrorCode, ex.Message, ct).ConfigureAwait(false);
            var backoff = await store.RecordCreationFailureAsync($"{draft.JobName}: {ex.ErrorCode}: {ex.Message}", _time.GetUtcNow(),
                options.Batching.CreationBackoffInitial, options.Batching.CreationBackoffMax, ct).ConfigureAwait(false);
            metrics.Emit(JobCreationFailuresMetric, 1, "Count", null, new Dictionary<string, string>
            {
                ["JobName"] = draft.JobName,
                ["ErrorCode"] = ex.ErrorCode,
                ["NextAttemptAt"] = backoff.NextAttemptAt.ToString("O", CultureInfo.InvariantCulture),
            });
            return null;
        }

        await store.TryUpdateBatchStatusAsync(batch.JobName, BatchStatus.Claimed, BatchStatus.Created, arn, ct).ConfigureAwait(false);
        if (draft.DroppedPriorBoxes.Count > 0)
        {
            // Counted, not hidden: these pre-labels were left out to keep the lines within Ground Truth's limits.
            metrics.Emit(LabelingMetricNames.PriorBoxesDropped, draft.DroppedPriorBoxes.Values.Sum(), "Count", null, new Dictionary<string, string>
            {
                ["JobName"] = draft.JobName,
                ["Images"] = draft.DroppedPriorBoxes.Count.ToString(CultureInfo.InvariantCulture),
            });
        }

        // A created job ends the back-off; one that then fails at its start (seen by the merge) starts it again.
        await store.ClearCreationBackoffAsync(ct).ConfigureAwait(false);
        metrics.Emit(LabelingMetricNames.JobItems, items.Count, "Count", null, new Dictionary<string, string>
        {
            ["JobName"] = draft.JobName,
            ["ForecastUsd"] = batch.ForecastUsd.ToString(CultureInfo.InvariantCulture),
            ["TaskType"] = draft.Adjustment ? BuiltInLambdas.AdjustmentBoundingBox : BuiltInLambdas.BoundingBox,
        });
        return new PlannedJob(draft.JobName, batch.BatchId, items.Count, batch.ForecastUsd, draft.Adjustment, resumed, arn)
        {
            PriorBoxesDropped = draft.DroppedPriorBoxes.Values.Sum(),
        };
    }

    /// <summary>A 4xx answer other than throttling and name conflicts: the request itself cannot succeed as it is.</summary>
    private static bool IsRefusal(SageMakerException ex) =>
        ex is not (SageMakerThrottlingException or SageMakerResourceInUseException) && (int)ex.StatusCode is >= 400 and < 500;

    private static bool IsOurs(DescribeLabelingJobResponse existing, LabelingJobDraft draft) =>
        existing.InputConfig?.DataSource?.S3DataSource?.ManifestS3Uri == draft.Request.InputConfig?.DataSource?.S3DataSource?.ManifestS3Uri
        || (existing.Tags?.Any(t => t.Key == LabelingJobFactory.BatchIdTag && t.Value == draft.BatchId) ?? false);

    private async Task AbandonAsync(BatchRecord batch, IReadOnlyList<Pending.PendingItem> items, string reason, string detail, CancellationToken ct)
    {
        await store.ReleaseAsync(batch.BatchId, items.Select(i => i.ImageKey), ct).ConfigureAwait(false);
        if (batch.ForecastUsd > 0)
        {
            await store.RefundBudgetAsync(batch.Month, batch.ItemCount, batch.ForecastUsd, ct).ConfigureAwait(false);
        }

        await store.TryUpdateBatchStatusAsync(batch.JobName, BatchStatus.Claimed, BatchStatus.Abandoned, cancellationToken: ct).ConfigureAwait(false);
        metrics.Emit(LabelingMetricNames.JobsRejected, 1, "Count", new Dictionary<string, string> { ["Reason"] = reason },
            new Dictionary<string, string> { ["JobName"] = batch.JobName, ["Detail"] = detail });
    }

    private void EmitBudgetExhausted(long pending, BudgetState budget, int wanted) =>
        metrics.Emit(LabelingMetricNames.BudgetBlockedItems, pending, "Count", new Dictionary<string, string> { ["Reason"] = BatchDecisions.BudgetExhausted },
            new Dictionary<string, string>
            {
                ["Month"] = budget.Month,
                ["SpentUsd"] = budget.SpentUsd.ToString(CultureInfo.InvariantCulture),
                ["BudgetUsd"] = options.Budget.MonthlyBudgetUsd.ToString(CultureInfo.InvariantCulture),
                ["Wanted"] = wanted.ToString(CultureInfo.InvariantCulture),
            });
}
