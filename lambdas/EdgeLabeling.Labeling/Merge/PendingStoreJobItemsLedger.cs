using System.Runtime.CompilerServices;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Pending;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>
/// The job-items ledger over the batcher's records in the pending store: a job's items are its batch's
/// items still claimed by it, labeled ones are marked done, the rest go back to pending (with their share
/// of the reserved budget refunded). Every move is conditional on the item still belonging to the job, so
/// settling twice moves nothing twice. Jobs this pipeline did not create have no items.
/// </summary>
public sealed class PendingStoreJobItemsLedger(IPendingStore store, BatchingPolicy? policy = null, TimeProvider? time = null) : IJobItemsLedger
{
    private readonly BatchingPolicy _policy = policy ?? new BatchingPolicy();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<bool> IsKnownJobAsync(string jobName, CancellationToken cancellationToken = default) =>
        await store.GetBatchAsync(jobName, cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>A job that failed before anyone labeled anything: the batcher waits before it makes another.</summary>
    public Task RecordJobFailedAtStartAsync(string jobName, string reason, CancellationToken cancellationToken = default) =>
        store.RecordCreationFailureAsync($"{jobName}: {reason}", _time.GetUtcNow(), _policy.CreationBackoffInitial, _policy.CreationBackoffMax, cancellationToken);

    public async IAsyncEnumerable<string> ListJobItemsAsync(string jobName, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (await store.GetBatchAsync(jobName, cancellationToken).ConfigureAwait(false) is not { } batch)
        {
            yield break;
        }

        // Done items were settled by an earlier merge of this job; only the ones still waiting for its result are listed.
        foreach (var item in await store.GetBatchItemsAsync(batch.BatchId, cancellationToken).ConfigureAwait(false))
        {
            if (item.Status == PendingStatus.Claimed)
            {
                yield return item.SourceRef;
            }
        }
    }

    public async Task MarkLabeledAsync(string jobName, IReadOnlyCollection<string> sourceRefs, CancellationToken cancellationToken = default)
    {
        var batch = await RequireAsync(jobName, cancellationToken).ConfigureAwait(false);
        await store.MarkDoneAsync(batch.BatchId, sourceRefs.Select(KeyOf), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Returns images that came back without a label (expired, declined, failed; or the rest of a
    /// failed/stopped job) to pending for the next job, and gives back their share of the reserved
    /// budget, since Ground Truth bills labeled objects only. An image that came back unlabeled from
    /// <see cref="BatchingPolicy.SetAsideAfterReturns"/> completed jobs is set aside instead
    /// (<see cref="ReturnReasons.CountsAgainstItem"/>).
    /// </summary>
    public async Task<ReturnOutcome> ReturnToPendingAsync(string jobName, IReadOnlyCollection<string> sourceRefs, string reason, CancellationToken cancellationToken = default)
    {
        var batch = await RequireAsync(jobName, cancellationToken).ConfigureAwait(false);
        var outcome = await store.ReturnUnlabeledAsync(batch.BatchId, sourceRefs.Select(KeyOf), reason, ReturnReasons.CountsAgainstItem(reason),
            _policy.SetAsideAfterReturns, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        var moved = outcome.Returned;
        if (moved > 0 && batch.ItemCount > 0 && batch.ForecastUsd > 0)
        {
            var share = Math.Round(batch.ForecastUsd * moved / batch.ItemCount, 6);
            await store.RefundBudgetAsync(batch.Month, moved, share, cancellationToken).ConfigureAwait(false);
        }

        return outcome;
    }

    /// <summary>Moves the job's batch from Created to Completed ("Completed") or Failed (any other final state); a second close changes nothing.</summary>
    public async Task CloseJobAsync(string jobName, string status, CancellationToken cancellationToken = default)
    {
        if (await store.GetBatchAsync(jobName, cancellationToken).ConfigureAwait(false) is not null)
        {
            var final = status == "Completed" ? BatchStatus.Completed : BatchStatus.Failed;
            await store.TryUpdateBatchStatusAsync(jobName, BatchStatus.Created, final, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<BatchRecord> RequireAsync(string jobName, CancellationToken ct) =>
        await store.GetBatchAsync(jobName, ct).ConfigureAwait(false)
        ?? throw new KeyNotFoundException($"no batch record for labeling job '{jobName}'");

    /// <summary>s3://bucket/key → key, the pending store's item id.</summary>
    private static string KeyOf(string sourceRef)
    {
        var slash = sourceRef.StartsWith("s3://", StringComparison.Ordinal) ? sourceRef.IndexOf('/', 5) : -1;
        if (slash < 0)
        {
            throw new FormatException($"source-ref '{sourceRef}' is not s3://bucket/key");
        }

        return sourceRef[(slash + 1)..];
    }
}
