using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Review.BuiltIn;
using EdgeLabeling.Review.Tasks;
using EdgeLabeling.Review.Tests.Support;
using EdgeLabeling.Simulation;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Review.Tests.BuiltIn;

/// <summary>
/// One job, two backends: the Ground Truth simulator with its workforce (through the real SigV4 client) and
/// the built-in backend with labelers who give the same answers and let the same tasks run out. The merge,
/// unchanged, must build the same dataset from either output and settle the same items.
/// </summary>
public sealed class BackendEquivalenceTests : IDisposable
{
    private const string Job = "job-same";
    private const int Images = 16;
    private readonly TempDir _dir = new();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private static Dictionary<string, IReadOnlyList<PixelBox>> Truth() =>
        Enumerable.Range(1, Images).ToDictionary(ReviewKit.Sha, ReviewKit.Truth);

    [Fact]
    public async Task SameJob_GroundTruthSimulatorAndBuiltIn_MergeIntoTheSameDataset()
    {
        // Ground Truth (simulated): a quarter of the tasks expire unanswered.
        var gtStore = new FileSystemObjectStore(_dir.File("gt"));
        await ReviewKit.GivenInputAsync(gtStore, Job, Images);
        var gtEvents = new ConcurrentQueue<string>();
        await using (var sim = new GroundTruthSimulator(
            new GroundTruthSimulatorOptions
            {
                AccessKeyId = "AKIAEQUIVALENCE00001",
                SecretAccessKey = "equivalence-secret-000000000000000000001",
                WorkDirectory = _dir.File("gt-work"),
                OnJobStateChange = (json, _) =>
                {
                    gtEvents.Enqueue(json);
                    return Task.CompletedTask;
                },
            },
            new SimulatedWorkforce(gtStore, new DictionaryOracle(Truth()), new WorkforceOptions { BoxJitterPixels = 0, ExpiredFraction = 0.25, Seed = 7 })))
        {
            await sim.StartAsync();
            using var http = new HttpClient();
            var client = new SageMakerJsonClient(http, new SageMakerClientOptions { Region = "us-east-1", Endpoint = sim.Endpoint },
                new StaticCredentialsSource(new SigningCredentials("AKIAEQUIVALENCE00001", "equivalence-secret-000000000000000000001")));
            await client.CreateLabelingJobAsync(ReviewKit.Request(Job));
            await sim.CompleteJobAsync(Job);
        }

        var gtOutput = await ReadLinesAsync(gtStore, LabelingConventions.JobOutputManifestKey(Job));
        var answered = gtOutput.Where(l => JsonNode.Parse(l)!["parts-human"] is not null).Select(l => JsonNode.Parse(l)!["source-ref"]!.GetValue<string>()).ToHashSet();
        Assert.InRange(answered.Count, 1, Images - 1);

        // Built-in: five labelers answer the same images with the same boxes; the rest are released and run out.
        var biStore = new FileSystemObjectStore(_dir.File("builtin"));
        await ReviewKit.GivenInputAsync(biStore, Job, Images);
        var clock = new ManualClock(ReviewKit.T0);
        var biEvents = new ConcurrentQueue<string>();
        var service = new BuiltInLabelingService(new SqliteReviewTaskStore(_dir.File("review.db")), biStore,
            new CallbackJobStateChangePublisher((json, _) =>
            {
                biEvents.Enqueue(json);
                return Task.CompletedTask;
            }), new ReviewOptions { AccountId = "123456789012" }, clock);
        await service.CreateLabelingJobAsync(ReviewKit.Request(Job, availabilitySeconds: 3600));
        var workers = Enumerable.Range(0, 5).Select(i => ReviewKit.Worker("w" + i)).ToArray();
        var held = 0;
        for (var turn = 0; ; turn++)
        {
            var now = clock.GetUtcNow();
            var w = workers[turn % workers.Length];
            var t = await service.Store.LeaseNextAsync(Job, w, now, now.AddMinutes(5));
            if (t is null)
            {
                break;
            }

            if (answered.Contains(t.SourceRef))
            {
                var r = await service.Store.SubmitAsync(Job, t.Index, w, t.LeaseId!, now.AddSeconds(10), ReviewKit.Answer(ReviewKit.TruthAnswer(t.Index + 1)));
                Assert.Equal(TaskChange.Ok, r.Outcome);
                await service.CompleteIfDoneAsync(Job);
            }
            else
            {
                // Opened and never answered: the lease goes to someone who walks away, so the task runs out.
                Assert.Equal(TaskChange.Ok, (await service.Store.ReleaseAsync(Job, t.Index, w, t.LeaseId!, now)).Outcome);
                Assert.NotNull(await service.Store.LeaseNextAsync(Job, ReviewKit.Worker("walked-away-" + held++), now, now.AddMinutes(50)));
            }
        }

        Assert.Equal(Images - answered.Count, held);
        Assert.Empty(biEvents);
        clock.Advance(TimeSpan.FromHours(2));
        await service.SweepAsync();

        // The merge finds each job's output the way it does in AWS: DescribeLabelingJob. The built-in job is described
        // by the built-in service itself; the simulator is gone by now, so its report is stated as it gave it.
        var gtOutputs = new InMemoryJobOutputLocator();
        gtOutputs.Set(Job, new JobOutputReport("Completed", $"s3://{ReviewKit.Bucket}/{LabelingConventions.JobOutputManifestKey(Job)}", null, answered.Count));
        var (gtResult, gtDataset, gtLedger) = await MergeAsync(gtStore, gtEvents.Single(), gtOutputs);
        var (biResult, biDataset, biLedger) = await MergeAsync(biStore, biEvents.Single(), new SageMakerJobOutputLocator(service));

        Assert.Equal(MergeResult.Merged, biResult.Outcome);
        Assert.Equal((gtResult.Outcome, gtResult.Status, gtResult.Labeled, gtResult.ReturnedItems, gtResult.OutputLines), (biResult.Outcome, biResult.Status, biResult.Labeled, biResult.ReturnedItems, biResult.OutputLines));
        Assert.Equal(answered.Count, biResult.Labeled);
        Assert.Equal(gtDataset.Keys.Order(), biDataset.Keys.Order());
        foreach (var (sourceRef, gt) in gtDataset)
        {
            var bi = biDataset[sourceRef];
            Assert.Equal(gt.Boxes, bi.Boxes);
            Assert.Equal(gt.Size, bi.Size);
            Assert.Equal(gt.HumanAnnotated, bi.HumanAnnotated);
            Assert.Equal(gt.ClassMap, bi.ClassMap);
            Assert.Equal(gt.JobName, bi.JobName);
        }

        foreach (var i in Enumerable.Range(1, Images))
        {
            Assert.Equal(gtLedger.StateOf(ReviewKit.SourceRef(i)), biLedger.StateOf(ReviewKit.SourceRef(i)));
        }
    }

