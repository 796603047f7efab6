using System.Text;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.IntegrationTests.Infrastructure;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Storage;

namespace EdgeLabeling.IntegrationTests.Pending;

/// <summary>
/// A bad model's automatic labels go back to people: auto-label manifests as the edge writes them (two models, one device),
/// auto-labeled images uploaded for some, a job shard where people already answered one image. Run on the local stores
/// (folder + SQLite) and on the cloud stores (radosgw + dynalite).
/// </summary>
public abstract class ModelRequeueContract
{
    protected const string Bad = "badbad0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
    protected const string Good = "600d600d0123456789abcdef0123456789abcdef0123456789abcdef01234567";
    private static readonly DateTimeOffset Capture = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly string[] Classes = ["bolt", "nut"];

    protected abstract Task<(IObjectStore Store, IPendingStore Pending, string Incoming, string Data)> OpenAsync();

    private static string Sha(int n) => n.ToString("x64");

    private static string AutoKey(int n) => LabelingConventions.AutoLabeledImageKey("cam-a", Capture.AddMinutes(n), Sha(n), "jpg");

    private static string IncomingKey(int n) => ObjectKeyLayout.ImageKey("cam-a", Capture.AddMinutes(n), Sha(n), "jpg");

    private static string AutoLine(string bucket, int n, string model) => GroundTruthManifest.BuildLine(
        $"s3://{bucket}/{AutoKey(n)}", "parts", new ImageSize(640, 480, 3), [new PixelBox(n % 2, 10 + n, 20, 50, 40, 0.9)], Classes, humanAnnotated: false,
        LabelingConventions.EdgeAutoLabelJobName("cam-a"), Capture.AddMinutes(n),
        [KeyValuePair.Create<string, JsonNode?>(DatasetProvenance.Key, new JsonObject { ["source"] = "model", ["device"] = "cam-a", ["model-sha256"] = model })]).ToJsonString();

