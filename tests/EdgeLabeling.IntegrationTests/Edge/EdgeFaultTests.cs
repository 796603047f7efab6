using System.Text;
using EdgeLabeling.Contracts;
using EdgeLabeling.Edge;
using EdgeLabeling.Edge.Hosting;
using EdgeLabeling.Inference;
using EdgeLabeling.IntegrationTests.Infrastructure;
using EdgeLabeling.Routing;
using EdgeLabeling.Storage;
using Xunit.Abstractions;

namespace EdgeLabeling.IntegrationTests.Edge;

/// <summary>
/// Fault tests on the packaged component with the real pipeline (demo ONNX model, routing) against radosgw:
/// the link is cut mid-transfer by a TCP proxy, the process is SIGKILLed at random points, the disk quota is
/// hit, and the S3 server itself is stopped and started.
/// </summary>
[Collection(PackagedComponentCollection.Name)]
[Trait("Category", "Integration")]
public sealed class EdgeFaultTests(PackagedComponent package, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Thing = "gg-core-faults";
    private readonly string _dir = Path.Combine(package.Root, "faults-" + Guid.NewGuid().ToString("N")[..8]);
    private string _bucket = "";

    public async Task InitializeAsync() => _bucket = await S3TestServer.CreateBucketAsync("edge-faults");

    public Task DisposeAsync() => S3TestServer.DeleteBucketAsync(_bucket);

    private string RoutingConfig() => EdgeTestKit.NoDuplicatesRoutingConfig(_dir);

    /// <summary>What the component must decide for each frame, computed independently in-process with the same model and options.</summary>
    private static Dictionary<string, RoutingOutcome> ExpectedOutcomes(IReadOnlyList<byte[]> frames, string routingConfig, string bucket, double autoAccept = 0.5, double uncertainLow = 0.25)
    {
        var options = EdgeComponentServiceCollectionExtensions.BuildRoutingOptions(new EdgeOptions
        {
            ThingName = Thing,
            Bucket = bucket,
            RoutingConfigPath = routingConfig,
            AutoAcceptThreshold = autoAccept,
            UncertainLow = uncertainLow,
        });
        using var detector = new OnnxDetector(new OnnxDetectorOptions { ModelPath = PackagedComponent.ModelPath });
        var labeler = new ImageLabeler(detector, new RoutingPolicy(options, detector.Info.ClassNames));
        var result = new Dictionary<string, RoutingOutcome>(StringComparer.Ordinal);
        for (var i = 0; i < frames.Count; i++)
        {
            var d = labeler.Process(new ImageInput($"frame-{i:D4}.jpg", frames[i], "cam0", DateTimeOffset.UtcNow));
            result[d.Sha256] = d.Outcome;
        }

        return result;
    }

    [Fact]
    public async Task Run_With500FramesLinkCutsAndRepeatedSigkill_EveryReviewImageInS3ExactlyOnce()
    {
        var routing = RoutingConfig();
        var frames = EdgeTestKit.Variants(520, seed: 3);
        var expected = ExpectedOutcomes(frames, routing, _bucket);
        var expectedReview = expected.Where(kv => kv.Value.NeedsPeople()).Select(kv => kv.Key).ToHashSet();
        var expectedLabels = expected.Where(kv => kv.Value is RoutingOutcome.AutoLabel or RoutingOutcome.Audit).Select(kv => kv.Key).ToHashSet();
        output.WriteLine($"{frames.Count} frames: {expectedReview.Count} review/audit, {expectedLabels.Count} auto-label lines expected");
        Assert.True(expectedReview.Count >= 20, "the sample set should send a fair share of frames to review");

        using var proxy = TcpProxy.For(S3TestServer.Endpoint);
        var svcuid = "svcuid-" + Guid.NewGuid().ToString("N");
        using var tes = new TokenExchangeServer(svcuid, () => (S3TestServer.AccessKey, S3TestServer.SecretKey));
        tes.Start();
        var inbox = Path.Combine(_dir, "inbox");
        var work = Path.Combine(_dir, "work");
        var script = package.InterpolatedRunScript(
            EdgeTestKit.Config(inbox, _bucket, proxy.Endpoint, ("RoutingConfigPath", routing), ("AutoLabelBatchSize", "40")), Thing, work);
        var env = ComponentRun.NucleusEnvironment(Thing, svcuid, tes.FullUri);

        using var chaos = new CancellationTokenSource();
        var rng = new Random(42);
        var feeder = Task.Run(async () =>
        {
            for (var i = 0; i < frames.Count; i++)
            {
                EdgeTestKit.Drop(inbox, $"frame-{i:D4}.jpg", frames[i]);
                if (i % 25 == 24)
                {
                    await Eventually.Elapse(TimeSpan.FromMilliseconds(300), "the camera pausing between bursts, so frames arrive across several runs");
                }
            }
        });
        var linkFlapper = Task.Run(async () =>
        {
            var r = new Random(7);
            while (!chaos.IsCancellationRequested)
            {
                await Eventually.Elapse(TimeSpan.FromMilliseconds(r.Next(600, 1800)), "the link staying up for a while");
                proxy.Cut();
                await Eventually.Elapse(TimeSpan.FromMilliseconds(r.Next(300, 1500)), "the link staying cut for a while");
                proxy.Restore();
            }
        });

        var kills = 0;
        while (kills < 12 || !feeder.IsCompleted)
        {
            using var run = new ComponentRun(script, work, env);
            await Eventually.Elapse(TimeSpan.FromMilliseconds(rng.Next(700, 2600)), "the component working for a while before the next SIGKILL");
            Assert.False(run.HasExited, "component died on its own:\n" + run.Output);
            run.SigKill();
            Assert.NotNull(await run.WaitForExitAsync(TimeSpan.FromSeconds(5)));
            kills++;
        }

        await feeder;
        chaos.Cancel();
        await linkFlapper;
        proxy.Restore();
        output.WriteLine($"{kills} SIGKILLs, {proxy.Cuts} link cuts; draining");

        using (var final = new ComponentRun(script, work, env))
        {
            await Eventually.Until(
                () => Directory.GetFiles(inbox).Length == 0 && StatusFile.TryRead(work) is { } s && StatusFile.Long(s, "queuedItems") == 0,
                TimeSpan.FromSeconds(120),
                () => $"inbox {Directory.GetFiles(inbox).Length} files, status {StatusFile.TryRead(work)?.ToJsonString()}\n{final.Output[^Math.Min(final.Output.Length, 4000)..]}", EdgeTestKit.StatusPoll);
            final.SigTerm();
            Assert.NotNull(await final.WaitForExitAsync(TimeSpan.FromSeconds(5)));
            Assert.Equal(0, final.ExitCode);
        }

        Assert.True(kills >= 10);
        Assert.True(proxy.Cuts >= 3, $"only {proxy.Cuts} link cuts happened");
        var status = StatusFile.TryRead(work)!;
        Assert.Equal(0, StatusFile.Long(status, "drops"));
        Assert.Equal(0, StatusFile.Long(status, "queuedItems"));

        var images = await EdgeTestKit.IncomingImagesAsync(_bucket);
        Assert.Equal(expectedReview.OrderBy(s => s), images.Keys.OrderBy(s => s));
        var all = await S3TestServer.ListAsync(_bucket, ObjectKeyLayout.IncomingPrefix);
        Assert.Equal(2 * expectedReview.Count, all.Count);
        var bySha = frames.ToDictionary(EdgeTestKit.Sha);
        foreach (var (sha, key) in images)
        {
            await EdgeTestKit.AssertReviewObjectAsync(_bucket, key, bySha[sha]);
        }

        var store = S3TestServer.CreateStore();
        var labelled = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in (await S3TestServer.ListAsync(_bucket, LabelingConventions.AutoLabelsPrefix)).Keys.Where(k => k.EndsWith(".manifest", StringComparison.Ordinal)))
        {
            foreach (var line in Encoding.UTF8.GetString((await ObjectContent.ReadJsonBytesAsync(store, _bucket, key, 16 << 20))!).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var parsed = GroundTruthManifest.Parse(line, LabelingConventions.DefaultDatasetAttribute);
                var imageKey = parsed.SourceRef[$"s3://{_bucket}/".Length..];

                // Audit images are seen by people (incoming/); purely auto-labeled ones live under auto-labels/{thing}/images/.
                var isAutoLabeledImage = imageKey.StartsWith($"{LabelingConventions.AutoLabelsPrefix}{Thing}/images/", StringComparison.Ordinal);
                Assert.True(isAutoLabeledImage || ObjectKeyLayout.TryParse(imageKey, out _, out _), $"source-ref {parsed.SourceRef} is in neither layout");
                labelled.Add(Path.GetFileNameWithoutExtension(imageKey));
            }
        }

        Assert.Equal(expectedLabels.OrderBy(s => s), labelled.OrderBy(s => s));
    }

    [Fact]
    public async Task Run_WhenDiskQuotaReachedWithEvictPolicy_KeepsReviewEvictsLowPriorityAndReportsIt()
    {
        var routing = RoutingConfig();
        var frames = EdgeTestKit.Variants(100, seed: 4);
        // Lower thresholds than the defaults so a good share of frames is auto-labeled (and so evictable).
        var expected = ExpectedOutcomes(frames, routing, _bucket, autoAccept: 0.3, uncertainLow: 0.05);
        var expectedReview = expected.Where(kv => kv.Value.NeedsPeople()).Select(kv => kv.Key).ToHashSet();
        var autoBytes = frames.Where(f => expected[EdgeTestKit.Sha(f)] == RoutingOutcome.AutoLabel).Sum(f => (long)f.Length);
        var reviewBytes = frames.Where(f => expectedReview.Contains(EdgeTestKit.Sha(f))).Sum(f => (long)f.Length);
        Assert.True(autoBytes > 200_000, "need auto-labeled frames to evict");
        // Room for every review item and its records, plus a third of the auto-labeled images: the rest must be evicted.
        var quota = Math.Max(1024 * 1024, reviewBytes + (frames.Count * 4096L) + (autoBytes / 3));
        Assert.True(quota < reviewBytes + autoBytes, $"quota {quota} would hold everything; use larger frames");

        using var proxy = TcpProxy.For(S3TestServer.Endpoint);
        proxy.Cut();
        var svcuid = "svcuid-" + Guid.NewGuid().ToString("N");
        using var tes = new TokenExchangeServer(svcuid, () => (S3TestServer.AccessKey, S3TestServer.SecretKey));
        tes.Start();
        var inbox = Path.Combine(_dir, "inbox");
        var work = Path.Combine(_dir, "work");
        var script = package.InterpolatedRunScript(
            EdgeTestKit.Config(inbox, _bucket, proxy.Endpoint,
                ("RoutingConfigPath", routing), ("UploadAutoLabeledImages", "true"), ("EvictionPolicy", "EvictLowPriority"),
                ("AutoAcceptThreshold", "0.3"), ("UncertainLow", "0.05"),
                ("DiskQuotaBytes", Math.Max(quota, 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture))),
            Thing, work);
        using var run = new ComponentRun(script, work, ComponentRun.NucleusEnvironment(Thing, svcuid, tes.FullUri));
        for (var i = 0; i < frames.Count; i++)
        {
            EdgeTestKit.Drop(inbox, $"frame-{i:D4}.jpg", frames[i]);
        }

        await Eventually.Until(
            () => StatusFile.TryRead(work) is { } s && StatusFile.Long(s, "drops") > 0
                  && s["queue"]!["review"]!["items"]!.GetValue<int>() == expectedReview.Count,
            TimeSpan.FromSeconds(60),
            () => $"evictions with every review item queued; status {StatusFile.TryRead(work)?.ToJsonString()}\n{run.Output[^Math.Min(run.Output.Length, 3000)..]}", EdgeTestKit.StatusPoll);
        var full = StatusFile.TryRead(work)!;
        Assert.Equal("EvictLowPriority", full["evictionPolicy"]!.GetValue<string>());
        Assert.True(StatusFile.Long(full, "bytesQueued") <= StatusFile.Long(full, "diskQuotaBytes"));
        Assert.Contains("evicted", run.Output);

        proxy.Restore();
        await Eventually.Until(
            () => StatusFile.TryRead(work) is { } s && s["queue"]!["review"]!["items"]!.GetValue<int>() == 0,
            TimeSpan.FromSeconds(60),
            () => "review lane drained", EdgeTestKit.StatusPoll);
        run.SigTerm();
        Assert.NotNull(await run.WaitForExitAsync(TimeSpan.FromSeconds(5)));

        var images = await EdgeTestKit.IncomingImagesAsync(_bucket);
        Assert.True(expectedReview.IsSubsetOf(images.Keys), "a review image was lost under the disk quota");
    }
}