    private async Task<(MergeResult Result, Dictionary<string, ManifestLabel> Dataset, InMemoryJobItemsLedger Ledger)> MergeAsync(IObjectStore store, string eventJson, IJobOutputLocator outputs)
    {
        var ledger = new InMemoryJobItemsLedger();
        ledger.AddJob(Job, Enumerable.Range(1, Images).Select(ReviewKit.SourceRef));
        var merger = new DatasetMerger(store, ledger, new MergeOptions { DataBucket = ReviewKit.Bucket, WorkDirectory = _dir.File("merge-" + Guid.NewGuid().ToString("N")) }, new DatasetBuilder(), outputs: outputs);
        var result = await merger.MergeAsync(Encoding.UTF8.GetBytes(eventJson));
        // The merge writes each job's lines to its own shard (the whole dataset is exported on demand).
        var dataset = (await ReadLinesAsync(store, DatasetKeys.JobShardKey("parts", Job))).Select(l => GroundTruthManifest.Parse(l, "parts")).ToDictionary(l => l.SourceRef);
        return (result, dataset, ledger);
    }

    private static async Task<string[]> ReadLinesAsync(IObjectStore store, string key) =>
        Encoding.UTF8.GetString((await store.ReadBytesAsync(ReviewKit.Bucket, key))!).Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
