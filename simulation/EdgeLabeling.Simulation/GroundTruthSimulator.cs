using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeLabeling.Simulation;

/// <summary>Settings of the simulated SageMaker endpoint.</summary>
public sealed record GroundTruthSimulatorOptions
{
    public string Region { get; init; } = "us-east-1";
    public string AccountId { get; init; } = "123456789012";
    public required string AccessKeyId { get; init; }
    public required string SecretAccessKey { get; init; }

    /// <summary>How far x-amz-date may be from the server clock (AWS allows 5 minutes).</summary>
    public TimeSpan AllowedClockSkew { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>When set, jobs move Initializing → InProgress → Completed on their own after this long.</summary>
    public TimeSpan? AutoCompleteAfter { get; init; }

    /// <summary>How long a stopped job stays Stopping before it is Stopped.</summary>
    public TimeSpan StopDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Scratch folder for spooling output files.</summary>
    public string WorkDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "edgelabeling-gt-sim");

    /// <summary>Receives each state-change event as EventBridge would deliver it (JSON).</summary>
    public Func<string, CancellationToken, Task>? OnJobStateChange { get; init; }

    /// <summary>
    /// Ground Truth's output can appear minutes after the state-change event. When set, a finished job's
    /// output manifest is written, reported by DescribeLabelingJob, but kept out of the bucket until
    /// <see cref="GroundTruthSimulator.ReleaseOutputAsync"/>.
    /// </summary>
    public bool HoldOutputUntilReleased { get; init; }
}

/// <summary>A SageMaker API error: the type goes into "__type", the status into the HTTP response.</summary>
public sealed class SageMakerApiException(int statusCode, string errorType, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;
    public string ErrorType { get; } = errorType;
}

/// <summary>
/// SIMULATION ONLY — a local stand-in for the SageMaker Ground Truth control plane, for tests and demos.
/// Serves the awsJson 1.1 protocol on http://127.0.0.1:&lt;ephemeral port&gt; (POST /, X-Amz-Target
/// SageMaker.CreateLabelingJob | DescribeLabelingJob | ListLabelingJobs | StopLabelingJob), verifies
/// SigV4 signatures, validates CreateLabelingJob against its own reading of the API constraints, keeps job
/// state, and when a job completes has a <see cref="SimulatedWorkforce"/> write Ground Truth's output layout
/// and emits the EventBridge state-change event. A stopped or failed job keeps the answers people gave
/// before it ended (<see cref="SetAnswered"/>): they are written to the output location and reported as
/// <c>LabelingJobOutput</c>, as StopLabelingJob's API reference says; a job that ended before any answer
/// reports no <c>LabelingJobOutput</c>. Running jobs never report one.
/// </summary>
public sealed class GroundTruthSimulator : IAsyncDisposable
{
    public const string TargetPrefix = "SageMaker.";
    public const string ContentType = "application/x-amz-json-1.1";
    private const int MaxBodyBytes = 1 << 20;

    private readonly GroundTruthSimulatorOptions _options;
    private readonly SimulatedWorkforce _workforce;
    private readonly ICreateLabelingJobRules _rules;
    private readonly TimeProvider _time;
    private readonly SigV4Verifier _verifier;
    private readonly ConcurrentDictionary<string, SimulatedJob> _jobs = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentBag<Task> _background = [];
    private readonly ConcurrentDictionary<string, (S3Location Location, byte[] Bytes)> _held = new(StringComparer.OrdinalIgnoreCase);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;
    private WebApplication? _app;
    private long _sequence;

    public GroundTruthSimulator(GroundTruthSimulatorOptions options, SimulatedWorkforce workforce, ICreateLabelingJobRules? rules = null, TimeProvider? time = null, ILoggerFactory? loggerFactory = null)
    {
        _options = options;
        _workforce = workforce;
        _rules = rules ?? new CreateLabelingJobRules();
        _time = time ?? TimeProvider.System;
        _verifier = new SigV4Verifier(options.AccessKeyId, options.SecretAccessKey, options.Region, "sagemaker", options.AllowedClockSkew, _time);
        _logger = (loggerFactory ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance).CreateLogger<GroundTruthSimulator>();
    }

    /// <summary>The base URL clients send requests to (valid after <see cref="StartAsync"/>).</summary>
    public Uri Endpoint { get; private set; } = new("http://127.0.0.1:0/");

