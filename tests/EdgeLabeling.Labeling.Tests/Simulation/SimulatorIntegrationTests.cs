using System.Net;
using System.Text;
using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Lambdas;
using EdgeLabeling.Simulation;
using EdgeLabeling.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeLabeling.Labeling.Tests.Simulation;

[Trait("Category", "Integration")]
public sealed class SimulatorIntegrationTests
{
    private static SageMakerJsonClient Client(GroundTruthSimulator sim, HttpClient http, string secret = SimulatorHarness.Secret) =>
        new(http, new SageMakerClientOptions { Region = "us-east-1", Endpoint = sim.Endpoint, MaxAttempts = 1 },
            new StaticCredentialsSource(new SigningCredentials(SimulatorHarness.AccessKey, secret)));

    private static CreateLabelingJobRequest TypedRequest(string job) =>
        SimulatorHarness.ValidRequest(job).Deserialize(LabelingJsonContext.Default.CreateLabelingJobRequest)!;

    [Fact]
    public async Task SageMakerJsonClient_SignedRequests_AreAcceptedForEveryOperation()
    {
        await using var h = await SimulatorHarness.StartAsync();
        using var http = new HttpClient();
        var client = Client(h.Simulator, http);

        var created = await client.CreateLabelingJobAsync(TypedRequest("client-job-1"));
        var described = await client.DescribeLabelingJobAsync("client-job-1");
        var listed = await client.ListLabelingJobsAsync(new ListLabelingJobsRequest());
        await client.StopLabelingJobAsync("client-job-1");

        Assert.Equal("arn:aws:sagemaker:us-east-1:123456789012:labeling-job/client-job-1", created.LabelingJobArn);
        Assert.Equal("Initializing", described.LabelingJobStatus);
        Assert.NotNull(described.CreationTime);
        Assert.Single(listed.LabelingJobSummaryList!);
        Assert.True(h.Simulator.StatusOf("client-job-1") is SimulatedJobStatus.Stopping or SimulatedJobStatus.Stopped);
    }

    [Fact]
    public async Task SageMakerJsonClient_DuplicateNameInOtherCase_GetsResourceInUse()
    {
        await using var h = await SimulatorHarness.StartAsync();
        using var http = new HttpClient();
        var client = Client(h.Simulator, http);
        await client.CreateLabelingJobAsync(TypedRequest("Client-Dup"));

        await Assert.ThrowsAsync<SageMakerResourceInUseException>(() => client.CreateLabelingJobAsync(TypedRequest("client-dup")));
    }

    [Fact]
    public async Task SageMakerJsonClient_WrongSecret_GetsA403()
    {
        await using var h = await SimulatorHarness.StartAsync();
        using var http = new HttpClient();
        var client = Client(h.Simulator, http, secret: "wrong-secret");

        var ex = await Assert.ThrowsAnyAsync<SageMakerException>(() => client.DescribeLabelingJobAsync("x"));

        Assert.Equal(HttpStatusCode.Forbidden, ex.StatusCode);
        Assert.Equal("InvalidSignatureException", ex.ErrorCode);
    }

