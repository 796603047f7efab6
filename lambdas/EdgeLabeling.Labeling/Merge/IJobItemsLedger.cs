using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using EdgeLabeling.Labeling.Pending;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>
/// What the merge needs from the pending-item store: which images went into a job, and a way to settle
/// them (labeled, or back to pending for the next job). Items are identified by their source-ref
/// (<c>s3://bucket/key</c>) exactly as written into the job's input manifest.
/// Implementations must make both settle calls idempotent: a repeated merge re-sends the same batches.
/// </summary>
public interface IJobItemsLedger
{
    /// <summary>
    /// Whether this pipeline made the job. Events of other jobs in the account are ignored. Ledgers that
    /// keep no job records (a local merge of files) know every job.
    /// </summary>
    Task<bool> IsKnownJobAsync(string jobName, CancellationToken cancellationToken = default) => Task.FromResult(true);

    /// <summary>Source-refs of every image that was put into the job (empty when the job is unknown).</summary>
    IAsyncEnumerable<string> ListJobItemsAsync(string jobName, CancellationToken cancellationToken = default);

    /// <summary>Marks images as labeled by the job: they never go to people again.</summary>
    Task MarkLabeledAsync(string jobName, IReadOnlyCollection<string> sourceRefs, CancellationToken cancellationToken = default);

    /// <summary>
    /// Puts images that came back without a label back into the pending pool. An image that came back
    /// unlabeled too often (<see cref="ReturnReasons.CountsAgainstItem"/>) is set aside instead.
    /// </summary>
    Task<ReturnOutcome> ReturnToPendingAsync(string jobName, IReadOnlyCollection<string> sourceRefs, string reason, CancellationToken cancellationToken = default);

    /// <summary>
    /// The job failed before anyone labeled anything (execution role, CORS, input): the job maker should
    /// back off before making another. Ledgers without a job maker ignore it.
    /// </summary>
    Task RecordJobFailedAtStartAsync(string jobName, string reason, CancellationToken cancellationToken = default) => Task.CompletedTask;

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
        SetAside,
    }

    /// <summary>Returns counted against an item (<see cref="ReturnReasons.CountsAgainstItem"/>) before it is set aside; 0 never sets aside.</summary>
    public int SetAsideAfterReturns { get; init; }

    private readonly ConcurrentDictionary<string, int> _returns = new(StringComparer.Ordinal);

    public Task<bool> IsKnownJobAsync(string jobName, CancellationToken cancellationToken = default) => Task.FromResult(_jobs.ContainsKey(jobName));

    /// <summary>Jobs reported as failed before anyone labeled anything.</summary>
    public ConcurrentDictionary<string, string> FailedAtStart { get; } = new(StringComparer.Ordinal);

    public Task RecordJobFailedAtStartAsync(string jobName, string reason, CancellationToken cancellationToken = default)
    {
        FailedAtStart[jobName] = reason;
        return Task.CompletedTask;
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

    public Task<ReturnOutcome> ReturnToPendingAsync(string jobName, IReadOnlyCollection<string> sourceRefs, string reason, CancellationToken cancellationToken = default)
    {
        int returned = 0, setAside = 0;
        foreach (var s in sourceRefs)
        {
            // A label that already arrived (say, from a later job) is never undone by a stale event.
            if (!_items.TryGetValue(s, out var state) || state != ItemState.Labeled)
            {
                var count = ReturnReasons.CountsAgainstItem(reason) ? _returns.AddOrUpdate(s, 1, (_, c) => c + 1) : _returns.GetOrAdd(s, 0);
                var aside = SetAsideAfterReturns > 0 && count >= SetAsideAfterReturns;
                _items[s] = aside ? ItemState.SetAside : ItemState.Pending;
                PendingReasons[s] = reason;
                returned++;
                setAside += aside ? 1 : 0;
            }
        }

        return Task.FromResult(new ReturnOutcome(returned, setAside));
    }
}