    public GroundTruthSimulatorOptions Options => _options;

    /// <summary>Binds Kestrel to 127.0.0.1 on a free port and starts serving.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Limits.MaxRequestBodySize = MaxBodyBytes;
        });
        _app = builder.Build();
        _app.MapPost("/", HandleAsync);
        _app.Map("/{**path}", (HttpContext ctx) => WriteErrorAsync(ctx, new SageMakerApiException(404, "UnknownOperationException", "Only POST / is served (awsJson 1.1).")));
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Endpoint = new Uri(address.EndsWith('/') ? address : address + "/");
        _logger.LogInformation("Ground Truth simulation listening on {Endpoint}", Endpoint);
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        try
        {
            var body = await ReadBodyAsync(ctx.Request, ctx.RequestAborted).ConfigureAwait(false);
            var headers = ctx.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(',', h.Value.Select(v => v ?? "")), StringComparer.Ordinal);
            var query = ctx.Request.Query.SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string>(q.Key, v ?? ""))).ToList();
            var failure = _verifier.Verify(new SignedRequest(ctx.Request.Method, ctx.Request.Path.Value ?? "/", query, headers, body));
            if (failure is not null)
            {
                throw new SageMakerApiException(403, failure.ErrorType, failure.Message);
            }

            var target = headers.GetValueOrDefault("x-amz-target");
            if (string.IsNullOrEmpty(target) || !target.StartsWith(TargetPrefix, StringComparison.Ordinal))
            {
                throw new SageMakerApiException(400, "UnknownOperationException", $"X-Amz-Target '{target}' is missing or not SageMaker.<Operation>.");
            }

            var mediaType = headers.GetValueOrDefault("content-type")?.Split(';')[0].Trim();
            if (!string.Equals(mediaType, ContentType, StringComparison.OrdinalIgnoreCase))
            {
                throw new SageMakerApiException(400, "SerializationException", $"Content-Type must be {ContentType}, not '{mediaType}'.");
            }

            JsonElement request;
            try
            {
                using var doc = JsonDocument.Parse(body.Length == 0 ? "{}"u8.ToArray() : body);
                request = doc.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new SageMakerApiException(400, "SerializationException", $"Request body is not valid JSON: {ex.Message}");
            }

            if (request.ValueKind != JsonValueKind.Object)
            {
                throw new SageMakerApiException(400, "SerializationException", "Request body must be a JSON object.");
            }

            JsonObject? response = target[TargetPrefix.Length..] switch
            {
                "CreateLabelingJob" => CreateLabelingJob(request),
                "DescribeLabelingJob" => DescribeLabelingJob(request),
                "ListLabelingJobs" => ListLabelingJobs(request),
                "StopLabelingJob" => StopLabelingJob(request),
                var op => throw new SageMakerApiException(400, "UnknownOperationException", $"Operation '{op}' is not supported by the Ground Truth simulation."),
            };

            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = ContentType;
            ctx.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
            await ctx.Response.WriteAsync(response?.ToJsonString() ?? "{}", ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (SageMakerApiException ex)
        {
            await WriteErrorAsync(ctx, ex).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            // JsonElement throws this when a member has another JSON type than the operation expects.
            await WriteErrorAsync(ctx, new SageMakerApiException(400, "SerializationException", $"A request member has the wrong JSON type: {ex.Message}")).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel refuses bodies over the limit while they are read.
            await WriteErrorAsync(ctx, new SageMakerApiException(ex.StatusCode, "SerializationException", $"Request body refused: {ex.Message}")).ConfigureAwait(false);
        }
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var ms = new MemoryStream();
        await request.Body.CopyToAsync(ms, cancellationToken).ConfigureAwait(false);
        return ms.ToArray();
    }

    private static Task WriteErrorAsync(HttpContext ctx, SageMakerApiException ex)
    {
        ctx.Response.StatusCode = ex.StatusCode;
        ctx.Response.ContentType = ContentType;
        ctx.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        ctx.Response.Headers["x-amzn-ErrorType"] = ex.ErrorType;
        var json = new JsonObject { ["__type"] = ex.ErrorType, ["Message"] = ex.Message }.ToJsonString();
        return ctx.Response.WriteAsync(json);
    }

    private JsonObject CreateLabelingJob(JsonElement request)
    {
        var errors = _rules.Check(request, _options.Region);
        if (errors.Count > 0)
        {
            throw new SageMakerApiException(400, "ValidationException", $"{errors.Count} validation error{(errors.Count == 1 ? "" : "s")} detected: {string.Join("; ", errors)}");
        }

        var name = request.GetProperty("LabelingJobName").GetString()!;
        var now = _time.GetUtcNow();
        var job = new SimulatedJob(name, LabelingJobArn.Format(_options.Region, _options.AccountId, name), (JsonObject)JsonNode.Parse(request.GetRawText())!, now, Interlocked.Increment(ref _sequence));
        if (!_jobs.TryAdd(name, job))
        {
            var existing = _jobs[name];
            throw new SageMakerApiException(400, "ResourceInUse", $"Labeling job '{name}' conflicts with existing job '{existing.Name}' (names are unique per account and Region, ignoring case).");
        }

        _logger.LogInformation("Created simulated labeling job {Job}", name);
        if (_options.AutoCompleteAfter is { } after)
        {
            Track(Task.Run(async () =>
            {
                await Task.Delay(after / 2, _time, _stopping.Token).ConfigureAwait(false);
                TryMove(job, SimulatedJobStatus.Initializing, SimulatedJobStatus.InProgress);
                await Task.Delay(after / 2, _time, _stopping.Token).ConfigureAwait(false);
                await CompleteJobAsync(name, _stopping.Token).ConfigureAwait(false);
            }));
        }

        return new JsonObject { ["LabelingJobArn"] = job.Arn };
    }

    private JsonObject DescribeLabelingJob(JsonElement request)
    {
        var job = Find(RequiredName(request));
        lock (job)
        {
            var r = job.Request;
            var d = new JsonObject
            {
                ["LabelingJobStatus"] = job.Status.ToString(),
                ["LabelCounters"] = job.Counters(),
                ["CreationTime"] = Epoch(job.CreationTime),
                ["LastModifiedTime"] = Epoch(job.LastModifiedTime),
                ["JobReferenceCode"] = job.ReferenceCode,
                ["LabelingJobName"] = job.Name,
                ["LabelingJobArn"] = job.Arn,
                ["LabelAttributeName"] = r["LabelAttributeName"]?.DeepClone(),
                ["InputConfig"] = r["InputConfig"]?.DeepClone(),
                ["OutputConfig"] = r["OutputConfig"]?.DeepClone(),
                ["RoleArn"] = r["RoleArn"]?.DeepClone(),
                ["HumanTaskConfig"] = r["HumanTaskConfig"]?.DeepClone(),
            };
            foreach (var optional in new[] { "LabelCategoryConfigS3Uri", "StoppingConditions", "LabelingJobAlgorithmsConfig", "Tags" })
            {
                if (r[optional] is { } v)
                {
                    d[optional] = v.DeepClone();
                }
            }

            if (job.FailureReason is not null)
            {
                d["FailureReason"] = job.FailureReason;
            }

            if (job.OutputDatasetS3Uri is not null)
            {
                d["LabelingJobOutput"] = new JsonObject { ["OutputDatasetS3Uri"] = job.OutputDatasetS3Uri };
            }

            return d;
        }
    }

    private JsonObject ListLabelingJobs(JsonElement request)
    {
        var max = 10;
        if (request.TryGetProperty("MaxResults", out var mr))
        {
            if (mr.ValueKind != JsonValueKind.Number || !mr.TryGetInt32(out max) || max is < 1 or > 100)
            {
                throw new SageMakerApiException(400, "ValidationException", $"1 validation error detected: Value '{mr}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100");
            }
        }

        var descending = request.TryGetProperty("SortOrder", out var so) && so.GetString() switch
        {
            "Ascending" => false,
            "Descending" => true,
            var other => throw new SageMakerApiException(400, "ValidationException", $"1 validation error detected: Value '{other}' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [Ascending, Descending]"),
        };
        var sortBy = request.TryGetProperty("SortBy", out var sb) ? sb.GetString() : "CreationTime";
        if (sortBy is not ("Name" or "CreationTime" or "Status"))
        {
            throw new SageMakerApiException(400, "ValidationException", $"1 validation error detected: Value '{sortBy}' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [Name, CreationTime, Status]");
        }

        var nameContains = request.TryGetProperty("NameContains", out var nc) ? nc.GetString() : null;
        var createdAfter = EpochMember(request, "CreationTimeAfter");
        var createdBefore = EpochMember(request, "CreationTimeBefore");
        var statusEquals = request.TryGetProperty("StatusEquals", out var se) ? se.GetString() : null;
        var offset = 0;
        if (request.TryGetProperty("NextToken", out var nt) && nt.GetString() is { Length: > 0 } token)
        {
            try
            {
                offset = int.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(token)).Replace("offset:", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
            }
            catch (FormatException)
            {
                throw new SageMakerApiException(400, "ValidationException", "Invalid pagination token.");
            }
        }

        IEnumerable<SimulatedJob> jobs = _jobs.Values.Where(j =>
            (nameContains is null || j.Name.Contains(nameContains, StringComparison.OrdinalIgnoreCase)) &&
            (statusEquals is null || j.Status.ToString() == statusEquals) &&
            (createdAfter is null || j.CreationTime > createdAfter) &&
            (createdBefore is null || j.CreationTime < createdBefore));
        jobs = sortBy switch
        {
            "Name" => jobs.OrderBy(j => j.Name, StringComparer.Ordinal),
            "Status" => jobs.OrderBy(j => j.Status.ToString(), StringComparer.Ordinal),
            _ => jobs.OrderBy(j => j.CreationTime).ThenBy(j => j.Sequence),
        };
        var all = descending ? jobs.Reverse().ToList() : jobs.ToList();
        var page = all.Skip(offset).Take(max).ToList();
        var list = new JsonArray();
        foreach (var j in page)
        {
            lock (j)
            {
                var summary = new JsonObject
                {
                    ["LabelingJobName"] = j.Name,
                    ["LabelingJobArn"] = j.Arn,
                    ["CreationTime"] = Epoch(j.CreationTime),
                    ["LastModifiedTime"] = Epoch(j.LastModifiedTime),
                    ["LabelingJobStatus"] = j.Status.ToString(),
                    ["LabelCounters"] = j.Counters(),
                    ["WorkteamArn"] = j.Request["HumanTaskConfig"]?["WorkteamArn"]?.DeepClone(),
                    ["PreHumanTaskLambdaArn"] = j.Request["HumanTaskConfig"]?["PreHumanTaskLambdaArn"]?.DeepClone(),
                    ["AnnotationConsolidationLambdaArn"] = j.Request["HumanTaskConfig"]?["AnnotationConsolidationConfig"]?["AnnotationConsolidationLambdaArn"]?.DeepClone(),
                    ["InputConfig"] = j.Request["InputConfig"]?.DeepClone(),
                };
                if (j.FailureReason is not null)
                {
                    summary["FailureReason"] = j.FailureReason;
                }

                if (j.OutputDatasetS3Uri is not null)
                {
                    summary["LabelingJobOutput"] = new JsonObject { ["OutputDatasetS3Uri"] = j.OutputDatasetS3Uri };
                }

                list.Add(summary);
            }
        }

        var result = new JsonObject { ["LabelingJobSummaryList"] = list };
        if (offset + page.Count < all.Count)
        {
            result["NextToken"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("offset:" + (offset + page.Count).ToString(CultureInfo.InvariantCulture)));
        }

        return result;
    }

    private JsonObject? StopLabelingJob(JsonElement request)
    {
        var job = Find(RequiredName(request));
        lock (job)
        {
            if (job.Status is SimulatedJobStatus.Stopping or SimulatedJobStatus.Stopped)
            {
                return null;
            }

            if (job.Status is not (SimulatedJobStatus.Initializing or SimulatedJobStatus.InProgress))
            {
                throw new SageMakerApiException(400, "ValidationException", $"Labeling job '{job.Name}' is {job.Status} and cannot be stopped.");
            }

            job.Move(SimulatedJobStatus.Stopping, _time.GetUtcNow());
        }

        Track(Task.Run(async () =>
        {
            await Task.Delay(_options.StopDelay, _time, _stopping.Token).ConfigureAwait(false);
            await FinishEarlyAsync(job, SimulatedJobStatus.Stopping, SimulatedJobStatus.Stopped, null, _stopping.Token).ConfigureAwait(false);
        }));

        // StopLabelingJob has no output members: the body is empty JSON.
        return null;
    }

    /// <summary>
    /// Runs the simulated workforce over the job's input and completes it: writes the output layout,
    /// sets the counters and LabelingJobOutput, and emits the Completed event (Failed with a reason when the
    /// input cannot be read). Completing a job that already finished changes nothing.
    /// </summary>
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
                job.Move(SimulatedJobStatus.InProgress, _time.GetUtcNow());
            }

            spec = job.ToSpec(_options.Region);
        }

        try
        {
            var result = await _workforce.LabelAsync(spec, _options.WorkDirectory, cancellationToken).ConfigureAwait(false);
            await HoldIfAskedAsync(job.Name, result.OutputManifest, cancellationToken).ConfigureAwait(false);
            lock (job)
            {
                job.Labeled = result.Labeled;
                job.Failed = result.Expired;
                job.OutputDatasetS3Uri = result.OutputManifest.ToString();
                job.Move(SimulatedJobStatus.Completed, _time.GetUtcNow());
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or JsonException or IOException or ArgumentException)
        {
            lock (job)
            {
                job.FailureReason = ex.Message.Length > 1024 ? ex.Message[..1024] : ex.Message;
                job.Move(SimulatedJobStatus.Failed, _time.GetUtcNow());
            }

            _logger.LogWarning(ex, "Simulated job {Job} failed", job.Name);
        }

        await EmitAsync(job, cancellationToken).ConfigureAwait(false);
        return job.Status;
    }

    /// <summary>
    /// Fails a job on purpose (tests of the Failed path) and emits the Failed event. The answers given so far
    /// (<see cref="SetAnswered"/>) are written as the job's output; with none, the job reports no output.
    /// </summary>
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

    /// <summary>People have answered the first <paramref name="objects"/> data objects of a running job (what a stop or failure keeps).</summary>
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
                job.Move(SimulatedJobStatus.InProgress, _time.GetUtcNow());
            }
        }
    }

    /// <summary>Puts a held output manifest (<see cref="GroundTruthSimulatorOptions.HoldOutputUntilReleased"/>) into the bucket; false when none is held.</summary>
    public async Task<bool> ReleaseOutputAsync(string jobName, CancellationToken cancellationToken = default)
    {
        if (!_held.TryRemove(jobName, out var held))
        {
            return false;
        }

        await _workforce.Store.PutBytesAsync(held.Location.Bucket, held.Location.Key, held.Bytes, "application/jsonlines", cancellationToken: cancellationToken).ConfigureAwait(false);
        return true;
    }

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
            spec = job.ToSpec(_options.Region);
            answered = job.Answered;
        }

        WorkforceResult? result = null;
        if (answered > 0)
        {
            try
            {
                result = await _workforce.LabelAsync(spec, _options.WorkDirectory, cancellationToken, answered).ConfigureAwait(false);
                await HoldIfAskedAsync(job.Name, result.OutputManifest, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException or JsonException or IOException or ArgumentException)
            {
                _logger.LogWarning(ex, "Simulated job {Job}: the answers before it ended could not be written", job.Name);
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
            job.Move(to, _time.GetUtcNow());
        }

        await EmitAsync(job, cancellationToken).ConfigureAwait(false);
    }

    private async Task HoldIfAskedAsync(string jobName, S3Location output, CancellationToken cancellationToken)
    {
        if (!_options.HoldOutputUntilReleased)
        {
            return;
        }

        var bytes = await _workforce.Store.ReadBytesAsync(output.Bucket, output.Key, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"simulated output {output} was not written");
        await _workforce.Store.DeleteAsync(output.Bucket, output.Key, cancellationToken).ConfigureAwait(false);
        _held[jobName] = (output, bytes);
    }

    /// <summary>The current status of a job, or null when there is none.</summary>
    public SimulatedJobStatus? StatusOf(string jobName) => _jobs.TryGetValue(jobName, out var j) ? j.Status : null;

    /// <summary>The state-change event of a job's current state, as EventBridge would deliver it.</summary>
    public string StateChangeEventJson(string jobName)
    {
        var job = Find(jobName);
        return JobStateChangeEvent.Create(job.Arn, job.Status.ToString(), job.LastModifiedTime).ToJson();
    }

    private async Task EmitAsync(SimulatedJob job, CancellationToken cancellationToken)
    {
        if (_options.OnJobStateChange is { } callback)
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

            job.Move(to, _time.GetUtcNow());
            return true;
        }
    }

    private SimulatedJob Find(string name) =>
        _jobs.TryGetValue(name, out var job) ? job : throw new SageMakerApiException(400, "ResourceNotFound", $"Labeling job '{name}' does not exist.");

    private static string RequiredName(JsonElement request) =>
        request.TryGetProperty("LabelingJobName", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() is { Length: > 0 } s
            ? s
            : throw new SageMakerApiException(400, "ValidationException", "1 validation error detected: Value null at 'labelingJobName' failed to satisfy constraint: Member must not be null");

    /// <summary>Timestamps travel as epoch seconds (a JSON number) in the json protocol.</summary>
    private static DateTimeOffset? EpochMember(JsonElement request, string member)
    {
        if (!request.TryGetProperty(member, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var seconds))
        {
            throw new SageMakerApiException(400, "SerializationException", $"{member} must be a number of epoch seconds.");
        }

        return DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000));
    }

    private static double Epoch(DateTimeOffset t) => Math.Round(t.ToUnixTimeMilliseconds() / 1000.0, 3);

    private void Track(Task task) => _background.Add(task.ContinueWith(t => _logger.LogDebug(t.Exception, "Background job step ended"), TaskScheduler.Default));

    public async ValueTask DisposeAsync()
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

        if (_app is not null)
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }
}

