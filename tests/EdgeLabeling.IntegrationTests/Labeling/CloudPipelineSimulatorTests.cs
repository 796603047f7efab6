using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.IntegrationTests.Infrastructure;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Lambdas;
using EdgeLabeling.Simulation;
using EdgeLabeling.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeLabeling.IntegrationTests.Labeling;

/// <summary>
/// The whole cloud half, once per pending-store backend: the ingest handler registers images and sidecars
/// stored in radosgw, the batch handler creates a job on the Ground Truth simulator (signed SageMaker
/// client), the simulated workforce writes the job output into radosgw, and the merge handler settles the
/// items. The backend is chosen the way the deployed Lambdas choose it: TABLE_NAME and DYNAMODB_ENDPOINT
/// (a dynalite table) or neither (the SQLite file).
/// </summary>
[Trait("Category", "Integration")]
public sealed class CloudPipelineSimulatorTests : IAsyncLifetime
{
    private const string Thing = "site-9_cam:1";
    private const string AccessKey = "AKIASIMULATION00009";
    private const string Secret = "simulation-secret-key-000000000000000009";
    private static readonly string[] Classes = ["bolt", "nut"];

    private readonly TempDir _dir = new("edgelabel-it-cloud-");
    private readonly Dictionary<string, IReadOnlyList<PixelBox>> _truth = [];
    private readonly List<string> _events = [];
    private string _incoming = "";
    private string _data = "";
    private string? _table;

    public async Task InitializeAsync()
    {
        _incoming = await S3TestServer.CreateBucketAsync("it-cloud-in");
        _data = await S3TestServer.CreateBucketAsync("it-cloud-data");
    }

    public async Task DisposeAsync()
    {
        await S3TestServer.DeleteBucketAsync(_incoming);
        await S3TestServer.DeleteBucketAsync(_data);
        if (_table is not null)
        {
            await DynamoDbTestServer.DeleteTableAsync(_table);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private sealed record Pipeline(ServiceProvider Services, GroundTruthSimulator Simulator, IObjectStore Objects) : IAsyncDisposable
    {
        public IPendingStore Store => Services.GetRequiredService<IPendingStore>();

        public async ValueTask DisposeAsync()
        {
            await Simulator.DisposeAsync();
            await Services.DisposeAsync();
        }
    }

    private async Task<Pipeline> StartAsync(string backend)
    {
        if (backend == "dynamodb")
        {
            _table = await DynamoDbTestServer.CreatePendingTableAsync("it-cloud");
            // The composition root builds its DynamoDB client from the SDK's default credential chain, as on Lambda.
            DynamoDbTestServer.EnsureSdkCredentialsInEnvironment();
        }

        var objects = S3TestServer.CreateStore();
        var sim = new GroundTruthSimulator(
            new GroundTruthSimulatorOptions
            {
                AccessKeyId = AccessKey,
                SecretAccessKey = Secret,
                WorkDirectory = _dir.File("sim"),
                OnJobStateChange = (e, _) =>
                {
                    lock (_events)
                    {
                        _events.Add(e);
                    }

                    return Task.CompletedTask;
                },
            },
            new SimulatedWorkforce(objects, new DictionaryOracle(_truth), new WorkforceOptions()));
        await sim.StartAsync();

        var services = new ServiceCollection()
            .AddSingleton<IObjectStore>(objects)
            .AddSingleton<ILabelingMetrics>(NullLabelingMetrics.Instance)
            .AddSingleton<ISigningCredentialsSource>(new StaticCredentialsSource(new SigningCredentials(AccessKey, Secret)))
            .AddLabeling(new LabelingOptions
            {
                IncomingBucket = _incoming,
                DataBucket = _data,
                TableName = _table,
                DynamoDbEndpoint = _table is null ? null : DynamoDbTestServer.Endpoint,
                PendingDbPath = _dir.File("pending.db"),
                S3Endpoint = S3TestServer.Endpoint,
                SageMakerEndpoint = sim.Endpoint.ToString(),
                WorkteamArn = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/parts-team",
                GroundTruthRoleArn = "arn:aws:iam::123456789012:role/GroundTruthRole",
                ClassNames = Classes,
                Batching = new BatchingPolicy { MinItems = 3 },
            })
            .BuildServiceProvider();
        Assert.IsType(backend == "dynamodb" ? typeof(DynamoDbPendingStore) : typeof(SqlitePendingStore), services.GetRequiredService<IPendingStore>());
        return new Pipeline(services, sim, objects);
    }

    /// <summary>Uploads <paramref name="count"/> images with sidecars and delivers their events; the first <paramref name="known"/> have ground truth.</summary>
    private async Task<List<string>> IngestAsync(Pipeline p, int count, int known)
    {
        var captured = DateTimeOffset.UtcNow;
        var keys = new List<string>();
        var events = new List<(string, long)>();
        for (var n = 0; n < count; n++)
        {
            var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("cloud-image-" + n)));
            var key = ObjectKeyLayout.ImageKey(Thing, captured, sha, "jpg");
            keys.Add(key);
            if (n < known)
            {
                _truth[sha] = [new PixelBox(0, 10, 10, 40, 40, 1), new PixelBox(1, 200, 100, 30, 30, 1)];
            }

            var sidecar = new ReviewRecord
            {
                ImageSha256 = sha,
                ImageKey = key,
                ThingName = Thing,
                CaptureTime = captured,
                ImageSize = new ImageSizeDto { Width = 640, Height = 480 },
                Outcome = "human-review",
                Reason = "uncertain",
                ClassNames = Classes,
                PreAnnotations = [new PreAnnotation { ClassId = 0, Left = 12, Top = 9, Width = 39, Height = 41, Confidence = 0.42 }],
                Provenance = new Provenance { Source = "model", ModelSha256 = new string('c', 64), Device = Thing },
            }.ToUtf8Json();
            await p.Objects.PutBytesAsync(_incoming, key, Encoding.UTF8.GetBytes("jpeg " + n), "image/jpeg");
            await p.Objects.PutBytesAsync(_incoming, ObjectKeyLayout.SidecarKey(key), sidecar, "application/json");
            events.Add((key, 6));
            events.Add((ObjectKeyLayout.SidecarKey(key), sidecar.Length));
        }

        var ingest = new IngestFunction(p.Services);
        var response = await LabelingPipelineRgwTests.Invoke(ingest.HandleAsync, LabelingPipelineRgwTests.SqsEvent(_incoming, [.. events]), LabelingJsonContext.Default.SqsBatchResponse);
        Assert.Empty(response.BatchItemFailures);
        return keys;
    }

