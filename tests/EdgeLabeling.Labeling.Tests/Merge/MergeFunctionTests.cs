using System.Text;
using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Lambdas;
using EdgeLabeling.Storage;
using Microsoft.Extensions.DependencyInjection;
using static EdgeLabeling.Labeling.Tests.Merge.OutputFixtures;

namespace EdgeLabeling.Labeling.Tests.Merge;

public sealed class MergeFunctionTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly FileSystemObjectStore _store;
    private readonly MergeFunction _function;

    public MergeFunctionTests()
    {
        _store = new FileSystemObjectStore(Path.Combine(_dir.Path, "store"));
        var services = new ServiceCollection()
            .AddSingleton<IObjectStore>(_store)
            .AddLabelingMerge(new MergeOptions { DataBucket = Bucket, WorkDirectory = Path.Combine(_dir.Path, "work") })
            .BuildServiceProvider();
        _function = new MergeFunction(services);
    }

    public void Dispose() => _dir.Dispose();

    private async Task<MergeResult> InvokeAsync(byte[] payload)
    {
        await using var output = await _function.HandleAsync(new MemoryStream(payload));
        return (await JsonSerializer.DeserializeAsync(output, MergeJsonContext.Default.MergeResult))!;
    }

    [Fact]
    public async Task HandleAsync_CompletedEvent_ReturnsTheMergeResultAsJson()
    {
        await PutLinesAsync(_store, LabelingConventions.JobOutputManifestKey(Job), [RealStyle(1), Empty(2)]);

        var result = await InvokeAsync(Event("Completed"));

        Assert.Equal(MergeResult.Merged, result.Outcome);
        Assert.Equal(Job, result.JobName);
        Assert.Equal(2, result.Labeled);
        Assert.Equal(2, result.Dataset!.HumanImages);
        Assert.NotNull(await _store.HeadAsync(Bucket, DatasetKeys.JobShardKey("parts", Job)));
        Assert.NotNull(await _store.HeadAsync(Bucket, DatasetKeys.IndexKey("parts")));
    }

    [Theory]
    [InlineData("""{"source":"aws.events","detail-type":"Scheduled Event","resources":[],"detail":{}}""", "unexpected-source")]
    [InlineData("""not json""", "malformed-event")]
    public async Task HandleAsync_NotAJobStateChange_IsRejectedWithANamedReasonInsteadOfRetried(string payload, string reason)
    {
        var result = await InvokeAsync(Encoding.UTF8.GetBytes(payload));

        Assert.Equal(MergeResult.Rejected, result.Outcome);
        Assert.Equal(reason, result.Reason);
    }
}