    /// <summary>
    /// The whole cloud half against radosgw: the batcher claims items and creates a job on the simulator
    /// through its signed client, the simulated workforce writes Ground Truth output into the radosgw
    /// bucket, and the merge handler reads it from there and writes the dataset there.
    /// </summary>
    [Fact]
    public async Task MergeFunction_SimulatedJobOutputInRadosgw_WritesDatasetThereAndSettlesItems()
    {
        await using var bucket = await RadosgwBucket.CreateAsync("h6-sim");
        using var work = new TempDir();
        var truth = new Dictionary<string, IReadOnlyList<PixelBox>>();
        var events = new List<string>();
        await using var sim = new GroundTruthSimulator(
            new GroundTruthSimulatorOptions
            {
                AccessKeyId = SimulatorHarness.AccessKey,
                SecretAccessKey = SimulatorHarness.Secret,
                WorkDirectory = Path.Combine(work.Path, "sim"),
                OnJobStateChange = (e, _) =>
                {
                    events.Add(e);
                    return Task.CompletedTask;
                },
            },
            new SimulatedWorkforce(bucket.Store, new DictionaryOracle(truth), new WorkforceOptions()));
        await sim.StartAsync();

        var services = new ServiceCollection()
            .AddSingleton<IObjectStore>(bucket.Store)
            .AddSingleton<ISigningCredentialsSource>(new StaticCredentialsSource(new SigningCredentials(SimulatorHarness.AccessKey, SimulatorHarness.Secret)))
            .AddLabeling(new LabelingOptions
            {
                DataBucket = bucket.Name,
                PendingDbPath = Path.Combine(work.Path, "pending.db"),
                SageMakerEndpoint = sim.Endpoint.ToString(),
                WorkteamArn = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/parts-team",
                GroundTruthRoleArn = "arn:aws:iam::123456789012:role/GroundTruthRole",
                ClassNames = ["bolt", "nut", "washer"],
            })
            .BuildServiceProvider();
        var pending = services.GetRequiredService<IPendingStore>();
        var now = DateTimeOffset.UtcNow;
        var keys = new List<string>();
        for (var i = 1; i <= 12; i++)
        {
            var sha = SimulatorHarness.Sha(1000 + i);
            var key = ObjectKeyLayout.ImageKey("site-a-cam1", now, sha, "jpg");
            keys.Add(key);
            if (i <= 8)
            {
                // The workforce cannot answer for the other four: they come back without a label.
                truth[sha] = [new PixelBox(0, 10, 10, 40, 40, 1), new PixelBox(1, 200, 100, 30, 30, 1)];
            }

            var payload = new PendingPayload
            {
                ImageSize = new ImageSizeDto { Width = 640, Height = 480 },
                ClassNames = ["bolt", "nut", "washer"],
                PreAnnotations = [new PreAnnotation { ClassId = 0, Left = 12, Top = 9, Width = 39, Height = 41, Confidence = 0.42 }],
                ModelSha256 = "feedface",
                Reason = "uncertain-box",
            };
            await pending.RegisterImageAsync(new ImageArrival(key, bucket.Name, "site-a-cam1", now));
            await pending.RegisterSidecarAsync(new SidecarArrival(key, bucket.Name, "site-a-cam1", payload, now));
        }

        var plan = await services.GetRequiredService<BatchPlanner>().PlanAsync(flush: true, now: now);
        var job = Assert.Single(plan.Jobs);
        Assert.Equal(SimulatedJobStatus.Completed, await sim.CompleteJobAsync(job.JobName));
        var response = await InvokeMergeAsync(services, events.Single());
        Assert.Empty(response.BatchItemFailures);
        var result = await DoneMarkerAsync(bucket, job.JobName);

        Assert.Equal(MergeResult.Merged, result.Outcome);
        Assert.Equal(8, result.Labeled);
        Assert.Equal(4, result.ReturnedItems);
        await services.GetRequiredService<DatasetExporter>().ExportAsync(new DatasetExportRequest { Directory = Path.Combine(work.Path, "export"), Upload = true });
        var dataset = Encoding.UTF8.GetString((await bucket.Store.ReadBytesAsync(bucket.Name, DatasetKeys.DatasetManifestKey("parts")))!)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => GroundTruthManifest.Parse(l, "parts")).ToList();
        Assert.Equal(result.Labeled, dataset.Count);
        Assert.All(dataset, d => Assert.Equal(job.JobName, d.JobName));
        Assert.All(dataset, d =>
        {
            // Provenance made it from the sidecar, through the batcher's input line and Ground Truth, to the dataset.
            var p = d.Raw[DatasetProvenance.Key]!;
            Assert.Equal("human", p["source"]!.GetValue<string>());
            Assert.Equal("feedface", p["model-sha256"]!.GetValue<string>());
            Assert.Equal("uncertain-box", p["edge-reason"]!.GetValue<string>());
            Assert.Equal("site-a-cam1", p["device"]!.GetValue<string>());
        });
        using var coco = JsonDocument.Parse((await bucket.Store.ReadBytesAsync(bucket.Name, DatasetKeys.CocoKey("parts")))!);
        Assert.Equal(result.Labeled, coco.RootElement.GetProperty("images").GetArrayLength());

        var states = new List<PendingStatus>();
        foreach (var key in keys)
        {
            states.Add((await pending.GetItemAsync(key))!.Status);
        }

        Assert.Equal(result.Labeled, states.Count(s => s == PendingStatus.Done));
        Assert.Equal(result.ReturnedItems, states.Count(s => s == PendingStatus.Pending));
        Assert.Equal(BatchStatus.Completed, (await pending.GetBatchAsync(job.JobName))!.Status);

