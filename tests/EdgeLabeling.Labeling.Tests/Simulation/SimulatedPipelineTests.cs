using System.Text;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Simulation;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Tests.Simulation;

/// <summary>Simulator → state-change event → merge, all in one process over the local object store.</summary>
public sealed class SimulatedPipelineTests
{
    [Fact]
    public async Task CompletedEvent_FedToTheMerger_BuildsTheDatasetAndReturnsExpiredItems()
    {
        await using var h = await SimulatorHarness.StartAsync(new WorkforceOptions { ExpiredFraction = 0.25, Seed = 3 });
        await h.GivenInputAsync("job-e2e", 20);
        var ledger = new InMemoryJobItemsLedger();
        ledger.AddJob("job-e2e", Enumerable.Range(1, 20).Select(SimulatorHarness.SourceRef));
        await h.Store.PutBytesAsync(SimulatorHarness.Bucket, LabelingConventions.AutoLabelBatchKey("site-a-cam1", DateTimeOffset.UtcNow, new string('e', 64)),
            Encoding.UTF8.GetBytes(string.Join("\n", Enumerable.Range(1, 30).Select(i => Tests.Merge.OutputFixtures.Auto(i))) + "\n"), "application/jsonlines");
        using var http = new HttpClient();
        var describe = new SageMakerJobOutputLocator(new SageMakerJsonClient(http, new SageMakerClientOptions { Region = "us-east-1", Endpoint = h.Simulator.Endpoint, MaxAttempts = 1 },
            new StaticCredentialsSource(new SigningCredentials(SimulatorHarness.AccessKey, SimulatorHarness.Secret))));
        var merger = new DatasetMerger(h.Store, ledger, new MergeOptions { DataBucket = SimulatorHarness.Bucket, WorkDirectory = Path.Combine(h.Root, "merge") }, new DatasetBuilder(), outputs: describe);
        await h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-e2e"));

        await h.Simulator.CompleteJobAsync("job-e2e");
        var result = await merger.MergeAsync(Encoding.UTF8.GetBytes(h.Events.Single()));

        Assert.Equal(MergeResult.Merged, result.Outcome);
        Assert.InRange(result.Labeled, 10, 19);
        Assert.Equal(20 - result.Labeled, result.ReturnedItems);
        var pending = Enumerable.Range(1, 20).Count(i => ledger.StateOf(SimulatorHarness.SourceRef(i)) == InMemoryJobItemsLedger.ItemState.Pending);
        Assert.Equal(result.ReturnedItems, pending);

        // 30 auto-labeled images; the human-labeled ones among them (1..20) win.
        var export = await merger.ExportDatasetAsync(new DatasetExportRequest { Directory = Path.Combine(h.Root, "export") });
        var dataset = File.ReadAllLines(export.ManifestPath).Select(l => GroundTruthManifest.Parse(l, "parts")).ToList();
        Assert.Equal(30, dataset.Count);
        Assert.Equal(result.Labeled, dataset.Count(d => d.HumanAnnotated));
        Assert.Equal(result.Labeled, export.Report.HumanOverModel);
        Assert.Equal(30, dataset.Select(d => d.SourceRef).Distinct().Count());
    }
}
