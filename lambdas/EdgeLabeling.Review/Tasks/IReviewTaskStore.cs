namespace EdgeLabeling.Review.Tasks;

/// <summary>What a lease-bound change (heartbeat, submit, release) did.</summary>
public enum TaskChange
{
    Ok,
    NotFound,

    /// <summary>Another labeler holds a live lease on the task.</summary>
    LeasedByAnother,

    /// <summary>The caller's lease ran out (the task went back to the pool, maybe to someone else).</summary>
    LeaseExpired,

    /// <summary>The task was submitted already (by the caller or, after their lease ended, by someone else).</summary>
    AlreadySubmitted,

    /// <summary>The job's availability ended or it was stopped: the task can no longer be answered.</summary>
    TaskExpired,
}

/// <summary>The outcome of a lease-bound change and the task as it is afterwards (null when not found).</summary>
public sealed record TaskChangeResult(TaskChange Outcome, ReviewTask? Task);

/// <summary>
/// The built-in backend's state: jobs and their tasks. Every change is one conditional write (DynamoDB)
/// or one <c>BEGIN IMMEDIATE</c> transaction (SQLite), so two labelers can never both lease or both
/// submit one task, and a submit after the lease ended is refused.
/// </summary>
public interface IReviewTaskStore
{
    /// <summary>Creates the job and its tasks; false when a job of that name (ignoring case) exists.</summary>
    Task<bool> TryCreateJobAsync(ReviewJob job, IReadOnlyList<ReviewTask> tasks, CancellationToken cancellationToken = default);

    Task<ReviewJob?> GetJobAsync(string jobName, CancellationToken cancellationToken = default);

    /// <summary>Every job, oldest first.</summary>
    Task<IReadOnlyList<ReviewJob>> ListJobsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves the job from <paramref name="expectedStatus"/> to <paramref name="updated"/>'s status (with its
    /// other fields); false when the job is no longer in <paramref name="expectedStatus"/>.
    /// </summary>
    Task<bool> TryUpdateJobAsync(ReviewJob updated, string expectedStatus, CancellationToken cancellationToken = default);

    /// <summary>
    /// Leases an open task (pending, or leased with the lease run out) to <paramref name="workerId"/> until
    /// <paramref name="leaseUntil"/>; null when none is open. A worker who already holds a live lease on a task
    /// of the job gets that task back instead of a second one.
    /// </summary>
    Task<ReviewTask?> LeaseNextAsync(string jobName, string workerId, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken = default);

    /// <summary>Extends a live lease the caller holds.</summary>
    Task<TaskChangeResult> HeartbeatAsync(string jobName, int index, string workerId, string leaseId, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken = default);

    /// <summary>Stores the answer when the caller's lease is still live; the task is final afterwards.</summary>
    Task<TaskChangeResult> SubmitAsync(string jobName, int index, string workerId, string leaseId, DateTimeOffset now, string answerJson, CancellationToken cancellationToken = default);

    /// <summary>Gives the task back to the pool before the lease ends.</summary>
    Task<TaskChangeResult> ReleaseAsync(string jobName, int index, string workerId, string leaseId, DateTimeOffset now, CancellationToken cancellationToken = default);

    Task<ReviewTask?> GetTaskAsync(string jobName, int index, CancellationToken cancellationToken = default);

    /// <summary>The job's tasks in index (input manifest) order.</summary>
    IAsyncEnumerable<ReviewTask> ListTasksAsync(string jobName, CancellationToken cancellationToken = default);

    Task<ReviewJobProgress> GetProgressAsync(string jobName, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>True while any task of the job is pending or leased (cheap: one index read).</summary>
    Task<bool> HasOpenTasksAsync(string jobName, CancellationToken cancellationToken = default);

    /// <summary>Marks every task not yet submitted as expired (availability over, or the job stopped); returns how many.</summary>
    Task<int> ExpireOpenTasksAsync(string jobName, CancellationToken cancellationToken = default);
}
