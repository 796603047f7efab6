using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Lambdas;
using EdgeLabeling.Review.BuiltIn;
using EdgeLabeling.Review.Tasks;
using EdgeLabeling.Simulation;
using EdgeLabeling.Simulation.LocalCloud;
using EdgeLabeling.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeLabeling.Cli.Pipeline;

/// <summary>One Ground Truth job of the run.</summary>
internal sealed record JobReport(string Name, int Items, bool Adjustment, decimal ForecastUsd)
{
    public string Status { get; set; } = "InProgress";
    public long Labeled { get; set; }
    public long Returned { get; set; }
}

/// <summary>What the ingest handler was given and what it answered.</summary>
internal sealed record IngestSummary(int Objects, int Messages, int Invocations, int Redelivered, int DeadLettered);

/// <summary>
/// The cloud half of the loop with the real handlers: <see cref="IngestFunction"/> fed S3 notifications in
/// SQS batches, <see cref="BatchFunction"/> woken by scheduled events, the Ground Truth simulator and its
/// workforce labeling the jobs, and <see cref="MergeFunction"/> fed the simulator's state-change events.
/// </summary>
internal sealed class CloudStage : IAsyncDisposable
{
    public const string AccountId = "123456789012";

    // The simulator checks SigV4 like SageMaker does; these keys exist only between the two.
    private const string SimAccessKey = "AKIAPIPELINESIM00001";
    private const string SimSecretKey = "pipeline-simulation-secret-000000000000001";

    private readonly ServiceProvider _services;
    private readonly GroundTruthSimulator _simulator;
    private readonly StreamWriter _metrics;
    private readonly ConcurrentQueue<string> _events;
    private readonly SimulatedClock _clock;
    private readonly AwsEventFactory _factory;
    private readonly List<JobReport> _jobs = [];
    private readonly List<string> _decisions = [];

    private CloudStage(ServiceProvider services, GroundTruthSimulator simulator, StreamWriter metrics, SimulatedClock clock, LabelingOptions options, IObjectStore store, ConcurrentQueue<string> events)
    {
        _events = events;
        _services = services;
        _simulator = simulator;
        _metrics = metrics;
        _clock = clock;
        Options = options;
        Store = store;
        _factory = new AwsEventFactory(options.Region, AccountId, EdgeStage.ThingName);
    }

    public LabelingOptions Options { get; }
    public IObjectStore Store { get; }
    public IReadOnlyList<JobReport> Jobs => _jobs;
    public IReadOnlyList<string> BatchDecisions => _decisions;
    public TimeSpan SimulatedTimeAdvanced => _clock.Offset;

    /// <summary>The labeling options the Lambdas would read from their environment, with the user's overrides on top.</summary>
    public static LabelingOptions BuildOptions(PipelineRequest request, PipelineConfig config, string incomingBucket, string dataBucket, IReadOnlyList<string> classNames, string? localStoreRoot)
    {
        var region = config.Cloud.TryGetValue("AWS_REGION", out var r) ? r : EdgeStage.Region;
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["AWS_REGION"] = region,
            ["INCOMING_BUCKET"] = incomingBucket,
            ["DATA_BUCKET"] = dataBucket,
            ["PENDING_DB_PATH"] = Path.Combine(request.OutputDirectory, "cloud", "pending.db"),
            ["WORKTEAM_ARN"] = $"arn:aws:sagemaker:{region}:{AccountId}:workteam/private-crowd/parts-inspectors",
            ["GT_ROLE_ARN"] = $"arn:aws:iam::{AccountId}:role/edgelabeling-ground-truth",
            ["CLASS_NAMES"] = string.Join(",", classNames),

            // Sized for the demo: a job once 25 images wait, the rest when the oldest has waited an hour,
            // so the shipped samples make two or three jobs instead of one per image or one for all.
            ["BATCH_MIN_ITEMS"] = "25",
            ["BATCH_MAX_AGE_MINUTES"] = "60",
            ["JOB_NAME_PREFIX"] = "edgelabel-demo",
        };
        if (request.Labelers == PipelineRequest.People)
        {
            env["LABELING_BACKEND"] = LabelingBackends.BuiltIn;
        }

