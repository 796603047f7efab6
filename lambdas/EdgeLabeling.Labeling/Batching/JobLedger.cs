using EdgeLabeling.Labeling.Pending;

namespace EdgeLabeling.Labeling.Batching;

/// <summary>
/// What the merge needs from the batcher's records: which items went into which job, and the two
/// ways they leave it. All moves are conditional on the item still belonging to the job, so a
/// duplicate completion event changes nothing.
/// </summary>
public sealed class JobLedger(IPendingStore store, BatchingPolicy? policy = null, TimeProvider? time = null)
{
    private readonly BatchingPolicy _policy = policy ?? new BatchingPolicy();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The batch behind a job name (null for jobs this pipeline did not create).</summary>
    public Task<BatchRecord?> GetJobAsync(string jobName, CancellationToken cancellationToken = default) => store.GetBatchAsync(jobName, cancellationToken);

    /// <summary>Items of a job that are still waiting for its result.</summary>
    public async Task<IReadOnlyList<PendingItem>> GetOpenItemsAsync(string jobName, CancellationToken cancellationToken = default)
    {
        var batch = await RequireAsync(jobName, cancellationToken).ConfigureAwait(false);
        return (await store.GetBatchItemsAsync(batch.BatchId, cancellationToken).ConfigureAwait(false)).Where(i => i.Status == PendingStatus.Claimed).ToList();
    }

    /// <summary>Marks images that came back labeled as done. Returns how many changed.</summary>
    public async Task<int> MarkLabeledAsync(string jobName, IEnumerable<string> imageKeys, CancellationToken cancellationToken = default)
    {
        var batch = await RequireAsync(jobName, cancellationToken).ConfigureAwait(false);
        return await store.MarkDoneAsync(batch.BatchId, imageKeys, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Returns images that came back without a label (expired, declined, failed; or the rest of a
    /// failed/stopped job) to pending for the next job, and gives back their share of the reserved
    /// budget, since Ground Truth bills labeled objects only. An image that came back unlabeled from
    /// <see cref="BatchingPolicy.SetAsideAfterReturns"/> completed jobs is set aside instead
    /// (<see cref="Merge.ReturnReasons.CountsAgainstItem"/>).
    /// </summary>
    public async Task<ReturnOutcome> ReturnUnlabeledAsync(string jobName, IEnumerable<string> imageKeys, string reason, CancellationToken cancellationToken = default)
    {
        var batch = await RequireAsync(jobName, cancellationToken).ConfigureAwait(false);
        var outcome = await store.ReturnUnlabeledAsync(batch.BatchId, imageKeys, reason, Merge.ReturnReasons.CountsAgainstItem(reason),
            _policy.SetAsideAfterReturns, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        var moved = outcome.Returned;
        if (moved > 0 && batch.ItemCount > 0 && batch.ForecastUsd > 0)
        {
            var share = Math.Round(batch.ForecastUsd * moved / batch.ItemCount, 6);
            await store.RefundBudgetAsync(batch.Month, moved, share, cancellationToken).ConfigureAwait(false);
        }

        return outcome;
    }

    /// <summary>A job that failed before anyone labeled anything: the batcher waits before it makes another.</summary>
    public Task<CreationBackoff> RecordFailedAtStartAsync(string jobName, string reason, CancellationToken cancellationToken = default) =>
        store.RecordCreationFailureAsync($"{jobName}: {reason}", _time.GetUtcNow(), _policy.CreationBackoffInitial, _policy.CreationBackoffMax, cancellationToken);

    /// <summary>Records the job's final state (Completed or Failed); false when it was already recorded.</summary>
    public Task<bool> CloseJobAsync(string jobName, BatchStatus finalStatus, CancellationToken cancellationToken = default)
    {
        if (finalStatus is not (BatchStatus.Completed or BatchStatus.Failed))
        {
            throw new ArgumentException($"a job closes as Completed or Failed, not {finalStatus}", nameof(finalStatus));
        }

        return store.TryUpdateBatchStatusAsync(jobName, BatchStatus.Created, finalStatus, cancellationToken: cancellationToken);
    }

    private async Task<BatchRecord> RequireAsync(string jobName, CancellationToken ct) =>
        await store.GetBatchAsync(jobName, ct).ConfigureAwait(false)
        ?? throw new KeyNotFoundException($"no batch record for labeling job '{jobName}'");
}
