namespace EdgeLabeling.Review.BuiltIn;

/// <summary>
/// Delivers a job's state-change event — the same EventBridge JSON Ground Truth's jobs produce
/// (<see cref="EdgeLabeling.Labeling.Merge.JobStateChangeEvent"/>) — to whatever runs the merge.
/// </summary>
public interface IJobStateChangePublisher
{
    Task PublishAsync(string eventJson, CancellationToken cancellationToken = default);
}

/// <summary>Hands events to a callback (the CLI's merge loop, tests).</summary>
public sealed class CallbackJobStateChangePublisher(Func<string, CancellationToken, Task> callback) : IJobStateChangePublisher
{
    public Task PublishAsync(string eventJson, CancellationToken cancellationToken = default) => callback(eventJson, cancellationToken);
}