        if (localStoreRoot is not null)
        {
            env["LOCAL_STORE_ROOT"] = localStoreRoot;
        }
        else
        {
            env["S3_ENDPOINT"] = request.S3Endpoint!;
        }

        foreach (var (key, value) in config.Cloud)
        {
            env[key] = value;
        }

        try
        {
            // SAGEMAKER_ENDPOINT is filled in once the simulator has its port.
            return LabelingOptions.FromDictionary(env);
        }
        catch (ArgumentException ex)
        {
            throw new PipelineInputException("cloud settings: " + ex.Message);
        }
    }

    public static async Task<CloudStage> StartAsync(PipelineRequest request, PipelineConfig config, LabelingOptions options, IObjectStore store, CancellationToken ct)
    {
        var dir = Path.Combine(request.OutputDirectory, "cloud");
        Directory.CreateDirectory(dir);
        var clock = new SimulatedClock();
        var events = new ConcurrentQueue<string>();
        var uploadForm = EdgeStage.UploadForm(config);
        var oracle = new YoloLabelOracle(request.LabelsDirectory, request.ImagesDirectory, bytes => uploadForm.UploadBytes(bytes));
        var simulator = new GroundTruthSimulator(
            new GroundTruthSimulatorOptions
            {
                Region = options.Region,
                AccountId = AccountId,
                AccessKeyId = SimAccessKey,
                SecretAccessKey = SimSecretKey,
                WorkDirectory = Path.Combine(dir, "ground-truth"),
                OnJobStateChange = (json, _) =>
                {
                    events.Enqueue(json);
                    return Task.CompletedTask;
                },
            },
            new SimulatedWorkforce(store, oracle, config.BuildWorkforce(request.Seed), clock),
            time: clock);
        await simulator.StartAsync(ct).ConfigureAwait(false);

        options = options with { SageMakerEndpoint = simulator.Endpoint.ToString() };

        // Lambda's EMF metrics go to a file instead of stdout, where they would drown the progress display.
        var metrics = new StreamWriter(Path.Combine(dir, "metrics.emf.jsonl"), append: false) { AutoFlush = true };

        // --labelers people: the built-in backend takes the jobs (behind the same ISageMakerClient port) and
        // its completion events join the simulator's queue, so the merge is fed exactly as before.
        BuiltInLabelingService? builtIn = null;
        if (options.Backend == LabelingBackends.BuiltIn)
        {
            builtIn = new BuiltInLabelingService(new SqliteReviewTaskStore(Path.Combine(dir, "review.db")), store,
                new CallbackJobStateChangePublisher((json, _) =>
                {
                    events.Enqueue(json);
                    return Task.CompletedTask;
                }),
                new ReviewOptions { Region = options.Region, AccountId = AccountId }, clock);
        }

        // The same graph BuildLabelingProvider makes, with the seams AddLabeling leaves open (TryAdd): the one
        // store instance the edge wrote to, the simulator's signing keys, the shared clock and the metrics file.
        var collection = new ServiceCollection();
        if (builtIn is not null)
        {
            collection.AddSingleton<ISageMakerClient>(builtIn);
        }

        var services = collection
            .AddSingleton<TimeProvider>(clock)
            .AddSingleton(store)
            .AddSingleton<ISigningCredentialsSource>(new StaticCredentialsSource(new SigningCredentials(SimAccessKey, SimSecretKey)))
            .AddSingleton<ILabelingMetrics>(new EmfMetrics(TextWriter.Synchronized(metrics), time: clock))
            .AddLabeling(options)
            .BuildServiceProvider();
        return new CloudStage(services, simulator, metrics, clock, options, store, events) { BuiltIn = builtIn };
    }

    /// <summary>The built-in backend when people label (<c>--labelers people</c>).</summary>
    public BuiltInLabelingService? BuiltIn { get; private init; }

    /// <summary>
    /// <c>--labelers people</c>: serves the review app on 127.0.0.1, announces its URL, and merges each job as
    /// its completion event arrives, until every job has ended; a sweep every few seconds completes jobs whose
    /// availability ran out.
    /// </summary>
    public async Task ReviewAsync(PipelineRequest request, IPipelineProgress progress, CancellationToken ct)
    {
        if (BuiltIn is null || _jobs.Count == 0)
        {
            return;
        }

        await using var server = await Cli.Review.ReviewServer.StartAsync(BuiltIn, Store, new Cli.Review.ReviewServerOptions { Port = request.ReviewPort, WebRoot = request.ReviewWebRoot }, ct).ConfigureAwait(false);
        request.OnReviewReady?.Invoke(server.ReviewUrl);
        System.Console.Error.WriteLine($"Label the review images in a browser: {server.ReviewUrl}");
        var lastSweep = DateTime.UtcNow;
        while (_jobs.Any(j => j.Status == "InProgress"))
        {
            if (!_events.IsEmpty)
            {
                await MergeAsync(progress, ct).ConfigureAwait(false);
                continue;
            }

            progress.Update($"{_jobs.Count(j => j.Status != "InProgress")}/{_jobs.Count} job(s) labeled and merged; review app: {server.BaseAddress}");
            if (DateTime.UtcNow - lastSweep > TimeSpan.FromSeconds(5))
            {
                await BuiltIn.SweepAsync(ct).ConfigureAwait(false);
                lastSweep = DateTime.UtcNow;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Delivers a notification for every object under incoming/ (in upload order, ten messages per
    /// invocation as the SQS event source does by default), redelivers what the handler reports as failed,
    /// and wakes the batcher after each invocation. Finally the clock moves past the batching age so the
    /// scheduled run sends the remainder to people too.
    /// </summary>
    public async Task<IngestSummary> IngestAndBatchAsync(string incomingBucket, IPipelineProgress progress, CancellationToken ct)
    {
        var created = new List<CreatedObject>();
        await foreach (var o in Store.ListAsync(incomingBucket, ObjectKeyLayout.IncomingPrefix, ct).ConfigureAwait(false))
        {
            await using var s = await Store.OpenReadAsync(incomingBucket, o.Key, ct).ConfigureAwait(false)
                ?? throw new PipelineStageException("ingest", $"s3://{incomingBucket}/{o.Key} was listed but cannot be read");
            var etag = Convert.ToHexStringLower(await MD5.HashDataAsync(s, ct).ConfigureAwait(false));
            created.Add(new CreatedObject(incomingBucket, o.Key, o.Size, etag, o.LastModified));
        }

        created = [.. created.OrderBy(c => c.Time).ThenBy(c => c.Key, StringComparer.Ordinal)];
        var ingest = new IngestFunction(_services);
        var batch = new BatchFunction(_services);
        var delivery = await new SqsEventSource(ingest.HandleAsync).DeliverAsync(_factory.SqsBatches(created), async messages =>
        {
            progress.Update($"{messages}/{created.Count} notifications ingested, {_jobs.Count} job(s)");
            await ScheduledBatchAsync(batch).ConfigureAwait(false);
        }).ConfigureAwait(false);

        // Nothing more arrives: the schedule keeps firing until the oldest item is old enough to go anyway.
        _clock.Advance(Options.Batching.MaxAge + TimeSpan.FromMinutes(1));
        while (await ScheduledBatchAsync(batch).ConfigureAwait(false) == Labeling.Batching.BatchDecisions.MaxJobsPerRun)
        {
            // One run makes at most MAX_JOBS_PER_RUN jobs; the next scheduled run makes the rest.
        }

        return new IngestSummary(created.Count, delivery.Messages, delivery.Invocations, delivery.Redelivered, delivery.DeadLettered);
    }

    private async Task<string> ScheduledBatchAsync(BatchFunction batch)
    {
        var response = await LocalLambda.InvokeAsync(batch.HandleAsync, _factory.ScheduledEvent(_clock.GetUtcNow())).ConfigureAwait(false);
        var report = response.Deserialize(LabelingJsonContext.Default.BatchRunReport)
            ?? throw new PipelineStageException("batch", "the batch handler returned no report");
        if (report.Error is not null)
        {
            throw new PipelineStageException("batch", $"the batcher deferred after an error: {report.Error}");
        }

        if (report.Decision == Labeling.Batching.BatchDecisions.JobRejected)
        {
            throw new PipelineStageException("batch", "the Ground Truth API rejected a job (its items went back to pending); see the JobsRejected metric in cloud/metrics.emf.jsonl");
        }

        _decisions.Add(report.Decision);
        foreach (var job in report.Jobs)
        {
            _jobs.Add(new JobReport(job.JobName, job.Items, job.Adjustment, job.ForecastUsd));
        }

        return report.Decision;
    }

    /// <summary>The simulated team works through every job; each completion emits the EventBridge event.</summary>
    public async Task LabelAsync(IPipelineProgress progress, CancellationToken ct)
    {
        var done = 0;
        foreach (var job in _jobs)
        {
            progress.Update($"labelers working on {job.Name} ({job.Items} images), {done}/{_jobs.Count} jobs done");
            var status = await _simulator.CompleteJobAsync(job.Name, ct).ConfigureAwait(false);
            job.Status = status.ToString();
            done++;
        }
    }

    /// <summary>
    /// Feeds each state-change event to the merge handler the way the merge queue delivers it (one SQS message
    /// per event); with no job at all the dataset is built from the automatic labels alone.
    /// </summary>
    public async Task MergeAsync(IPipelineProgress progress, CancellationToken ct)
    {
        var merge = new MergeFunction(_services);
        var byName = _jobs.ToDictionary(j => j.Name, StringComparer.OrdinalIgnoreCase);
        var merged = 0;
        while (_events.TryDequeue(out var json))
        {
            var change = JobStateChangeEvent.Parse(Encoding.UTF8.GetBytes(json));
            var response = await LocalLambda.InvokeAsync(merge.HandleAsync, new JsonObject { ["Records"] = new JsonArray(_factory.SqsMessage(json, _clock.GetUtcNow(), queue: "edgelabeling-merge")) }).ConfigureAwait(false);
            if (response["batchItemFailures"] is JsonArray { Count: > 0 })
            {
                throw new PipelineStageException("merge", $"the merge could not finish job {change.JobName} ({change.Status}); see the merge log lines above");
            }

            var marker = await Store.ReadBytesAsync(Options.DataBucket, DatasetKeys.JobDoneKey(Options.LabelAttribute, change.JobName), ct).ConfigureAwait(false);
            var done = marker is null ? null : JsonSerializer.Deserialize(marker, MergeJsonContext.Default.MergeDoneMarker);
            if (done is not null && byName.TryGetValue(done.JobName, out var job))
            {
                job.Status = done.Status;
                job.Labeled = done.Labeled;
                job.Returned = done.ReturnedItems;
            }

            progress.Update($"{++merged}/{_jobs.Count} job(s) merged");
        }
    }

    public async Task<long> PendingAsync(CancellationToken ct) =>
        (await _services.GetRequiredService<IPendingItemStore>().GetPendingSummaryAsync(ct).ConfigureAwait(false)).Count;

    /// <summary>
    /// Builds the dataset on demand (what <c>edgelabel export</c> does) from the job shards the merge wrote and the
    /// auto-label batches, uploads it to the data bucket as a deployment's export would, and writes it locally.
    /// </summary>
    public async Task<(string Manifest, string Coco, DatasetBuildReport? Report)> ExportDatasetAsync(string targetDirectory, CancellationToken ct)
    {
        var result = await _services.GetRequiredService<DatasetExporter>().ExportAsync(new DatasetExportRequest
        {
            Directory = targetDirectory,
            Upload = true,
            FallbackCreationDate = _clock.GetUtcNow(),
        }, ct).ConfigureAwait(false);
        return (result.ManifestPath, result.CocoPath!, result.Report);
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync().ConfigureAwait(false);
        await _simulator.DisposeAsync().ConfigureAwait(false);
        await _metrics.DisposeAsync().ConfigureAwait(false);
    }
}
