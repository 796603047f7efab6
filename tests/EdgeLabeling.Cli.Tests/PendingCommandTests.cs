using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Cli.Tests;

/// <summary><c>edgelabel pending</c> against a real SQLite pending store, run as the operator would.</summary>
public sealed class PendingCommandTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 6, 0, 0, TimeSpan.Zero);
    private readonly TempDir _dir = new("edgelabel-pending-cli-");

    private string DbPath => _dir.File("pending.db");

    private string ConfigPath => _dir.File("config.json");

    public PendingCommandTests() => File.WriteAllText(ConfigPath, JsonSerializer.Serialize(new Dictionary<string, string> { ["PENDING_DB_PATH"] = DbPath }));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private static string Key(int n) => ObjectKeyLayout.ImageKey("site-a-cam1", Start, n.ToString("x64"), "jpg");

    /// <summary>Items 1..<paramref name="setAside"/> set aside after coming back unlabeled, item 9 still pending.</summary>
    private async Task GivenStoreAsync(int setAside)
    {
        var store = new SqlitePendingStore(DbPath);
        var payload = new PendingPayload { ImageSize = new ImageSizeDto { Width = 64, Height = 48, Depth = 3 }, ClassNames = ["bolt"], PreAnnotations = [] };
        foreach (var n in Enumerable.Range(1, setAside).Append(9))
        {
            await store.RegisterImageAsync(new ImageArrival(Key(n), "incoming", "site-a-cam1", Start));
            await store.RegisterSidecarAsync(new SidecarArrival(Key(n), "incoming", "site-a-cam1", payload, Start));
        }

        await store.ClaimAsync("b1", setAside);
        await store.ReturnUnlabeledAsync("b1", Enumerable.Range(1, setAside).Select(Key), "no-label-in-output", countsAgainstItem: true, setAsideAfterReturns: 1, Start.AddHours(2));
    }

    [Fact]
    public async Task Stuck_Json_ListsSetAsideItemsWithCountAndReason()
    {
        await GivenStoreAsync(setAside: 2);

        var (code, stdout, stderr) = CliRunner.Run("pending", "--stuck", "--json", "--config", ConfigPath);

        Assert.True(code == 0, stderr);
        var items = JsonDocument.Parse(stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal([Key(1), Key(2)], items.Select(i => i.GetProperty("imageKey").GetString()).Order());
        Assert.All(items, i => Assert.Equal(1, i.GetProperty("returns").GetInt32()));
        Assert.All(items, i => Assert.Equal("no-label-in-output", i.GetProperty("reason").GetString()));
        Assert.All(items, i => Assert.Equal($"s3://incoming/{i.GetProperty("imageKey").GetString()}", i.GetProperty("sourceRef").GetString()));
    }

    [Fact]
    public async Task Requeue_SetAsideAndOtherKeys_MovesTheSetAsideOnesAndNamesTheRest()
    {
        await GivenStoreAsync(setAside: 2);

        var (code, stdout, stderr) = CliRunner.Run("pending", "--requeue", Key(1), Key(9), "incoming/nope.jpg", "--json", "--config", ConfigPath);

        Assert.Equal(1, code);
        Assert.Equal(1, JsonDocument.Parse(stdout).RootElement.GetProperty("requeued").GetInt32());
        Assert.Contains($"{Key(9)} is pending, not set aside", stderr, StringComparison.Ordinal);
        Assert.Contains("incoming/nope.jpg no such item in the pending store", stderr, StringComparison.Ordinal);
        var store = new SqlitePendingStore(DbPath);
        Assert.Equal((PendingStatus.Pending, 0), ((await store.GetItemAsync(Key(1)))!.Status, (await store.GetItemAsync(Key(1)))!.ReturnCount));
        Assert.Equal(PendingStatus.SetAside, (await store.GetItemAsync(Key(2)))!.Status);
    }

    [Fact]
    public async Task RequeueAll_PutsEverySetAsideItemBack()
    {
        await GivenStoreAsync(setAside: 3);

        var (code, _, stderr) = CliRunner.Run("pending", "--requeue-all", "--config", ConfigPath);

        Assert.True(code == 0, stderr);
        Assert.Empty(await new SqlitePendingStore(DbPath).ListSetAsideAsync(10));
        Assert.Equal(4, (await new SqlitePendingStore(DbPath).GetPendingSummaryAsync()).Count);
    }

    /// <summary>
    /// A local store as the pipeline leaves it: one auto-label manifest of model <paramref name="model"/> (images 1-3; 1 and 2
    /// uploaded, 3 only labeled on the device) and the config naming the store, the buckets and the pending database.
    /// </summary>
    private async Task<string> GivenAutoLabelsAsync(string model)
    {
        var store = new EdgeLabeling.Storage.FileSystemObjectStore(_dir.File("store"));
        string Auto(int n) => LabelingConventions.AutoLabeledImageKey("cam-a", Start.AddMinutes(n), n.ToString("x64"), "jpg");
        var lines = Enumerable.Range(1, 3).Select(n => GroundTruthManifest.BuildLine($"s3://incoming/{Auto(n)}", "parts", new ImageSize(640, 480, 3),
            [new PixelBox(0, 10, 20, 50, 40, 0.9)], ["bolt"], humanAnnotated: false, LabelingConventions.EdgeAutoLabelJobName("cam-a"), Start,
            [KeyValuePair.Create<string, System.Text.Json.Nodes.JsonNode?>("edgelabel-provenance", new System.Text.Json.Nodes.JsonObject { ["source"] = "model", ["device"] = "cam-a", ["model-sha256"] = model })]).ToJsonString());
        await store.PutBytesAsync("incoming", LabelingConventions.AutoLabelBatchKey("cam-a", Start, new string('c', 64)), System.Text.Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"), "application/jsonlines");
        foreach (var n in new[] { 1, 2 })
        {
            await store.PutBytesAsync("incoming", Auto(n), new byte[] { 0xFF, 0xD8, (byte)n }, "image/jpeg");
        }

        var config = _dir.File("requeue-config.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["PENDING_DB_PATH"] = DbPath, ["LOCAL_STORE_ROOT"] = _dir.File("store"), ["INCOMING_BUCKET"] = "incoming", ["DATA_BUCKET"] = "data",
        }));
        return config;
    }

    [Fact]
    public async Task RequeueModelSha_LocalStore_RequeuesUploadedImagesNamesTheOthersAndIsIdempotent()
    {
        var model = new string('b', 64);
        var config = await GivenAutoLabelsAsync(model);

        var (code, stdout, stderr) = CliRunner.Run("pending", "--requeue", "--model-sha", "bbbbbbbbbbbb", "--json", "--config", config);

        Assert.Equal(1, code);
        var result = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(model, result.GetProperty("model").GetString());
        Assert.Equal((3, 2, 0), (result.GetProperty("autoLabels").GetInt32(), result.GetProperty("requeued").GetInt32(), result.GetProperty("alreadyQueued").GetInt32()));
        var refused = Assert.Single(result.GetProperty("notRequeued").EnumerateArray().ToList());
        Assert.Contains("never uploaded", refused.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, (await new SqlitePendingStore(DbPath).GetPendingSummaryAsync()).Count);

        var (_, again, _) = CliRunner.Run("pending", "--requeue", "--model-sha", "bbbbbbbbbbbb", "--config", config);
        Assert.Contains("0 requeued for review now, 2 already in the pending store, 1 could not be requeued", again.ReplaceLineEndings(" ").Replace("  ", " ", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal(2, (await new SqlitePendingStore(DbPath).GetPendingSummaryAsync()).Count);
    }

    [Theory]
    [InlineData(new[] { "--model-sha", "bbbbbbbbbbbb" }, "--model-sha goes with --requeue and no image keys")]
    [InlineData(new[] { "--requeue", "k1", "--model-sha", "bbbbbbbbbbbb" }, "--model-sha goes with --requeue and no image keys")]
    [InlineData(new[] { "--requeue" }, "--requeue needs image keys (as --stuck lists them), or --model-sha SHA")]
    [InlineData(new[] { "--requeue", "--model-sha", "bbb" }, "--model-sha 'bbb' must be at least 8 hex digits")]
    public async Task RequeueModelSha_BadOptions_ExitsTwoNamingTheProblem(string[] args, string message)
    {
        var config = await GivenAutoLabelsAsync(new string('b', 64));

        var (code, _, stderr) = CliRunner.Run(["pending", .. args, "--config", config]);

        Assert.Equal(2, code);
        Assert.Contains("edgelabel pending: error: " + message, stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new string[0], "give exactly one of --stuck, --requeue KEY... or --requeue-all")]
    [InlineData(new[] { "--stuck", "--requeue-all" }, "give exactly one of")]
    [InlineData(new[] { "--stuck", "--max", "0" }, "--max must be at least 1")]
    public void Run_BadOptions_ExitsTwoNamingTheProblem(string[] args, string message)
    {
        var (code, _, stderr) = CliRunner.Run(["pending", .. args, "--config", ConfigPath]);

        Assert.Equal(2, code);
        Assert.Contains("edgelabel pending: error: " + message, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_MissingConfigFile_ExitsTwoNamingIt()
    {
        var (code, _, stderr) = CliRunner.Run("pending", "--stuck", "--config", _dir.File("absent.json"));

        Assert.Equal(2, code);
        Assert.Contains("absent.json does not exist", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_DescribesStuckAndRequeue()
    {
        var (code, stdout, _) = CliRunner.Run("pending", "--help");

        Assert.Equal(0, code);
        Assert.Contains("--stuck", stdout, StringComparison.Ordinal);
        Assert.Contains("--requeue", stdout, StringComparison.Ordinal);
        Assert.Contains("--json", stdout, StringComparison.Ordinal);
    }
}
