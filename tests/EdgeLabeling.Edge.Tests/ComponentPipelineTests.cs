using System.Runtime.CompilerServices;
using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Hosting;
using EdgeLabeling.Edge.Status;
using EdgeLabeling.Edge.Upload;
using EdgeLabeling.Routing;
using EdgeLabeling.Storage;
using Microsoft.Extensions.Hosting;

namespace EdgeLabeling.Edge.Tests;

/// <summary>The whole host (intake, outbox, uploader, status) with a name-routed labeler and a local object store.</summary>
public sealed class ComponentPipelineTests : IDisposable
{
    private const string Bucket = "edge-test";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Inbox => Path.Combine(_dir.Path, "in");

    private string Work => Path.Combine(_dir.Path, "work");

    private IHost BuildHost(IObjectStore store, params string[] extra)
    {
        string[] args =
        [
            "--ThingName", "dev1", "--InputDirectory", Inbox, "--WorkDirectory", Work, "--Bucket", Bucket, "--Region", "us-east-1",
            "--FileStableMilliseconds", "50", "--PollMilliseconds", "50", "--AutoLabelBatchMaxWaitSeconds", "0",
            "--RetryMaxBackoffSeconds", "1", "--RetryAttempts", "0", "--StatusIntervalSeconds", "1", .. extra,
        ];
        return EdgeComponentHost.CreateBuilder(args, new EdgeComponentOverrides
        {
            Labeler = _ => new NameRoutedLabeler(),
            Stores = _ => new FixedObjectStoreProvider(store),
        }).Build();
    }

