using System.Runtime.CompilerServices;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Pending;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>
/// The merge's view of the batcher's records, through its <see cref="JobLedger"/>: a job's items are its
/// batch's items still claimed by it, labeled ones are marked done, the rest go back to pending (with
/// their share of the reserved budget refunded). Every move is conditional on the item still belonging
/// to the job, so settling twice moves nothing twice. Jobs this pipeline did not create have no items.
/// </summary>
public sealed class PendingStoreJobItemsLedger(JobLedger jobs) : IJobItemsLedger
{
    public async Task<bool> IsKnownJobAsync(string jobName, CancellationToken cancellationToken = default) =>
        await jobs.GetJobAsync(jobName, cancellationToken).ConfigureAwait(false) is not null;

    public Task RecordJobFailedAtStartAsync(string jobName, string reason, CancellationToken cancellationToken = default) =>
        jobs.RecordFailedAtStartAsync(jobName, reason, cancellationToken);

    public async IAsyncEnumerable<string> ListJobItemsAsync(string jobName, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (await jobs.GetJobAsync(jobName, cancellationToken).ConfigureAwait(false) is null)
        {
            yield break;
        }

        foreach (var item in await jobs.GetOpenItemsAsync(jobName, cancellationToken).ConfigureAwait(false))
        {
            yield return item.SourceRef;
        }
    }

    public Task MarkLabeledAsync(string jobName, IReadOnlyCollection<string> sourceRefs, CancellationToken cancellationToken = default) =>
        jobs.MarkLabeledAsync(jobName, sourceRefs.Select(KeyOf), cancellationToken);

    public Task<ReturnOutcome> ReturnToPendingAsync(string jobName, IReadOnlyCollection<string> sourceRefs, string reason, CancellationToken cancellationToken = default) =>
        jobs.ReturnUnlabeledAsync(jobName, sourceRefs.Select(KeyOf), reason, cancellationToken);

    public async Task CloseJobAsync(string jobName, string status, CancellationToken cancellationToken = default)
    {
        if (await jobs.GetJobAsync(jobName, cancellationToken).ConfigureAwait(false) is not null)
        {
            await jobs.CloseJobAsync(jobName, status == "Completed" ? BatchStatus.Completed : BatchStatus.Failed, cancellationToken).ConfigureAwait(false);
        }
    }

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