    private static async Task<BatchRunReport> RunBatcherAsync(Pipeline p) =>
        await LabelingPipelineRgwTests.Invoke(new BatchFunction(p.Services).HandleAsync,
            LabelingPipelineRgwTests.ScheduledEvent("2026-11-26T09:00:00Z"),
            LabelingJsonContext.Default.BatchRunReport);

    /// <summary>Delivers the last state-change event to the merge handler as the merge queue does; returns the job's done marker.</summary>
    private async Task<MergeDoneMarker> MergeLastEventAsync(Pipeline p)
    {
        string last;
        lock (_events)
        {
            last = _events[^1];
        }

        var sqs = new SqsEvent { Records = [new SqsMessage { MessageId = Guid.NewGuid().ToString(), Body = last, EventSource = "aws:sqs" }] };
        await using var output = await new MergeFunction(p.Services).HandleAsync(new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(sqs, LabelingJsonContext.Default.SqsEvent)));
        Assert.Empty(JsonSerializer.Deserialize(output, LabelingJsonContext.Default.SqsBatchResponse)!.BatchItemFailures);
        var job = JobStateChangeEvent.Parse(Encoding.UTF8.GetBytes(last)).JobName;
        var marker = await p.Objects.ReadBytesAsync(_data, DatasetKeys.JobDoneKey(LabelingConventions.DefaultDatasetAttribute, job));
        return JsonSerializer.Deserialize(marker!, MergeJsonContext.Default.MergeDoneMarker)!;
    }

    private static async Task<Dictionary<string, PendingItem>> ItemsAsync(IPendingStore store, IEnumerable<string> keys)
    {
        var items = new Dictionary<string, PendingItem>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            items[key] = (await store.GetItemAsync(key))!;
        }

        return items;
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("dynamodb")]
    public async Task Pipeline_JobCompletes_LabeledItemsDoneUnlabeledBackToPendingBudgetRefunded(string backend)
    {
        await using var p = await StartAsync(backend);
        var keys = await IngestAsync(p, count: 9, known: 6);
        var before = await ItemsAsync(p.Store, keys);

        var job = Assert.Single((await RunBatcherAsync(p)).Jobs);
        Assert.Equal(9, job.Items);
        var batch = (await p.Store.GetBatchAsync(job.JobName))!;
        Assert.Equal((BatchStatus.Created, 9), (batch.Status, batch.ItemCount));
        Assert.Equal(9, (await p.Store.GetBatchItemsAsync(batch.BatchId)).Count);
        Assert.Equal(new BudgetState(batch.Month, 9, batch.ForecastUsd), await p.Store.GetBudgetAsync(batch.Month));

        Assert.Equal(SimulatedJobStatus.Completed, await p.Simulator.CompleteJobAsync(job.JobName));
        var result = await MergeLastEventAsync(p);

        Assert.Equal((MergeResult.Merged, 6, 3), (result.Outcome, result.Labeled, result.ReturnedItems));
        var after = await ItemsAsync(p.Store, keys);
        Assert.Equal(6, after.Values.Count(i => i.Status == PendingStatus.Done));
        var back = after.Values.Where(i => i.Status == PendingStatus.Pending).ToList();
        Assert.Equal(3, back.Count);
        // Items returned unlabeled keep their original waiting time and leave the batch.
        Assert.All(back, i => Assert.Equal(before[i.ImageKey].PendingSince, i.PendingSince));
        Assert.All(back, i => Assert.Null(i.BatchId));
        Assert.Equal(new PendingSummary(3, back.Min(i => i.PendingSince)), await p.Store.GetPendingSummaryAsync());
        Assert.Equal(6, (await p.Store.GetBatchItemsAsync(batch.BatchId)).Count);
        Assert.Equal(BatchStatus.Completed, (await p.Store.GetBatchAsync(job.JobName))!.Status);
        var budget = await p.Store.GetBudgetAsync(batch.Month);
        Assert.Equal(6, budget.Objects);
        Assert.Equal(batch.ForecastUsd - Math.Round(batch.ForecastUsd * 3 / 9, 6), budget.SpentUsd);
        var dataset = Encoding.UTF8.GetString((await p.Objects.ReadBytesAsync(_data, DatasetKeys.JobShardKey(LabelingConventions.DefaultDatasetAttribute, job.JobName)))!);
        Assert.Equal(6, dataset.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        // The completion event delivered again changes nothing.
        Assert.Equal(result, await MergeLastEventAsync(p));
        Assert.Equal(budget, await p.Store.GetBudgetAsync(batch.Month));
        Assert.Equal(3, (await p.Store.GetPendingSummaryAsync()).Count);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("dynamodb")]
    public async Task Pipeline_JobFails_AllItemsBackToPendingWithOriginalTimeAndBudgetFullyRefunded(string backend)
    {
        await using var p = await StartAsync(backend);
        var keys = await IngestAsync(p, count: 4, known: 4);
        var before = await ItemsAsync(p.Store, keys);

        var job = Assert.Single((await RunBatcherAsync(p)).Jobs);
        var batch = (await p.Store.GetBatchAsync(job.JobName))!;
        await p.Simulator.FailJobAsync(job.JobName, "ClientError: the work team was deleted");
        var result = await MergeLastEventAsync(p);

        Assert.Equal(4, result.ReturnedItems);
        Assert.Equal(BatchStatus.Failed, (await p.Store.GetBatchAsync(job.JobName))!.Status);
        var after = await ItemsAsync(p.Store, keys);
        Assert.All(after.Values, i => Assert.Equal((PendingStatus.Pending, before[i.ImageKey].PendingSince), (i.Status, i.PendingSince)));
        Assert.Equal(before.Values.Min(i => i.PendingSince), await p.Store.GetOldestPendingSinceAsync());
        Assert.Empty(await p.Store.GetBatchItemsAsync(batch.BatchId));
        Assert.Equal(new BudgetState(batch.Month, 0, 0m), await p.Store.GetBudgetAsync(batch.Month));

        // Nobody labeled anything: the job could not run (role, CORS, team). The next run waits out the
        // persisted back-off instead of making the same failing job again; after it, the images go into a new job.
        var waiting = await RunBatcherAsync(p);
        Assert.Equal((BatchDecisions.CreationBackoff, 0), (waiting.Decision, waiting.Jobs.Count));
        var backoff = (await p.Store.GetCreationBackoffAsync())!;
        Assert.Contains("work team was deleted", backoff.Reason, StringComparison.Ordinal);
        var retry = Assert.Single((await LabelingPipelineRgwTests.Invoke(new BatchFunction(p.Services).HandleAsync,
            $$"""{"now":"{{backoff.NextAttemptAt.AddMinutes(1):O}}"}""", LabelingJsonContext.Default.BatchRunReport)).Jobs);
        Assert.NotEqual(job.JobName, retry.JobName);
        Assert.Equal(4, retry.Items);
        Assert.Null(await p.Store.GetCreationBackoffAsync());
    }
}