public enum SimulatedJobStatus
{
    Initializing,
    InProgress,
    Completed,
    Failed,
    Stopping,
    Stopped,
}

/// <summary>One job's state; guarded by locking the instance.</summary>
internal sealed class SimulatedJob(string name, string arn, JsonObject request, DateTimeOffset created, long sequence)
{
    public string Name { get; } = name;
    public string Arn { get; } = arn;
    public JsonObject Request { get; } = request;
    public DateTimeOffset CreationTime { get; } = created;
    public long Sequence { get; } = sequence;
    public string ReferenceCode { get; } = Guid.NewGuid().ToString("N")[..12];
    public SimulatedJobStatus Status { get; private set; } = SimulatedJobStatus.Initializing;
    public DateTimeOffset LastModifiedTime { get; private set; } = created;
    public long Labeled { get; set; }
    public long Failed { get; set; }
    public string? FailureReason { get; set; }
    public string? OutputDatasetS3Uri { get; set; }
    public bool Running { get; set; }

    /// <summary>Data objects people answered so far (from the start of the input manifest).</summary>
    public long Answered { get; set; }

    public void Move(SimulatedJobStatus to, DateTimeOffset at)
    {
        Status = to;
        LastModifiedTime = at;
    }

    public JsonObject Counters() => new()
    {
        ["TotalLabeled"] = Labeled,
        ["HumanLabeled"] = Labeled,
        ["MachineLabeled"] = 0,
        ["FailedNonRetryableError"] = Failed,
        ["Unlabeled"] = Status is SimulatedJobStatus.Completed ? 0 : Math.Max(0, Total - Labeled - Failed),
    };

    private long Total => Labeled + Failed;

    public LabelingJobSpec ToSpec(string region)
    {
        var h = Request["HumanTaskConfig"]!;
        var pre = h["PreHumanTaskLambdaArn"]?.GetValue<string>() ?? "";
        var categories = Request["LabelCategoryConfigS3Uri"]?.GetValue<string>();
        return new LabelingJobSpec(
            Name,
            Request["LabelAttributeName"]!.GetValue<string>(),
            S3Location.Parse(Request["InputConfig"]!["DataSource"]!["S3DataSource"]!["ManifestS3Uri"]!.GetValue<string>()),
            S3Location.Parse(Request["OutputConfig"]!["S3OutputPath"]!.GetValue<string>()),
            categories is null ? null : S3Location.Parse(categories),
            pre.EndsWith("-AdjustmentBoundingBox", StringComparison.Ordinal),
            h["NumberOfHumanWorkersPerDataObject"]?.GetValue<int>() ?? 1,
            region);
    }
}