        var again = await services.GetRequiredService<MergeQueueProcessor>().ProcessAsync(SqsOf(events.Single()));
        Assert.Equal(MergeResult.AlreadyMerged, again.Results.Single().Outcome);
    }

    /// <summary>
    /// A job stopped part way, against radosgw: the simulator writes the answers given before the stop to
    /// the output location and reports it, holds the output back at first (Ground Truth's output lags the
    /// event), so the merge handler reports the message for redelivery; once the output is there the
    /// redelivery keeps the labeled items and returns only the rest to pending.
    /// </summary>
    [Fact]
    public async Task MergeFunction_StoppedJobWithLateOutput_RetriesThenKeepsWhatWasLabeled()
    {
        await using var bucket = await RadosgwBucket.CreateAsync("i9-stop");
        using var work = new TempDir();
        var truth = new Dictionary<string, IReadOnlyList<PixelBox>>();
        var stopped = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var sim = new GroundTruthSimulator(
            new GroundTruthSimulatorOptions
            {
                AccessKeyId = SimulatorHarness.AccessKey,
                SecretAccessKey = SimulatorHarness.Secret,
                WorkDirectory = Path.Combine(work.Path, "sim"),
                HoldOutputUntilReleased = true,
                OnJobStateChange = (e, _) =>
                {
                    if (e.Contains("\"Stopped\"", StringComparison.Ordinal))
                    {
                        stopped.TrySetResult(e);
                    }

                    return Task.CompletedTask;
                },
            },
            new SimulatedWorkforce(bucket.Store, new DictionaryOracle(truth), new WorkforceOptions()));
        await sim.StartAsync();
        var services = new ServiceCollection()
            .AddSingleton<IObjectStore>(bucket.Store)
            .AddSingleton<ISigningCredentialsSource>(new StaticCredentialsSource(new SigningCredentials(SimulatorHarness.AccessKey, SimulatorHarness.Secret)))
            .AddLabeling(new LabelingOptions
            {
                DataBucket = bucket.Name,
                PendingDbPath = Path.Combine(work.Path, "pending.db"),
                SageMakerEndpoint = sim.Endpoint.ToString(),
                WorkteamArn = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/parts-team",
                GroundTruthRoleArn = "arn:aws:iam::123456789012:role/GroundTruthRole",
                ClassNames = ["bolt", "nut", "washer"],
            })
            .BuildServiceProvider();
        var pending = services.GetRequiredService<IPendingStore>();
        var now = DateTimeOffset.UtcNow;
        var keys = new List<string>();
        for (var i = 1; i <= 10; i++)
        {
            var sha = SimulatorHarness.Sha(2000 + i);
            var key = ObjectKeyLayout.ImageKey("site-a-cam1", now, sha, "jpg");
            keys.Add(key);
            truth[sha] = [new PixelBox(0, 10, 10, 40, 40, 1)];
            var payload = new PendingPayload
            {
                ImageSize = new ImageSizeDto { Width = 640, Height = 480 },
                ClassNames = ["bolt", "nut", "washer"],
                PreAnnotations = [new PreAnnotation { ClassId = 0, Left = 12, Top = 9, Width = 39, Height = 41, Confidence = 0.42 }],
            };
            await pending.RegisterImageAsync(new ImageArrival(key, bucket.Name, "site-a-cam1", now));
            await pending.RegisterSidecarAsync(new SidecarArrival(key, bucket.Name, "site-a-cam1", payload, now));
        }

        var job = Assert.Single((await services.GetRequiredService<BatchPlanner>().PlanAsync(flush: true, now: now)).Jobs);
        sim.SetAnswered(job.JobName, 4);
        await services.GetRequiredService<ISageMakerClient>().StopLabelingJobAsync(job.JobName);
        var stopEvent = await stopped.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var described = await services.GetRequiredService<ISageMakerClient>().DescribeLabelingJobAsync(job.JobName);
        Assert.Equal("Stopped", described.LabelingJobStatus);
        Assert.NotNull(described.LabelingJobOutput?.OutputDatasetS3Uri);

        var early = await InvokeMergeAsync(services, stopEvent);
        Assert.Single(early.BatchItemFailures);
        foreach (var key in keys)
        {
            Assert.Equal(PendingStatus.Claimed, (await pending.GetItemAsync(key))!.Status);
        }

        Assert.True(await sim.ReleaseOutputAsync(job.JobName));
        var late = await InvokeMergeAsync(services, stopEvent);

        Assert.Empty(late.BatchItemFailures);
        var done = await DoneMarkerAsync(bucket, job.JobName);
        Assert.Equal("Stopped", done.Status);
        Assert.Equal(4, done.Labeled);
        Assert.Equal(6, done.ReturnedItems);
        var states = new List<PendingStatus>();
        foreach (var key in keys)
        {
            states.Add((await pending.GetItemAsync(key))!.Status);
        }

        Assert.Equal(4, states.Count(s => s == PendingStatus.Done));
        Assert.Equal(6, states.Count(s => s == PendingStatus.Pending));
        // The job's shard holds the four labeled lines (the joined dataset is built on demand by the export).
        Assert.Equal(4, Encoding.UTF8.GetString((await bucket.Store.ReadBytesAsync(bucket.Name, DatasetKeys.JobShardKey("parts", job.JobName)))!).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    private static EdgeLabeling.Labeling.Events.SqsEvent SqsOf(string body) =>
        new() { Records = [new EdgeLabeling.Labeling.Events.SqsMessage { MessageId = Guid.NewGuid().ToString(), Body = body, EventSource = "aws:sqs" }] };

    /// <summary>Invokes the merge handler with the state-change event as the merge queue delivers it.</summary>
    private static async Task<EdgeLabeling.Labeling.Events.SqsBatchResponse> InvokeMergeAsync(IServiceProvider services, string eventJson)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(SqsOf(eventJson), LabelingJsonContext.Default.SqsEvent);
        await using var output = await new MergeFunction(services).HandleAsync(new MemoryStream(payload));
        return (await JsonSerializer.DeserializeAsync(output, LabelingJsonContext.Default.SqsBatchResponse))!;
    }

    private static async Task<MergeDoneMarker> DoneMarkerAsync(RadosgwBucket bucket, string job) =>
        JsonSerializer.Deserialize((await bucket.Store.ReadBytesAsync(bucket.Name, DatasetKeys.JobDoneKey("parts", job)))!, MergeJsonContext.Default.MergeDoneMarker)!;
}