/// <summary>The S3 server itself stopped and started for real (a private radosgw, so other tests keep theirs).</summary>
[Collection(PackagedComponentCollection.Name)]
[Trait("Category", "Integration")]
public sealed class EdgeServerRestartTests(PackagedComponent package)
{
    private const string Thing = "gg-core-restart";

    [Fact]
    public async Task Run_WhenS3ServerStopsAndStartsAgain_QueuesWhileDownAndResumesByItself()
    {
        await using var rgw = new PrivateRgwServer(PackagedComponent.RepoRoot);
        await rgw.StartAsync();
        var bucket = await S3TestServer.CreateBucketAsync("edge-restart", rgw.Endpoint);
        var dir = Path.Combine(package.Root, "restart-" + Guid.NewGuid().ToString("N")[..8]);
        var inbox = Path.Combine(dir, "inbox");
        var work = Path.Combine(dir, "work");
        var svcuid = "svcuid-" + Guid.NewGuid().ToString("N");
        using var tes = new TokenExchangeServer(svcuid, () => (S3TestServer.AccessKey, S3TestServer.SecretKey));
        tes.Start();
        // Everything to review, so every frame must arrive.
        var script = package.InterpolatedRunScript(EdgeTestKit.Config(inbox, bucket, rgw.Endpoint, ("AutoAcceptThreshold", "1"), ("UncertainLow", "0.01"), ("RoutingConfigPath", EdgeTestKit.NoDuplicatesRoutingConfig(dir))), Thing, work);
        using var run = new ComponentRun(script, work, ComponentRun.NucleusEnvironment(Thing, svcuid, tes.FullUri));
        var first = EdgeTestKit.Variants(1, seed: 5)[0];
        EdgeTestKit.Drop(inbox, "first.jpg", first);
        await Eventually.Until(
            // The item is done only when its image and its pre-label record are both stored: seeing the image
            // alone and stopping the server then would leave the first item queued too.
            async () => StatusFile.TryRead(work) is { } s && StatusFile.Long(s, "queuedItems") == 0
                        && (await EdgeTestKit.IncomingImagesAsync(bucket, rgw.Endpoint)).Count == 1,
            TimeSpan.FromSeconds(60),
            () => $"first upload; status {StatusFile.TryRead(work)?.ToJsonString()}; output:\n" + run.Output, EdgeTestKit.StatusPoll);

        await rgw.StopAsync();
        var frames = EdgeTestKit.Variants(8, seed: 6);
        for (var i = 0; i < frames.Count; i++)
        {
            EdgeTestKit.Drop(inbox, $"frame-{i:D3}.jpg", frames[i]);
        }

        await Eventually.Until(
            () => StatusFile.TryRead(work) is { } s && StatusFile.Long(s, "queuedItems") == frames.Count && !s["online"]!.GetValue<bool>(),
            TimeSpan.FromSeconds(60),
            () => $"queued while the server is down; status {StatusFile.TryRead(work)?.ToJsonString()}", EdgeTestKit.StatusPoll);
        Assert.Equal("network", StatusFile.TryRead(work)!["lastUploadErrorKind"]!.GetValue<string>());

        // A restarted memstore radosgw is empty: recreate the bucket, as an operator would.
        await rgw.StartAsync();
        using (var client = S3TestServer.CreateClient(rgw.Endpoint))
        {
            await client.PutBucketAsync(bucket);
        }

        await Eventually.Until(
            () => StatusFile.TryRead(work) is { } s && StatusFile.Long(s, "queuedItems") == 0,
            TimeSpan.FromSeconds(90),
            () => $"drained after restart; status {StatusFile.TryRead(work)?.ToJsonString()}", EdgeTestKit.StatusPoll);
        var images = await EdgeTestKit.IncomingImagesAsync(bucket, rgw.Endpoint);
        foreach (var f in frames)
        {
            Assert.True(images.ContainsKey(EdgeTestKit.Sha(f)), "a frame queued while the server was down never arrived");
        }

        run.SigTerm();
        Assert.NotNull(await run.WaitForExitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, run.ExitCode);
    }
}
