using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Review.Tasks;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Review.BuiltIn;

/// <summary>
/// The built-in labeling backend behind the same port as Ground Truth (<see cref="ISageMakerClient"/>), so
/// the batcher does not change: CreateLabelingJob reads the job's input manifest and label categories and
/// makes one task per image; the review API leases and submits them; when every task is submitted or
/// expired the job writes Ground Truth's output layout (<see cref="GroundTruthOutputWriter"/>) and emits the
/// same state-change event, so the merge does not change either.
/// </summary>
public sealed class BuiltInLabelingService(
    IReviewTaskStore store,
    IObjectStore objects,
    IJobStateChangePublisher publisher,
    ReviewOptions options,
    TimeProvider? time = null) : ISageMakerClient
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public IReviewTaskStore Store => store;
    public ReviewOptions Options => options;
    public TimeProvider Time => _time;

    public async Task<CreateLabelingJobResponse> CreateLabelingJobAsync(CreateLabelingJobRequest request, CancellationToken cancellationToken = default)
    {
        var problems = CreateLabelingJobValidator.Validate(request);
        if (problems.Count > 0)
        {
            throw new SageMakerValidationException($"{problems.Count} validation error(s) detected: {string.Join("; ", problems)}", System.Net.HttpStatusCode.BadRequest);
        }

        var name = request.LabelingJobName!;
        if (await store.GetJobAsync(name, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            throw new SageMakerResourceInUseException($"Labeling job '{name}' conflicts with existing job '{existing.Name}' (names are unique ignoring case).", System.Net.HttpStatusCode.BadRequest);
        }

        var categories = await ReadCategoriesAsync(request.LabelCategoryConfigS3Uri, cancellationToken).ConfigureAwait(false);
        var manifestUri = request.InputConfig!.DataSource!.S3DataSource!.ManifestS3Uri!;
        var tasks = await ReadTasksAsync(ReviewJob.KeyOf(name), manifestUri, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var human = request.HumanTaskConfig!;
        var job = new ReviewJob
        {
            Name = name,
            Arn = LabelingJobArn.Format(options.Region, options.AccountId, name),
            LabelAttributeName = request.LabelAttributeName!,
            OutputPath = request.OutputConfig!.S3OutputPath!,
            InputManifestUri = manifestUri,
            LabelCategoryConfigUri = request.LabelCategoryConfigS3Uri,
            Categories = categories,
            Adjustment = BuiltInLambdas.TryParseTaskType(human.PreHumanTaskLambdaArn ?? "", out var type) && type.StartsWith("Adjustment", StringComparison.Ordinal),
            TaskTimeLimitSeconds = human.TaskTimeLimitInSeconds ?? 300,
            AvailableUntil = now.AddSeconds(human.TaskAvailabilityLifetimeInSeconds ?? 864_000),
            CreatedAt = now,
            LastModifiedAt = now,
            TaskCount = tasks.Count,
            RequestJson = JsonSerializer.Serialize(request, LabelingJsonContext.Default.CreateLabelingJobRequest),
        };
        if (!await store.TryCreateJobAsync(job, tasks, cancellationToken).ConfigureAwait(false))
        {
            throw new SageMakerResourceInUseException($"Labeling job '{name}' already exists.", System.Net.HttpStatusCode.BadRequest);
        }

        return new CreateLabelingJobResponse { LabelingJobArn = job.Arn };
    }

    public async Task<DescribeLabelingJobResponse> DescribeLabelingJobAsync(string labelingJobName, CancellationToken cancellationToken = default)
    {
        var job = await FindAsync(labelingJobName, cancellationToken).ConfigureAwait(false);
        var request = JsonSerializer.Deserialize(job.RequestJson, LabelingJsonContext.Default.CreateLabelingJobRequest)!;
        var progress = await store.GetProgressAsync(job.Name, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return new DescribeLabelingJobResponse
        {
            LabelingJobStatus = job.Status,
            LabelCounters = Counters(job, progress),
            FailureReason = job.FailureReason,
            CreationTime = job.CreatedAt,
            LastModifiedTime = job.LastModifiedAt,
            JobReferenceCode = job.Key,
            LabelingJobName = job.Name,
            LabelingJobArn = job.Arn,
            LabelAttributeName = job.LabelAttributeName,
            InputConfig = request.InputConfig,
            OutputConfig = request.OutputConfig,
            RoleArn = request.RoleArn,
            LabelCategoryConfigS3Uri = request.LabelCategoryConfigS3Uri,
            StoppingConditions = request.StoppingConditions,
            HumanTaskConfig = request.HumanTaskConfig,
            Tags = request.Tags,
            LabelingJobOutput = job.OutputManifestUri is { } uri ? new LabelingJobOutput { OutputDatasetS3Uri = uri } : null,
        };
    }

    private static LabelCounters Counters(ReviewJob job, ReviewJobProgress p) => new()
    {
        TotalLabeled = p.Submitted,
        HumanLabeled = p.Submitted,
        MachineLabeled = 0,
        FailedNonRetryableError = p.Expired,
        Unlabeled = job.Status == ReviewJobStatus.InProgress ? p.Open : 0,
    };

    public async Task<ListLabelingJobsResponse> ListLabelingJobsAsync(ListLabelingJobsRequest request, CancellationToken cancellationToken = default)
    {
        var max = request.MaxResults ?? 10;
        if (max is < 1 or > 100)
        {
            throw new SageMakerValidationException($"MaxResults {max} must be between 1 and 100", System.Net.HttpStatusCode.BadRequest);
        }

        var offset = request.NextToken is { Length: > 0 } t && int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var o) ? o : 0;
        IEnumerable<ReviewJob> jobs = await store.ListJobsAsync(cancellationToken).ConfigureAwait(false);
        jobs = jobs.Where(j => (request.NameContains is null || j.Name.Contains(request.NameContains, StringComparison.OrdinalIgnoreCase))
            && (request.StatusEquals is null || j.Status == request.StatusEquals)
            && (request.CreationTimeAfter is null || j.CreatedAt > request.CreationTimeAfter)
            && (request.CreationTimeBefore is null || j.CreatedAt < request.CreationTimeBefore));
        var all = request.SortOrder == "Descending" ? jobs.Reverse().ToList() : jobs.ToList();
        var page = all.Skip(offset).Take(max).Select(j => new LabelingJobSummary
        {
            LabelingJobName = j.Name,
            LabelingJobArn = j.Arn,
            CreationTime = j.CreatedAt,
            LastModifiedTime = j.LastModifiedAt,
            LabelingJobStatus = j.Status,
            FailureReason = j.FailureReason,
            LabelingJobOutput = j.OutputManifestUri is { } uri ? new LabelingJobOutput { OutputDatasetS3Uri = uri } : null,
        }).ToList();
        return new ListLabelingJobsResponse
        {
            LabelingJobSummaryList = page,
            NextToken = offset + page.Count < all.Count ? (offset + page.Count).ToString(CultureInfo.InvariantCulture) : null,
        };
    }

    /// <summary>Stops a running job: its open tasks expire, and the Stopped event sends every item back to pending.</summary>
    public async Task StopLabelingJobAsync(string labelingJobName, CancellationToken cancellationToken = default)
    {
        var job = await FindAsync(labelingJobName, cancellationToken).ConfigureAwait(false);
        if (job.Status is ReviewJobStatus.Stopping or ReviewJobStatus.Stopped)
        {
            return;
        }

        if (job.Status != ReviewJobStatus.InProgress)
        {
            throw new SageMakerValidationException($"Labeling job '{job.Name}' is {job.Status} and cannot be stopped.", System.Net.HttpStatusCode.BadRequest);
        }

        var now = _time.GetUtcNow();
        var stopping = job with { Status = ReviewJobStatus.Stopping, LastModifiedAt = now };
        if (!await store.TryUpdateJobAsync(stopping, ReviewJobStatus.InProgress, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        await store.ExpireOpenTasksAsync(job.Name, cancellationToken).ConfigureAwait(false);
        var stopped = stopping with { Status = ReviewJobStatus.Stopped, LastModifiedAt = _time.GetUtcNow() };
        if (await store.TryUpdateJobAsync(stopped, ReviewJobStatus.Stopping, cancellationToken).ConfigureAwait(false))
        {
            await PublishAsync(stopped, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Completes the job when no task is open any more, or when its availability has ended (open tasks then
    /// expire, like Ground Truth's unanswered objects): writes the output layout, moves the job to Completed
    /// and emits the Completed event. Safe to call from racing submitters: one moves the job, one event goes out.
    /// </summary>
    public async Task<string> CompleteIfDoneAsync(string jobName, CancellationToken cancellationToken = default)
    {
        var job = await FindAsync(jobName, cancellationToken).ConfigureAwait(false);
        if (job.Status != ReviewJobStatus.InProgress)
        {
            return job.Status;
        }

        var now = _time.GetUtcNow();
        if (await store.HasOpenTasksAsync(job.Name, cancellationToken).ConfigureAwait(false))
        {
            if (now < job.AvailableUntil)
            {
                return job.Status;
            }

            await store.ExpireOpenTasksAsync(job.Name, cancellationToken).ConfigureAwait(false);
        }

        var output = await new GroundTruthOutputWriter(objects).WriteAsync(job, store.ListTasksAsync(job.Name, cancellationToken), cancellationToken).ConfigureAwait(false);
        var completed = job with { Status = ReviewJobStatus.Completed, LastModifiedAt = _time.GetUtcNow(), OutputManifestUri = output };
        if (await store.TryUpdateJobAsync(completed, ReviewJobStatus.InProgress, cancellationToken).ConfigureAwait(false))
        {
            await PublishAsync(completed, cancellationToken).ConfigureAwait(false);
            return completed.Status;
        }

        return (await FindAsync(jobName, cancellationToken).ConfigureAwait(false)).Status;
    }

    /// <summary>The scheduled sweep: completes every job whose tasks are all done or whose availability ended.</summary>
    public async Task<IReadOnlyList<string>> SweepAsync(CancellationToken cancellationToken = default)
    {
        var completed = new List<string>();
        foreach (var job in await store.ListJobsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (job.Status == ReviewJobStatus.InProgress && await CompleteIfDoneAsync(job.Name, cancellationToken).ConfigureAwait(false) == ReviewJobStatus.Completed)
            {
                completed.Add(job.Name);
            }
        }

        return completed;
    }

    private Task PublishAsync(ReviewJob job, CancellationToken ct) =>
        publisher.PublishAsync(JobStateChangeEvent.Create(job.Arn, job.Status, job.LastModifiedAt).ToJson(), ct);

    private async Task<ReviewJob> FindAsync(string name, CancellationToken ct) =>
        await store.GetJobAsync(name, ct).ConfigureAwait(false)
        ?? throw new SageMakerResourceNotFoundException($"Labeling job '{name}' does not exist.", System.Net.HttpStatusCode.BadRequest);

    private async Task<IReadOnlyList<string>> ReadCategoriesAsync(string? uri, CancellationToken ct)
    {
        if (uri is null)
        {
            throw new SageMakerValidationException("the built-in backend needs LabelCategoryConfigS3Uri to name the classes", System.Net.HttpStatusCode.BadRequest);
        }

        var (bucket, key) = S3Uris.Parse(uri);
        var bytes = await objects.ReadBytesAsync(bucket, key, ct).ConfigureAwait(false)
            ?? throw new SageMakerValidationException($"label category file {uri} does not exist", System.Net.HttpStatusCode.BadRequest);
        LabelCategoryConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(bytes, ContractsJsonContext.Default.LabelCategoryConfig);
        }
        catch (JsonException ex)
        {
            throw new SageMakerValidationException($"label category file {uri} is not valid JSON: {ex.Message}", System.Net.HttpStatusCode.BadRequest);
        }

        if (config is null || config.Version != LabelCategoryConfig.DocumentVersion || config.Labels.Count is < 1 or > 50
            || config.Labels.Select(l => l.Label).Distinct(StringComparer.Ordinal).Count() != config.Labels.Count)
        {
            throw new SageMakerValidationException($"label category file {uri} must have document-version {LabelCategoryConfig.DocumentVersion} and 1-50 unique labels", System.Net.HttpStatusCode.BadRequest);
        }

        return [.. config.Labels.Select(l => l.Label)];
    }

    private async Task<List<ReviewTask>> ReadTasksAsync(string jobKey, string manifestUri, CancellationToken ct)
    {
        var (bucket, key) = S3Uris.Parse(manifestUri);
        await using var input = await objects.OpenReadAsync(bucket, key, ct).ConfigureAwait(false)
            ?? throw new SageMakerValidationException($"input manifest {manifestUri} does not exist", System.Net.HttpStatusCode.BadRequest);
        using var reader = new StreamReader(input, new UTF8Encoding(false));
        var tasks = new List<ReviewTask>();
        var number = 0;
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } text)
        {
            number++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            JsonObject line;
            try
            {
                line = JsonNode.Parse(text) as JsonObject ?? throw new JsonException("not an object");
            }
            catch (JsonException ex)
            {
                throw new SageMakerValidationException($"input manifest line {number} is not a JSON object: {ex.Message}", System.Net.HttpStatusCode.BadRequest);
            }

            var sourceRef = line["source-ref"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
            if (sourceRef is null || !sourceRef.StartsWith("s3://", StringComparison.Ordinal))
            {
                throw new SageMakerValidationException($"input manifest line {number} has no s3:// source-ref", System.Net.HttpStatusCode.BadRequest);
            }

            var size = PriorLabels.ImageSizeOf(line) ?? await SidecarImageSizeAsync(sourceRef, ct).ConfigureAwait(false);
            tasks.Add(new ReviewTask
            {
                JobKey = jobKey,
                Index = tasks.Count,
                SourceRef = sourceRef,
                InputLine = text,
                ImageSize = size,

                // Without a size no box can be checked against the image: like an object Ground Truth cannot
                // show, it comes back unlabeled (and goes back to pending) instead of being offered to people.
                State = size is null ? ReviewTaskState.Expired : ReviewTaskState.Pending,
            });
        }

        if (tasks.Count == 0)
        {
            throw new SageMakerValidationException($"input manifest {manifestUri} has no data objects", System.Net.HttpStatusCode.BadRequest);
        }

        return tasks;
    }

    /// <summary>A line without a prior label: the edge's sidecar next to the image names its size.</summary>
    private async Task<ImageSize?> SidecarImageSizeAsync(string sourceRef, CancellationToken ct)
    {
        try
        {
            var (bucket, key) = S3Uris.Parse(sourceRef);
            var sidecar = await ObjectContent.ReadJsonBytesAsync(objects, bucket, ObjectKeyLayout.SidecarKey(key), ReviewRecord.MaxSidecarBytes, ct).ConfigureAwait(false);
            return sidecar is null ? null : ReviewRecord.Parse(sidecar).ImageSize.ToImageSize();
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidDataException or ObjectTooLargeException)
        {
            return null;
        }
    }
}

/// <summary>s3://bucket/key URIs.</summary>
public static class S3Uris
{
    public static (string Bucket, string Key) Parse(string uri)
    {
        if (uri is null || !uri.StartsWith("s3://", StringComparison.Ordinal))
        {
            throw new FormatException($"'{uri}' is not an s3://bucket/key URI");
        }

        var rest = uri[5..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash <= 0 ? (rest, "") : (rest[..slash], rest[(slash + 1)..]);
    }
}

/// <summary>The prior (chained) label of an input line: the model's boxes the labeler starts from.</summary>
public static class PriorLabels
{
    /// <summary>The first attribute with a "-metadata" partner that parses as a bounding-box label, or null.</summary>
    public static ManifestLabel? Find(string inputLine)
    {
        if (JsonNode.Parse(inputLine) is not JsonObject line)
        {
            return null;
        }

        foreach (var (key, value) in line)
        {
            if (value is JsonObject && !key.EndsWith("-metadata", StringComparison.Ordinal) && line[key + "-metadata"] is JsonObject)
            {
                try
                {
                    return GroundTruthManifest.Parse(inputLine, key);
                }
                catch (FormatException)
                {
                    // Not a bounding-box label (another task type chained in); keep looking.
                }
            }
        }

        return null;
    }

    public static ImageSize? ImageSizeOf(JsonObject line)
    {
        foreach (var (_, value) in line)
        {
            if (value is JsonObject o && o["image_size"] is JsonArray { Count: > 0 } a && a[0] is JsonObject s
                && s["width"] is JsonValue w && s["height"] is JsonValue h && w.TryGetValue(out int width) && h.TryGetValue(out int height)
                && width > 0 && height > 0)
            {
                var depth = s["depth"] is JsonValue d && d.TryGetValue(out int dv) ? dv : 3;
                return new ImageSize(width, height, depth);
            }
        }

        return null;
    }
}
