using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Storage;
using Microsoft.Extensions.Logging;

namespace EdgeLabeling.Simulation;

/// <summary>
/// The simulated account's labeling jobs: their state and its transitions (Initializing → InProgress →
/// Completed, Stopping → Stopped, Failed), the work that ends a job (the <see cref="SimulatedWorkforce"/>
/// writing Ground Truth's output layout, held back when <see cref="GroundTruthSimulatorOptions.HoldOutputUntilReleased"/>),
/// and the state-change event each end emits. Job names are unique ignoring case, as in SageMaker.
/// </summary>
internal sealed class SimulatedJobRegistry(GroundTruthSimulatorOptions options, SimulatedWorkforce workforce, TimeProvider time, ILogger logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, SimulatedJob> _jobs = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentBag<Task> _background = [];
    private readonly ConcurrentDictionary<string, (S3Location Location, byte[] Bytes)> _held = new(StringComparer.OrdinalIgnoreCase);
    private readonly CancellationTokenSource _stopping = new();
    private long _sequence;

    /// <summary>Every job, in no particular order.</summary>
    public ICollection<SimulatedJob> Jobs => _jobs.Values;

    /// <summary>
    /// Adds a job for an already validated CreateLabelingJob request; ResourceInUse when the name is taken.
    /// With <see cref="GroundTruthSimulatorOptions.AutoCompleteAfter"/> the job then runs to completion on its own.
    /// </summary>
    public SimulatedJob Create(string name, JsonObject request)
    {
        var now = time.GetUtcNow();
        var job = new SimulatedJob(name, LabelingJobArn.Format(options.Region, options.AccountId, name), request, now, Interlocked.Increment(ref _sequence));
        if (!_jobs.TryAdd(name, job))
        {
            var existing = _jobs[name];
            throw new SageMakerApiException(400, "ResourceInUse", $"Labeling job '{name}' conflicts with existing job '{existing.Name}' (names are unique per account and Region, ignoring case).");
        }

        logger.LogInformation("Created simulated labeling job {Job}", name);
        if (options.AutoCompleteAfter is { } after)
        {
            Track(Task.Run(async () =>
            {
                await Task.Delay(after / 2, time, _stopping.Token).ConfigureAwait(false);
                TryMove(job, SimulatedJobStatus.Initializing, SimulatedJobStatus.InProgress);
                await Task.Delay(after / 2, time, _stopping.Token).ConfigureAwait(false);
                await CompleteJobAsync(name, _stopping.Token).ConfigureAwait(false);
            }));
        }

        return job;
    }

    /// <summary>The job of that name (ignoring case); ResourceNotFound when there is none.</summary>
    public SimulatedJob Find(string name) =>
        _jobs.TryGetValue(name, out var job) ? job : throw new SageMakerApiException(400, "ResourceNotFound", $"Labeling job '{name}' does not exist.");

    /// <summary>The current status of a job, or null when there is none.</summary>
    public SimulatedJobStatus? StatusOf(string jobName) => _jobs.TryGetValue(jobName, out var j) ? j.Status : null;

    /// <summary>
    /// Moves a running job to Stopping; it is Stopped after <see cref="GroundTruthSimulatorOptions.StopDelay"/>.
    /// Stopping a job that is stopping or stopped already changes nothing; a finished job cannot be stopped.
    /// </summary>
    public void Stop(string jobName)
    {
        var job = Find(jobName);
        lock (job)
        {
            if (job.Status is SimulatedJobStatus.Stopping or SimulatedJobStatus.Stopped)
            {
                return;
            }

            if (job.Status is not (SimulatedJobStatus.Initializing or SimulatedJobStatus.InProgress))
            {
                throw new SageMakerApiException(400, "ValidationException", $"Labeling job '{job.Name}' is {job.Status} and cannot be stopped.");
            }

            job.Move(SimulatedJobStatus.Stopping, time.GetUtcNow());
        }

        Track(Task.Run(async () =>
        {
            await Task.Delay(options.StopDelay, time, _stopping.Token).ConfigureAwait(false);
            await FinishEarlyAsync(job, SimulatedJobStatus.Stopping, SimulatedJobStatus.Stopped, null, _stopping.Token).ConfigureAwait(false);
        }));
    }

    /// <inheritdoc cref="GroundTruthSimulator.CompleteJobAsync"/>
    public async Task<SimulatedJobStatus> CompleteJobAsync(string jobName, CancellationToken cancellationToken = default)
    {
        var job = Find(jobName);
        LabelingJobSpec spec;
        lock (job)
        {
            if (job.Status is not (SimulatedJobStatus.Initializing or SimulatedJobStatus.InProgress) || job.Running)
            {
                return job.Status;
            }

            job.Running = true;
            if (job.Status == SimulatedJobStatus.Initializing)
            {
                job.Move(SimulatedJobStatus.InProgress, time.GetUtcNow());
            }

            spec = job.ToSpec(options.Region);
        }

        try
        {
            var result = await workforce.LabelAsync(spec, options.WorkDirectory, cancellationToken).ConfigureAwait(false);
            await HoldIfAskedAsync(job.Name, result.OutputManifest, cancellationToken).ConfigureAwait(false);
            lock (job)
            {
                job.Labeled = result.Labeled;
                job.Failed = result.Expired;
                job.OutputDatasetS3Uri = result.OutputManifest.ToString();
                job.Move(SimulatedJobStatus.Completed, time.GetUtcNow());
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or JsonException or IOException or ArgumentException)
        {
            lock (job)
            {
                job.FailureReason = ex.Message.Length > 1024 ? ex.Message[..1024] : ex.Message;
                job.Move(SimulatedJobStatus.Failed, time.GetUtcNow());
            }

            logger.LogWarning(ex, "Simulated job {Job} failed", job.Name);
        }

        await EmitAsync(job, cancellationToken).ConfigureAwait(false);
        return job.Status;
    }

    /// <inheritdoc cref="GroundTruthSimulator.FailJobAsync"/>
    public async Task FailJobAsync(string jobName, string reason, CancellationToken cancellationToken = default)
    {
        var job = Find(jobName);
        SimulatedJobStatus from;
        lock (job)
        {
            if (job.Status is not (SimulatedJobStatus.Initializing or SimulatedJobStatus.InProgress) || job.Running)
            {
                throw new InvalidOperationException($"job {jobName} is {job.Status}; only running jobs can fail");
            }

            from = job.Status;
        }

        await FinishEarlyAsync(job, from, SimulatedJobStatus.Failed, reason, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc cref="GroundTruthSimulator.SetAnswered"/>
    public void SetAnswered(string jobName, long objects)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(objects);
        var job = Find(jobName);
        lock (job)
        {
            if (job.Status is not (SimulatedJobStatus.Initializing or SimulatedJobStatus.InProgress))
            {
                throw new InvalidOperationException($"job {jobName} is {job.Status}; answers only arrive while it runs");
            }

            job.Answered = objects;
            if (job.Status == SimulatedJobStatus.Initializing && objects > 0)
            {
                job.Move(SimulatedJobStatus.InProgress, time.GetUtcNow());
            }
        }
    }

    /// <inheritdoc cref="GroundTruthSimulator.ReleaseOutputAsync"/>
    public async Task<bool> ReleaseOutputAsync(string jobName, CancellationToken cancellationToken = default)
    {
        if (!_held.TryRemove(jobName, out var held))
        {
            return false;
        }

        await workforce.Store.PutBytesAsync(held.Location.Bucket, held.Location.Key, held.Bytes, "application/jsonlines", cancellationToken: cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>The state-change event of a job's current state, as EventBridge would deliver it.</summary>
    public string StateChangeEventJson(string jobName)
    {
        var job = Find(jobName);
        return JobStateChangeEvent.Create(job.Arn, job.Status.ToString(), job.LastModifiedTime).ToJson();
    }

    /// <summary>Cancels the jobs' timed steps (auto-completion, the end of a stop) and waits for them to end.</summary>
    public async Task StopBackgroundStepsAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_background).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Background steps end by cancellation on shutdown.
        }
    }

    public void Dispose() => _stopping.Dispose();

    /// <summary>
    /// Ends a job before it completed (Stopped or Failed): the answers given so far go to the output location
    /// and the job reports it; a job without answers reports no output. Emits the state-change event.
    /// </summary>
    private async Task FinishEarlyAsync(SimulatedJob job, SimulatedJobStatus from, SimulatedJobStatus to, string? failureReason, CancellationToken cancellationToken)
    {
        LabelingJobSpec spec;
        long answered;
        lock (job)
        {
            if (job.Status != from || job.Running)
            {
                return;
            }

            job.Running = true;
            spec = job.ToSpec(options.Region);
            answered = job.Answered;
        }

        WorkforceResult? result = null;
        if (answered > 0)
        {
            try
            {
                result = await workforce.LabelAsync(spec, options.WorkDirectory, cancellationToken, answered).ConfigureAwait(false);
                await HoldIfAskedAsync(job.Name, result.OutputManifest, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException or JsonException or IOException or ArgumentException)
            {
                logger.LogWarning(ex, "Simulated job {Job}: the answers before it ended could not be written", job.Name);
                failureReason ??= ex.Message;
            }
        }

        lock (job)
        {
            if (result is not null)
            {
                job.Labeled = result.Labeled;
                job.Failed = result.Expired;
                job.OutputDatasetS3Uri = result.OutputManifest.ToString();
            }

            if (to == SimulatedJobStatus.Failed)
            {
                job.FailureReason = failureReason is { Length: > 1024 } long1 ? long1[..1024] : failureReason;
            }

            job.Running = false;
            job.Move(to, time.GetUtcNow());
        }

        await EmitAsync(job, cancellationToken).ConfigureAwait(false);
    }

    private async Task HoldIfAskedAsync(string jobName, S3Location output, CancellationToken cancellationToken)
    {
        if (!options.HoldOutputUntilReleased)
        {
            return;
        }

        var bytes = await workforce.Store.ReadBytesAsync(output.Bucket, output.Key, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"simulated output {output} was not written");
        await workforce.Store.DeleteAsync(output.Bucket, output.Key, cancellationToken).ConfigureAwait(false);
        _held[jobName] = (output, bytes);
    }

    private async Task EmitAsync(SimulatedJob job, CancellationToken cancellationToken)
    {
        if (options.OnJobStateChange is { } callback)
        {
            await callback(StateChangeEventJson(job.Name), cancellationToken).ConfigureAwait(false);
        }
    }

    private bool TryMove(SimulatedJob job, SimulatedJobStatus from, SimulatedJobStatus to)
    {
        lock (job)
        {
            if (job.Status != from)
            {
                return false;
            }

            job.Move(to, time.GetUtcNow());
            return true;
        }
    }

    private void Track(Task task) => _background.Add(task.ContinueWith(t => logger.LogDebug(t.Exception, "Background job step ended"), TaskScheduler.Default));
}