    /// <summary>Bad model: images 1-4 (1-3 uploaded, 3 answered by people, 4 never uploaded); good model: images 5-6.</summary>
    private static async Task GivenHistoryAsync(IObjectStore store, string incoming, string data)
    {
        var lines = new[] { AutoLine(incoming, 1, Bad), AutoLine(incoming, 2, Bad), AutoLine(incoming, 3, Bad), AutoLine(incoming, 4, Bad), AutoLine(incoming, 5, Good), AutoLine(incoming, 6, Good) };
        await store.PutBytesAsync(incoming, LabelingConventions.AutoLabelBatchKey("cam-a", Capture, new string('c', 64)), Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"), "application/jsonlines");
        foreach (var n in new[] { 1, 2, 3, 5, 6 })
        {
            await store.PutBytesAsync(incoming, AutoKey(n), Encoding.UTF8.GetBytes($"jpeg bytes of image {n}"), "image/jpeg");
        }

        var human = GroundTruthManifest.BuildLine($"s3://{incoming}/{AutoKey(3)}", "parts", new ImageSize(640, 480, 3), [new PixelBox(1, 13, 20, 50, 40, 1)], Classes,
            humanAnnotated: true, "labeling-job/edgelabel-review-1", Capture.AddHours(3)).ToJsonString();
        await store.PutBytesAsync(data, DatasetKeys.JobShardKey("parts", "edgelabel-review-1"), Encoding.UTF8.GetBytes(human + "\n"), "application/jsonlines");
    }

    private static ModelRequeue Requeue(IObjectStore store, IPendingStore pending, string incoming, string data) => new(store, pending,
        new MergeOptions { DataBucket = data, DatasetAttribute = "parts", AutoLabelBuckets = [incoming, data] },
        new LabelingOptions { IncomingBucket = incoming, DataBucket = data, ClassNames = Classes }, TimeProvider.System);

    [Fact]
    public async Task Requeue_BadModel_UploadedUnansweredImagesGoBackToPeopleAndTheRestAreNamed()
    {
        var (store, pending, incoming, data) = await OpenAsync();
        await GivenHistoryAsync(store, incoming, data);

        var result = await Requeue(store, pending, incoming, data).RequeueAsync(Bad[..12], 1000);

        Assert.Equal(Bad, result.Model);
        Assert.Equal(3, result.AutoLabels);
        Assert.Equal(2, result.Requeued);
        Assert.Equal(0, result.AlreadyQueued);
        var refused = Assert.Single(result.Refused);
        Assert.Equal($"s3://{incoming}/{AutoKey(4)}", refused.SourceRef);
        Assert.Contains("never uploaded", refused.Reason, StringComparison.Ordinal);
        foreach (var n in new[] { 1, 2 })
        {
            var item = await pending.GetItemAsync(IncomingKey(n));
            Assert.NotNull(item);
            Assert.Equal(PendingStatus.Pending, item.Status);
            Assert.Equal(incoming, item.Bucket);
            Assert.Equal("cam-a", item.ThingName);
            Assert.Equal(ModelRequeue.Reason, item.Payload!.Reason);
            Assert.Equal(Bad, item.Payload.ModelSha256);
            var box = Assert.Single(item.Payload.PreAnnotations);
            Assert.Equal((n % 2, 10.0 + n, 0.9), (box.ClassId, box.Left, box.Confidence));
            Assert.Equal(Classes, item.Payload.ClassNames);
            Assert.Equal($"jpeg bytes of image {n}", Encoding.UTF8.GetString((await store.ReadBytesAsync(incoming, IncomingKey(n)))!));
        }

        Assert.Null(await pending.GetItemAsync(IncomingKey(3)));
        Assert.Null(await pending.GetItemAsync(IncomingKey(5)));
        Assert.Equal(2, (await pending.GetPendingSummaryAsync()).Count);
    }

    [Fact]
    public async Task Requeue_RunTwice_SecondRunRequeuesNothingNew()
    {
        var (store, pending, incoming, data) = await OpenAsync();
        await GivenHistoryAsync(store, incoming, data);
        var requeue = Requeue(store, pending, incoming, data);
        await requeue.RequeueAsync(Bad[..12], 1000);

        var again = await requeue.RequeueAsync(Bad[..12], 1000);

        Assert.Equal((0, 2, 1), (again.Requeued, again.AlreadyQueued, again.Refused.Count));
        Assert.Equal(2, (await pending.GetPendingSummaryAsync()).Count);
    }

    [Fact]
    public async Task Requeue_UnknownOrShortSha_FailsNamingIt()
    {
        var (store, pending, incoming, data) = await OpenAsync();
        await GivenHistoryAsync(store, incoming, data);
        var requeue = Requeue(store, pending, incoming, data);

        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => requeue.RequeueAsync("0123456789ab", 1000));
        var tooShort = await Assert.ThrowsAsync<ArgumentException>(() => requeue.RequeueAsync("bad", 1000));

        Assert.Contains("no automatic label of a model starting with '0123456789ab'", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("at least 8 hex digits", tooShort.Message, StringComparison.Ordinal);
    }
}

/// <summary>The local stores the CLI uses without a cloud: an object-store folder and the SQLite pending store.</summary>
public sealed class ModelRequeueLocalTests : ModelRequeueContract, IDisposable
{
    private readonly TempDir _dir = new("it-requeue-");

    protected override Task<(IObjectStore Store, IPendingStore Pending, string Incoming, string Data)> OpenAsync() =>
        Task.FromResult<(IObjectStore, IPendingStore, string, string)>((new FileSystemObjectStore(_dir.File("store")), new SqlitePendingStore(_dir.File("pending.db")), "incoming", "data"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}

/// <summary>The cloud stores: radosgw buckets and a dynalite pending table.</summary>
[Trait("Category", "Integration")]
public sealed class ModelRequeueCloudTests : ModelRequeueContract
{
    protected override async Task<(IObjectStore Store, IPendingStore Pending, string Incoming, string Data)> OpenAsync()
    {
        await S3TestServer.EnsureReachableAsync();
        DynamoDbTestServer.EnsureSdkCredentialsInEnvironment();
        var incoming = await S3TestServer.CreateBucketAsync("it-requeue-in");
        var data = await S3TestServer.CreateBucketAsync("it-requeue-data");
        var table = await DynamoDbTestServer.CreatePendingTableAsync("it-requeue");
        return (S3TestServer.CreateStore(), new DynamoDbPendingStore(DynamoDbTestServer.CreateClient(), table), incoming, data);
    }
}