    private void Drop(string name, byte[] bytes)
    {
        Directory.CreateDirectory(Inbox);
        var tmp = Path.Combine(Inbox, "." + name + ".tmp");
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, Path.Combine(Inbox, name));
    }

    private StatusReport ReadStatus() =>
        JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(Work, "status.json")), StatusJsonContext.Default.StatusReport)!;

    [Fact]
    public async Task Run_WithReviewAutoAndAuditFrames_UploadsImagesSidecarsAndLabelBatches()
    {
        var store = new FileSystemObjectStore(_dir.Sub("s3"));
        var review = Bytes.Random(4000, 1);
        var audit = Bytes.Random(4000, 2);
        var auto = Bytes.Random(4000, 3);
        Drop("review-1.jpg", review);
        Drop("audit-1.jpg", audit);
        Drop("auto-1.jpg", auto);
        Drop("bad-1.jpg", [1, 2]);
        Drop("dup-1.jpg", Bytes.Random(10, 5));

        using var host = BuildHost(store);
        await host.StartAsync();
        // Batches may be cut at any time (max wait 0), so the two label lines can arrive in one or two objects.
        string[] Lines() => store.ListAsync(Bucket, "auto-labels/dev1/").ToBlockingEnumerable()
            .SelectMany(o => System.Text.Encoding.UTF8.GetString(ObjectContent.ReadJsonBytesAsync(store, Bucket, o.Key, 1 << 20).GetAwaiter().GetResult()!).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            .ToArray();
        await Eventually.Until(
            () => Directory.GetFiles(Inbox).Length == 0 && store.ListAsync(Bucket, "incoming/").ToBlockingEnumerable().Count() == 4 && Lines().Length == 2,
            TimeSpan.FromSeconds(20),
            "two review objects with sidecars and two label lines");
        await host.StopAsync();

        var objects = store.ListAsync(Bucket, "").ToBlockingEnumerable().Select(o => o.Key).ToList();
        var incoming = objects.Where(k => k.StartsWith("incoming/", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, incoming.Count);
        foreach (var (bytes, outcome) in new[] { (review, "human-review"), (audit, "audit") })
        {
            var key = incoming.Single(k => k.Contains(Bytes.Sha(bytes), StringComparison.Ordinal) && k.EndsWith(".jpg", StringComparison.Ordinal));
            Assert.Equal(bytes, await store.ReadBytesAsync(Bucket, key));
            // Stored gzip-compressed with the standard header; the shared reader hands back the JSON.
            Assert.True(ObjectContent.IsGzip(await store.ReadBytesAsync(Bucket, ObjectKeyLayout.SidecarKey(key))));
            Assert.Equal(ObjectContent.Gzip, (await store.HeadAsync(Bucket, ObjectKeyLayout.SidecarKey(key)))!.Metadata[ObjectContent.ContentEncodingKey]);
            var sidecar = ReviewRecord.Parse(await ObjectContent.ReadJsonBytesAsync(store, Bucket, ObjectKeyLayout.SidecarKey(key), ReviewRecord.MaxSidecarBytes));
            Assert.Equal(outcome, sidecar.Outcome);
            Assert.Equal(key, sidecar.ImageKey);
            Assert.True(ObjectKeyLayout.TryParse(key, out var parsed, out _));
            Assert.Equal("dev1", parsed.ThingName);
        }

        Assert.DoesNotContain(incoming, k => k.Contains(Bytes.Sha(auto), StringComparison.Ordinal));
        var lines = Lines();
        Assert.Equal(2, lines.Length);
        var parsedLines = lines.Select(l => GroundTruthManifest.Parse(l, "parts")).ToList();
        Assert.All(parsedLines, l => Assert.False(l.HumanAnnotated));
        Assert.Contains(parsedLines, l => l.SourceRef.Contains(Bytes.Sha(auto), StringComparison.Ordinal));

        var status = ReadStatus();
        Assert.Equal("stopped", status.State);
        Assert.Equal(0, status.QueuedItems);
        Assert.Equal(0, status.Drops);
        Assert.False(status.Backpressure);
        Assert.Equal(1, status.Outcomes["human-review"]);
        Assert.Equal(1, status.Outcomes["audit"]);
        Assert.Equal(1, status.Outcomes["auto-label"]);
        Assert.Equal(1, status.Outcomes["duplicate"]);
        Assert.Equal(1, status.Outcomes["quarantine"]);
        Assert.True(status.BytesUploaded >= review.Length + audit.Length);
        Assert.True(File.Exists(Path.Combine(Work, "quarantine", "bad-1.jpg.reason.txt")));
    }

    [Fact]
    public async Task Run_WithUploadAutoLabeledImagesOutsideWindow_KeepsThemQueued()
    {
        var store = new FileSystemObjectStore(_dir.Sub("s3"));
        var now = TimeOnly.FromDateTime(DateTime.Now);
        var closed = $"{now.AddHours(2):HH\\:mm}-{now.AddHours(3):HH\\:mm}";
        Drop("auto-1.jpg", Bytes.Random(3000, 8));
        using var host = BuildHost(store, "--UploadAutoLabeledImages", "true", "--LowPriorityWindow", closed);
        await host.StartAsync();
        await Eventually.Until(() => store.ListAsync(Bucket, "auto-labels/").ToBlockingEnumerable().Any(), TimeSpan.FromSeconds(20), "the label batch");
        // The uploader looks at the image lane right after a label batch goes out; a status written once the batch has
        // left the queue shows the image still waiting there (an uploader that ignored the window would have sent it).
        await Eventually.Until(
            () => File.Exists(Path.Combine(Work, "status.json")) && ReadStatus() is { Queue: var q } && q["auto-label-records"].Items == 0 && q["auto-labeled-images"].Items == 1,
            TimeSpan.FromSeconds(10),
            "a status with the label batch sent and the auto-labeled image still queued");
        await host.StopAsync();
        Assert.Empty(store.ListAsync(Bucket, "incoming/").ToBlockingEnumerable());
        var status = ReadStatus();
        Assert.Equal(1, status.Queue["auto-labeled-images"].Items);
        Assert.False(status.LowPriorityWindowOpen);
    }

    [Fact]
    public async Task Run_WhenStoreFailsThenRecovers_KeepsItemsQueuedThenUploadsOnce()
    {
        var inner = new FileSystemObjectStore(_dir.Sub("s3"));
        var flaky = new FlakyStore(inner) { Down = true };
        var image = Bytes.Random(5000, 11);
        Drop("review-1.jpg", image);
        using var host = BuildHost(flaky);
        await host.StartAsync();
        await Eventually.Until(() => flaky.Failures >= 2, TimeSpan.FromSeconds(20), "failed attempts");
        await Eventually.Until(() => File.Exists(Path.Combine(Work, "status.json")) && ReadStatus() is { Online: false, LastUploadError: not null }, TimeSpan.FromSeconds(10), "offline status");
        var offline = ReadStatus();
        Assert.Equal(1, offline.Queue["review"].Items);
        Assert.Equal("network", offline.LastUploadErrorKind);

        flaky.Down = false;
        await Eventually.Until(() => inner.ListAsync(Bucket, "incoming/").ToBlockingEnumerable().Count() == 2, TimeSpan.FromSeconds(20), "upload after recovery");
        await host.StopAsync();
        Assert.Equal(0, ReadStatus().QueuedItems);
        Assert.True(ReadStatus().Online);
    }

    [Fact]
    public async Task Run_WhenQuotaFullWithBackpressure_LeavesFramesInInboxAndSaysSo()
    {
        var flaky = new FlakyStore(new FileSystemObjectStore(_dir.Sub("s3"))) { Down = true };
        for (var i = 0; i < 4; i++)
        {
            Drop($"review-{i}.jpg", Bytes.Random(400_000, 20 + i));
        }

        using var host = BuildHost(flaky, "--DiskQuotaBytes", "1048576");
        await host.StartAsync();
        await Eventually.Until(() => File.Exists(Path.Combine(Work, "status.json")) && ReadStatus().Backpressure, TimeSpan.FromSeconds(20), "backpressure in status");
        await host.StopAsync();
        var status = ReadStatus();
        Assert.Equal("disk-quota", status.BackpressureReason);
        Assert.Equal(2, status.Queue["review"].Items);
        Assert.Equal(2, Directory.GetFiles(Inbox).Length);
        Assert.Equal(0, status.Drops);
    }

    [Fact]
    public async Task Run_WhenQuotaRefusesDecidedFrames_TakesThemAgainLaterAsNewFramesNotDuplicatesOfThemselves()
    {
        // The real labeler (duplicate detection on) with a detector that is never sure: every frame goes to review.
        // The pipeline decides a frame before the quota check refuses it; taken again after uploads made room, it
        // must be decided afresh, not found a near-duplicate of its own earlier decision and deleted unsent.
        var frames = Enumerable.Range(0, 4).Select(i => NoisyJpeg(960, 720, 40 + i)).ToList();
        const long quota = 1024 * 1024;
        Assert.All(frames, f => Assert.True(f.Length > quota / 3, "each frame must take a third of the quota, so the queue refuses some"));
        var flaky = new FlakyStore(new FileSystemObjectStore(_dir.Sub("s3"))) { Down = true };
        for (var i = 0; i < frames.Count; i++)
        {
            Drop($"frame-{i}.jpg", frames[i]);
        }

        using var host = EdgeComponentHost.CreateBuilder(
        [
            "--ThingName", "dev1", "--InputDirectory", Inbox, "--WorkDirectory", Work, "--Bucket", Bucket, "--Region", "us-east-1",
            "--FileStableMilliseconds", "50", "--PollMilliseconds", "50", "--AutoLabelBatchMaxWaitSeconds", "0",
            "--RetryMaxBackoffSeconds", "1", "--RetryAttempts", "0", "--StatusIntervalSeconds", "1",
            "--DiskQuotaBytes", quota.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ], new EdgeComponentOverrides
        {
            Labeler = _ =>
            {
                var detector = new UnsureDetector();
                return new ImageLabeler(detector, new RoutingPolicy(new RoutingOptions().Validate(), detector.Info.ClassNames));
            },
            Stores = _ => new FixedObjectStoreProvider(flaky),
        }).Build();
        await host.StartAsync();
        await Eventually.Until(() => File.Exists(Path.Combine(Work, "status.json")) && ReadStatus().Backpressure, TimeSpan.FromSeconds(20), "backpressure in status");
        Assert.NotEmpty(Directory.GetFiles(Inbox));

        flaky.Down = false;
        await Eventually.Until(() => flaky.Inner.ListAsync(Bucket, "incoming/").ToBlockingEnumerable().Count(o => o.Key.EndsWith(".jpg", StringComparison.Ordinal)) == frames.Count,
            TimeSpan.FromSeconds(30), "every frame uploaded");
        await host.StopAsync();

        var status = ReadStatus();
        Assert.Equal(frames.Count, status.Outcomes["human-review"]);
        Assert.Equal(0, status.Outcomes.GetValueOrDefault("duplicate"));
        Assert.Empty(Directory.GetFiles(Inbox));
    }

    /// <summary>A JPEG of random pixels: hundreds of KB, and no two seeds are near-duplicates.</summary>
    private static byte[] NoisyJpeg(int width, int height, int seed)
    {
        var rng = new Random(seed);
        using var bitmap = new SkiaSharp.SKBitmap(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, new SkiaSharp.SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256)));
            }
        }

        using var image = SkiaSharp.SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    /// <summary>One box at 0.4 confidence on every image: between the uncertain band's bounds, so always human review.</summary>
    private sealed class UnsureDetector : EdgeLabeling.Inference.IDetector
    {
        public EdgeLabeling.Inference.DetectorInfo Info { get; } = new("/models/unsure.onnx", new string('b', 64), 320, 320, ["bolt", "nut", "washer"], "fake");

        public IReadOnlyList<PixelBox> Detect(EdgeLabeling.Inference.DecodedImage image) => [new PixelBox(0, 10, 10, 40, 40, 0.4)];

        public void Dispose()
        {
        }
    }

    [Fact]
    public async Task Run_WhenDailyQuotaUsedUp_StopsUploadingAndSaysSo()
    {
        var store = new FileSystemObjectStore(_dir.Sub("s3"));
        Drop("review-1.jpg", Bytes.Random(1_100_000, 31));
        using var host = BuildHost(store, "--DailyUploadMegabytes", "1");
        await host.StartAsync();
        await Eventually.Until(() => store.ListAsync(Bucket, "incoming/").ToBlockingEnumerable().Count() == 2, TimeSpan.FromSeconds(20), "the first upload");
        Drop("review-2.jpg", Bytes.Random(1000, 32));
        await Eventually.Until(() => File.Exists(Path.Combine(Work, "status.json")) && ReadStatus() is { DailyQuotaReached: true, Queue: var q } && q["review"].Items == 1, TimeSpan.FromSeconds(20), "daily quota in status");
        await host.StopAsync();
        Assert.Equal(2, store.ListAsync(Bucket, "incoming/").ToBlockingEnumerable().Count());
        Assert.True(ReadStatus().BytesUploadedToday >= 1_100_000);
    }

    [Fact]
    public async Task Run_WhenStoreRefusesOneImage_UploadsTheOthersAndRetriesItAfterRestart()
    {
        var inner = new FileSystemObjectStore(_dir.Sub("s3"));
        var refused = Bytes.Random(3000, 41);
        var refusing = new RefusingStore(inner) { RefusedSha = Bytes.Sha(refused) };
        Drop("review-1.jpg", refused);
        using (var host = BuildHost(refusing))
        {
            await host.StartAsync();
            await Eventually.Until(() => refusing.Refusals >= 1, TimeSpan.FromSeconds(20), "the refusal");
            // Queued after the refused one: before item deferral these waited behind it forever.
            Drop("review-2.jpg", Bytes.Random(3000, 42));
            Drop("review-3.jpg", Bytes.Random(3000, 43));
            await Eventually.Until(() => inner.ListAsync(Bucket, "incoming/").ToBlockingEnumerable().Count() == 4, TimeSpan.FromSeconds(20), "the two other images with sidecars");
            await Eventually.Until(() => ReadStatus() is { DeferredItems: 1 }, TimeSpan.FromSeconds(10), "the deferral in the status");
            await host.StopAsync();
        }

        var status = ReadStatus();
        Assert.Equal(1, status.Queue["review"].Items);
        Assert.StartsWith("access-denied:", status.LastDeferralError);
        Assert.Equal(0, status.Drops);
        Assert.DoesNotContain(inner.ListAsync(Bucket, "incoming/").ToBlockingEnumerable(), o => o.Key.Contains(Bytes.Sha(refused), StringComparison.Ordinal));

        // The operator fixes the policy and restarts: the deferred item goes at once, not after its back-off.
        refusing.RefusedSha = null;
        using (var host = BuildHost(refusing))
        {
            await host.StartAsync();
            await Eventually.Until(() => inner.ListAsync(Bucket, "incoming/").ToBlockingEnumerable().Count() == 6, TimeSpan.FromSeconds(20), "the refused image after restart");
            await host.StopAsync();
        }

        Assert.Equal(refused, await inner.ReadBytesAsync(Bucket, inner.ListAsync(Bucket, "incoming/").ToBlockingEnumerable().Single(o => o.Key.EndsWith(Bytes.Sha(refused) + ".jpg", StringComparison.Ordinal)).Key));
        Assert.Equal(0, ReadStatus().QueuedItems);
        Assert.Equal(0, ReadStatus().DeferredItems);
    }

    [Fact]
    public async Task Run_WhenQueuedBlobVanishes_CountsItLostAndUploadsTheRest()
    {
        var flaky = new FlakyStore(new FileSystemObjectStore(_dir.Sub("s3"))) { Down = true };
        Drop("review-1.jpg", Bytes.Random(3000, 51));
        Drop("review-2.jpg", Bytes.Random(3000, 52));
        using var host = BuildHost(flaky);
        await host.StartAsync();
        var blobs = Path.Combine(Work, "queue", "blobs");
        await Eventually.Until(() => Directory.Exists(blobs) && Directory.GetFiles(blobs).Length == 2, TimeSpan.FromSeconds(20), "two queued blobs");
        File.Delete(Directory.GetFiles(blobs).Single(f => f.EndsWith(".jpg", StringComparison.Ordinal) && File.ReadAllBytes(f).SequenceEqual(Bytes.Random(3000, 51))));
        flaky.Down = false;
        await Eventually.Until(() => ReadStatus() is { QueuedItems: 0, LostMissingBlob: 1 }, TimeSpan.FromSeconds(20), "queue drained with one loss counted");
        await host.StopAsync();
        var uploaded = flaky.Inner.ListAsync(Bucket, "incoming/").ToBlockingEnumerable().Select(o => o.Key).ToList();
        Assert.Equal(2, uploaded.Count);
        Assert.Contains(uploaded, k => k.Contains(Bytes.Sha(Bytes.Random(3000, 52)), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_WithManyUnreadableFrames_KeepsQuarantineUnderItsCap()
    {
        var store = new FileSystemObjectStore(_dir.Sub("s3"));
        using var host = BuildHost(store, "--QuarantineMaxBytes", "50000");
        await host.StartAsync();
        for (var i = 0; i < 8; i++)
        {
            Drop($"bad-{i}.jpg", Bytes.Random(10_000, 60 + i));
        }

        await Eventually.Until(() => Directory.GetFiles(Inbox).Length == 0 && ReadStatus() is { Outcomes: var o } && o["quarantine"] == 8, TimeSpan.FromSeconds(20), "eight frames quarantined");
        await host.StopAsync();
        var quarantine = Path.Combine(Work, "quarantine");
        var bytes = Directory.GetFiles(quarantine).Sum(f => new FileInfo(f).Length);
        Assert.True(bytes <= 50_000, $"quarantine holds {bytes} bytes");
        Assert.Equal(4, Directory.GetFiles(quarantine, "*.jpg").Length);
        Assert.Equal(4, ReadStatus().QuarantinePruned);
        Assert.Equal(0, ReadStatus().Drops);
    }

    [Fact]
    public async Task Start_WithInvalidOption_FailsNamingTheField()
    {
        using var host = BuildHost(new FileSystemObjectStore(_dir.Sub("s3")), "--Bucket", "Not_A_Bucket");
        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(ex.Failures, f => f.StartsWith("Bucket:", StringComparison.Ordinal) && f.Contains("Not_A_Bucket", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--DiskQuotaBytes", "lots", "DiskQuotaBytes")]
    [InlineData("--Bucket", "Bad_Bucket", "Bucket")]
    [InlineData("--EvictionPolicy", "sometimes", "EvictionPolicy")]
    [InlineData("--QuarantineMaxBytes", "-1", "QuarantineMaxBytes")]
    [InlineData("--MinFreeDiskBytes", "-5", "MinFreeDiskBytes")]
    public async Task RunAsync_WithBadValue_ExitsWithConfigurationErrorNamingTheKey(string key, string value, string field)
    {
        string[] args = ["--ThingName", "dev1", "--InputDirectory", Inbox, "--WorkDirectory", Work, "--Bucket", Bucket, key, value];
        var stderr = new StringWriter();
        var original = Console.Error;
        Console.SetError(stderr);
        int code;
        try
        {
            code = await EdgeComponentHost.RunAsync(args, new EdgeComponentOverrides { Labeler = _ => new NameRoutedLabeler() });
        }
        finally
        {
            Console.SetError(original);
        }

        Assert.Equal(EdgeComponentHost.ConfigurationErrorExitCode, code);
        Assert.Contains(field, stderr.ToString());
    }

    /// <summary>Answers 403 AccessDenied for the image (and sidecar) whose key holds <see cref="RefusedSha"/>, like a bucket policy denying one key.</summary>
    private sealed class RefusingStore(IObjectStore inner) : IObjectStore
    {
        private int _refusals;

        public volatile string? RefusedSha;

        public int Refusals => Volatile.Read(ref _refusals);

        private void Check(string key)
        {
            if (RefusedSha is { } sha && key.Contains(sha, StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _refusals);
                throw new Amazon.S3.AmazonS3Exception("Access Denied", Amazon.Runtime.ErrorType.Sender, "AccessDenied", "test-request", System.Net.HttpStatusCode.Forbidden);
            }
        }

        public Task PutAsync(string bucket, string key, Stream content, string contentType, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
        {
            Check(key);
            return inner.PutAsync(bucket, key, content, contentType, metadata, cancellationToken);
        }

        public Task<StoredObject?> HeadAsync(string bucket, string key, CancellationToken cancellationToken = default)
        {
            Check(key);
            return inner.HeadAsync(bucket, key, cancellationToken);
        }

        public Task<Stream?> OpenReadAsync(string bucket, string key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(bucket, key, cancellationToken);

        public IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(bucket, prefix, cancellationToken);

        public Task DeleteAsync(string bucket, string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(bucket, key, cancellationToken);
    }

    /// <summary>Fails every call with a network error while <see cref="Down"/> is set.</summary>
    private sealed class FlakyStore(IObjectStore inner) : IObjectStore
    {
        public volatile bool Down;
        private int _failures;

        public IObjectStore Inner => inner;

        public int Failures => Volatile.Read(ref _failures);

        private void Check()
        {
            if (Down)
            {
                Interlocked.Increment(ref _failures);
                throw new HttpRequestException("connection refused (test)");
            }
        }

        public Task PutAsync(string bucket, string key, Stream content, string contentType, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
        {
            Check();
            return inner.PutAsync(bucket, key, content, contentType, metadata, cancellationToken);
        }

        public Task<StoredObject?> HeadAsync(string bucket, string key, CancellationToken cancellationToken = default)
        {
            Check();
            return inner.HeadAsync(bucket, key, cancellationToken);
        }

        public Task<Stream?> OpenReadAsync(string bucket, string key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(bucket, key, cancellationToken);

        public async IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await foreach (var o in inner.ListAsync(bucket, prefix, cancellationToken))
            {
                yield return o;
            }
        }

        public Task DeleteAsync(string bucket, string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(bucket, key, cancellationToken);
    }
}
