namespace EdgeLabeling.Labeling.Pending;

/// <summary>
/// The batches: one record per labeling job the batcher makes (keyed by its deterministic job name), its
/// status and totals, and the back-off after failed job creations. Status moves are conditional on the
/// expected status, so two batchers (or a duplicate completion event) cannot both move one batch.
/// </summary>
public interface IBatchStore
{
    /// <summary>Creates a batch record; false when one with this job name already exists.</summary>
    Task<bool> TryCreateBatchAsync(BatchRecord batch, CancellationToken cancellationToken = default);

    /// <summary>Reads a batch by its (deterministic) job name.</summary>
    Task<BatchRecord?> GetBatchAsync(string jobName, CancellationToken cancellationToken = default);

    /// <summary>Moves a batch from <paramref name="expected"/> to <paramref name="next"/>; false when it was not in <paramref name="expected"/>.</summary>
    Task<bool> TryUpdateBatchStatusAsync(string jobName, BatchStatus expected, BatchStatus next, string? jobArn = null, CancellationToken cancellationToken = default);

    /// <summary>Records how many items a batch holds and what was reserved from the budget for them.</summary>
    Task SetBatchTotalsAsync(string jobName, int itemCount, decimal forecastUsd, CancellationToken cancellationToken = default);

    /// <summary>Batches whose job is not created yet (a batcher died or timed out between claim and create).</summary>
    Task<IReadOnlyList<BatchRecord>> ListBatchesAsync(BatchStatus status, CancellationToken cancellationToken = default);

    /// <summary>The job-creation back-off, or null when the last creation succeeded (or none failed).</summary>
    Task<CreationBackoff?> GetCreationBackoffAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Records one more failed job creation: the failure count grows by one and the next attempt waits
    /// <paramref name="initial"/> doubled per earlier consecutive failure, at most <paramref name="max"/>.
    /// </summary>
    Task<CreationBackoff> RecordCreationFailureAsync(string reason, DateTimeOffset now, TimeSpan initial, TimeSpan max, CancellationToken cancellationToken = default);

    /// <summary>Ends the back-off (a job was created).</summary>
    Task ClearCreationBackoffAsync(CancellationToken cancellationToken = default);
}

public enum BatchStatus
{
    /// <summary>Items claimed; the job may or may not exist yet (resume by describing it).</summary>
    Claimed,
    Created,
    Completed,
    Failed,

    /// <summary>CreateLabelingJob refused the request for good; items went back to pending.</summary>
    Abandoned,
}

/// <summary>One batch of items and the labeling job made from it.</summary>
public sealed record BatchRecord(
    string BatchId,
    string JobName,
    BatchStatus Status,
    DateTimeOffset CreatedAt,
    int ItemCount,
    string Month,
    decimal ForecastUsd,
    string? JobArn = null);

/// <summary>Consecutive failed job creations and when the batcher may try again.</summary>
public sealed record CreationBackoff(int Failures, DateTimeOffset LastFailureAt, DateTimeOffset NextAttemptAt, string Reason)
{
    /// <summary>The wait after the <paramref name="failures"/>-th consecutive failure: initial × 2^(failures−1), at most max.</summary>
    public static TimeSpan Delay(int failures, TimeSpan initial, TimeSpan max)
    {
        var factor = Math.Pow(2, Math.Clamp(failures - 1, 0, 30));
        return TimeSpan.FromTicks((long)Math.Min(max.Ticks, initial.Ticks * factor));
    }
}
