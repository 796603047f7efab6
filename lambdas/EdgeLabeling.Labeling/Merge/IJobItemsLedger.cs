using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>
/// What the merge needs from the pending-item store: which images went into a job, and a way to settle
/// them (labeled, or back to pending for the next job). Items are identified by their source-ref
/// (<c>s3://bucket/key</c>) exactly as written into the job's input manifest.
/// Implementations must make both settle calls idempotent: a repeated merge re-sends the same batches.
/// </summary>
public interface IJobItemsLedger
{
    /// <summary>Source-refs of every image that was put into the job (empty when the job is unknown).</summary>
    IAsyncEnumerable<string> ListJobItemsAsync(string jobName, CancellationToken cancellationToken = default);

    /// <summary>Marks images as labeled by the job: they never go to people again.</summary>
    Task MarkLabeledAsync(string jobName, IReadOnlyCollection<string> sourceRefs, CancellationToken cancellationToken = default);

    /// <summary>Puts images that came back without a label back into the pending pool.</summary>
    Task ReturnToPendingAsync(string jobName, IReadOnlyCollection<string> sourceRefs, string reason, CancellationToken cancellationToken = default);

    /// <summary>Records the job's final state ("Completed", "Failed" or "Stopped") after its items are settled.</summary>
    Task CloseJobAsync(string jobName, string status, CancellationToken cancellationToken = default);
}

/// <summary>
/// A ledger held in memory: for the local <c>edgelabel merge</c> run, the simulator demo and tests.
/// Thread-safe; settling an item twice leaves it in the same state.
/// </summary>
public sealed class InMemoryJobItemsLedger : IJobItemsLedger
{
    private readonly ConcurrentDictionary<string, List<string>> _jobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ItemState> _items = new(StringComparer.Ordinal);

    /// <summary>Where an item stands in this ledger.</summary>
    public enum ItemState
    {
        InJob,
        Labeled,
        Pending,
    }

    /// <summary>Records that the given images were claimed into a job.</summary>
    public void AddJob(string jobName, IEnumerable<string> sourceRefs)
    {
        var list = _jobs.GetOrAdd(jobName, _ => []);
        lock (list)
        {
            foreach (var s in sourceRefs)
            {
                list.Add(s);
                _items[s] = ItemState.InJob;
            }
        }
    }

    /// <summary>The item's state, or null when no job ever had it.</summary>
    public ItemState? StateOf(string sourceRef) => _items.TryGetValue(sourceRef, out var s) ? s : null;

    /// <summary>Reason given for the latest return to pending, per item.</summary>
    public ConcurrentDictionary<string, string> PendingReasons { get; } = new(StringComparer.Ordinal);

    public async IAsyncEnumerable<string> ListJobItemsAsync(string jobName, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!_jobs.TryGetValue(jobName, out var list))
        {
            yield break;
        }

        string[] snapshot;
        lock (list)
        {
            snapshot = [.. list];
        }

        foreach (var s in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return s;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task MarkLabeledAsync(string jobName, IReadOnlyCollection<string> sourceRefs, CancellationToken cancellationToken = default)
    {
        foreach (var s in sourceRefs)
        {
            _items[s] = ItemState.Labeled;
        }

        return Task.CompletedTask;
    }

    /// <summary>Final state per job as recorded by <see cref="CloseJobAsync"/>.</summary>
    public ConcurrentDictionary<string, string> ClosedJobs { get; } = new(StringComparer.Ordinal);

    public Task CloseJobAsync(string jobName, string status, CancellationToken cancellationToken = default)
    {
        ClosedJobs[jobName] = status;
        return Task.CompletedTask;
    }

    public Task ReturnToPendingAsync(string jobName, IReadOnlyCollection<string> sourceRefs, string reason, CancellationToken cancellationToken = default)
    {
        foreach (var s in sourceRefs)
        {
            // A label that already arrived (say, from a later job) is never undone by a stale event.
            if (!_items.TryGetValue(s, out var state) || state != ItemState.Labeled)
            {
                _items[s] = ItemState.Pending;
                PendingReasons[s] = reason;
            }
        }

        return Task.CompletedTask;
    }
}
