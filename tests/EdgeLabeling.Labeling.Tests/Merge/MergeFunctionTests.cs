using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Lambdas;
using EdgeLabeling.Simulation.LocalCloud;
using EdgeLabeling.Storage;
using Microsoft.Extensions.DependencyInjection;
using static EdgeLabeling.Labeling.Tests.Merge.OutputFixtures;

namespace EdgeLabeling.Labeling.Tests.Merge;

public sealed class MergeFunctionTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly FileSystemObjectStore _store;
    private readonly InMemoryJobItemsLedger _ledger = new();
    private readonly InMemoryJobOutputLocator _outputs = new();
    private readonly MergeFunction _function;

    public MergeFunctionTests()
    {
        _store = new FileSystemObjectStore(Path.Combine(_dir.Path, "store"));
        var services = new ServiceCollection()
            .AddSingleton<IObjectStore>(_store)
            .AddSingleton<IJobItemsLedger>(_ledger)
            .AddSingleton<IJobOutputLocator>(_outputs)
            .AddLabelingMerge(new MergeOptions { DataBucket = Bucket, WorkDirectory = Path.Combine(_dir.Path, "work") })
            .BuildServiceProvider();
        _function = new MergeFunction(services);
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>The SQS event the merge queue's event source mapping hands the function: each body is one EventBridge event.</summary>
    private static byte[] SqsEvent(params (string Id, byte[] Body)[] messages)
    {
        var events = new AwsEventFactory("us-east-1", "123456789012");
        var sent = DateTimeOffset.FromUnixTimeMilliseconds(1764144000000);
        var records = new JsonArray();
        foreach (var (id, body) in messages)
        {
            var message = events.SqsMessage(Encoding.UTF8.GetString(body), sent, queue: "edgelabeling-merge");
            // The tests name the messages, so the batch item failures can be matched to them.
            message["messageId"] = id;
            records.Add(message);
        }

        return Encoding.UTF8.GetBytes(new JsonObject { ["Records"] = records }.ToJsonString());
    }

    private async Task<SqsBatchResponse> InvokeAsync(byte[] payload)
    {
        await using var output = await _function.HandleAsync(new MemoryStream(payload));
        return (await JsonSerializer.DeserializeAsync(output, LabelingJsonContext.Default.SqsBatchResponse))!;
    }

    private void GivenJob(string job, params int[] items)
    {
        _ledger.AddJob(job, items.Select(SourceRef));
        _outputs.Set(job, new JobOutputReport("Completed", $"s3://{Bucket}/{LabelingConventions.JobOutputManifestKey(job)}", null, null));
    }

    [Fact]
    public async Task HandleAsync_SqsBatchWithCompletedEvent_MergesAndReportsNoFailures()
    {
        GivenJob(Job, 1, 2);
        await PutLinesAsync(_store, LabelingConventions.JobOutputManifestKey(Job), [RealStyle(1), Empty(2)]);

        var response = await InvokeAsync(SqsEvent(("m-1", Event("Completed"))));

        Assert.Empty(response.BatchItemFailures);
        Assert.Equal(InMemoryJobItemsLedger.ItemState.Labeled, _ledger.StateOf(SourceRef(2)));
        Assert.NotNull(await _store.HeadAsync(Bucket, DatasetKeys.JobShardKey("parts", Job)));
        Assert.NotNull(await _store.HeadAsync(Bucket, DatasetKeys.IndexKey("parts")));
    }

    [Fact]
    public async Task HandleAsync_OutputNotThereYet_ReportsOnlyThatMessageForRedelivery()
    {
        const string late = "edgelabel-batch-20261126-0002";
        GivenJob(Job, 1);
        GivenJob(late, 2);
        await PutLinesAsync(_store, LabelingConventions.JobOutputManifestKey(Job), [RealStyle(1)]);

        var response = await InvokeAsync(SqsEvent(("m-1", Event("Completed")), ("m-2", Event("Completed", late))));

        Assert.Equal(["m-2"], response.BatchItemFailures.Select(f => f.ItemIdentifier));
        Assert.Equal(InMemoryJobItemsLedger.ItemState.Labeled, _ledger.StateOf(SourceRef(1)));
        Assert.Equal(InMemoryJobItemsLedger.ItemState.InJob, _ledger.StateOf(SourceRef(2)));

        // The redelivery after the output arrived settles it.
        await PutLinesAsync(_store, LabelingConventions.JobOutputManifestKey(late), [DocsStyle(2, late)]);
        var again = await InvokeAsync(SqsEvent(("m-2", Event("Completed", late))));

        Assert.Empty(again.BatchItemFailures);
        Assert.Equal(InMemoryJobItemsLedger.ItemState.Labeled, _ledger.StateOf(SourceRef(2)));
    }

    [Fact]
    public async Task HandleAsync_OtherPeoplesJob_IsAnsweredNotRetried()
    {
        var response = await InvokeAsync(SqsEvent(("m-1", Event("Failed", "someone-elses-job"))));

        Assert.Empty(response.BatchItemFailures);
    }

    [Theory]
    [InlineData("""{"source":"aws.events","detail-type":"Scheduled Event","resources":[],"detail":{}}""")]
    [InlineData("""not json""")]
    public async Task HandleAsync_BodyNotAJobStateChange_IsRejectedInsteadOfRetried(string body)
    {
        var response = await InvokeAsync(SqsEvent(("m-1", Encoding.UTF8.GetBytes(body))));

        Assert.Empty(response.BatchItemFailures);
    }

    [Theory]
    [InlineData("""{"source":"aws.sagemaker","detail-type":"SageMaker Ground Truth Labeling Job State Change","resources":[],"detail":{}}""")]
    [InlineData("""[1,2]""")]
    public async Task HandleAsync_PayloadNotAnSqsEvent_ThrowsNamingIt(string payload)
    {
        var ex = await Assert.ThrowsAsync<FormatException>(() => _function.HandleAsync(new MemoryStream(Encoding.UTF8.GetBytes(payload))));

        Assert.StartsWith("merge-input-not-sqs", ex.Message, StringComparison.Ordinal);
    }
}
