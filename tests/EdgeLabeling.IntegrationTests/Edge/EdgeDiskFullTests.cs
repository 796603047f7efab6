using EdgeLabeling.IntegrationTests.Infrastructure;

namespace EdgeLabeling.IntegrationTests.Edge;

/// <summary>
/// The packaged component with its work directory on a real, small tmpfs: its own queue must stop short of
/// filling the disk; when something else fills it to the last page, finished uploads must still be able to
/// shrink the queue, the intake waits, and it resumes by itself once space returns. Every frame ends up in S3
/// exactly once.
/// </summary>
[Collection(PackagedComponentCollection.Name)]
[Trait("Category", "Integration")]
public sealed class EdgeDiskFullTests(PackagedComponent package) : IAsyncLifetime
{
    private const string Thing = "gg-core-diskfull";
    private const long DiskBytes = 3L * 1024 * 1024;
    private const long MinFreeBytes = 768L * 1024;
    private string _bucket = "";

    public async Task InitializeAsync() => _bucket = await S3TestServer.CreateBucketAsync("edge-diskfull");

    public Task DisposeAsync() => S3TestServer.DeleteBucketAsync(_bucket);

    [Fact]
    public async Task Run_WhenQueueAndThenAnotherWriterFillTheDisk_PausesIntakeAndStillDeliversEveryFrameOnce()
    {
        var dir = Path.Combine(package.Root, "diskfull-" + Guid.NewGuid().ToString("N")[..8]);
        var inbox = Path.Combine(dir, "inbox");
        using var disk = TmpfsMount.Create(DiskBytes);
        var work = Path.Combine(disk.Path, "work");
        // Enough frames that they cannot all fit on the small disk at once.
        var frames = new List<byte[]>();
        foreach (var f in EdgeTestKit.Variants(400, seed: 31))
        {
            frames.Add(f);
            if (frames.Sum(x => (long)x.Length) > DiskBytes * 13 / 10)
            {
                break;
            }
        }

        Assert.True(frames.Sum(f => (long)f.Length) > DiskBytes, $"{frames.Count} frames fit on the small disk");

        using var proxy = TcpProxy.For(S3TestServer.Endpoint);
        proxy.Cut();
        var svcuid = "svcuid-" + Guid.NewGuid().ToString("N");
        using var tes = new TokenExchangeServer(svcuid, () => (S3TestServer.AccessKey, S3TestServer.SecretKey));
        tes.Start();
        // Everything to review, so every frame must reach S3.
        var config = EdgeTestKit.Config(inbox, _bucket, proxy.Endpoint,
            ("AutoAcceptThreshold", "1"), ("UncertainLow", "0.01"), ("RoutingConfigPath", EdgeTestKit.NoDuplicatesRoutingConfig(dir)),
            ("MinFreeDiskBytes", MinFreeBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        using var run = new ComponentRun(package.InterpolatedRunScript(config, Thing, work), work, ComponentRun.NucleusEnvironment(Thing, svcuid, tes.FullUri));
        for (var i = 0; i < frames.Count; i++)
        {
            EdgeTestKit.Drop(inbox, $"frame-{i:D3}.jpg", frames[i]);
        }

        // 1. Link down: the queue grows until the free-space floor, then the intake pauses and says why.
        await Eventually.Until(
            () => StatusFile.TryRead(work) is { } s && s["backpressure"]!.GetValue<bool>() && s["backpressureReason"]?.GetValue<string>() == "disk-full",
            TimeSpan.FromSeconds(90),
            () => $"disk-full backpressure; free {disk.FreeBytes}; status {StatusFile.TryRead(work)?.ToJsonString()}\n{Tail(run.Output)}", EdgeTestKit.StatusPoll);
        var paused = StatusFile.TryRead(work)!;
        var queued = StatusFile.Long(paused, "queuedItems");
        Assert.InRange(queued, 10, frames.Count - 1);
        Assert.True(Directory.GetFiles(inbox, "*.jpg").Length > 0, "frames beyond the floor wait in the input folder");
        Assert.True(disk.FreeBytes >= MinFreeBytes / 2, $"the queue itself ate into the free-space floor: {disk.FreeBytes} bytes free");
        Assert.Contains("Disk nearly full", run.Output);

        // 2. Another writer takes the last page; then the link comes back.
        var ballast = disk.FillCompletely();
        Assert.Equal(0, disk.FreeBytes);
        proxy.Restore();

        // Finished uploads still commit (the queue gives up its space reserve, then local copies), so
        // everything queued while the disk filled up is delivered although the disk is still full. (Whether
        // the intake takes more frames meanwhile depends on what the freed blobs leave above the floor.)
        await Eventually.Until(
            async () => (await EdgeTestKit.IncomingImagesAsync(_bucket)).Count >= queued,
            TimeSpan.FromSeconds(90),
            () => $"the queued frames in S3 with the disk full; free {disk.FreeBytes}; status {StatusFile.TryRead(work)?.ToJsonString()}\n{Tail(run.Output)}", EdgeTestKit.StatusPoll);
        Assert.False(run.HasExited, "the component must ride out a full disk, not crash:\n" + Tail(run.Output));
        Assert.True(Directory.GetFiles(inbox, "*.jpg").Length > 0, "with the other writer's file still there, some frames must still wait");

        // 3. The other writer's file goes: the intake resumes by itself and the rest arrives.
        File.Delete(ballast);
        await Eventually.Until(
            async () => (await EdgeTestKit.IncomingImagesAsync(_bucket)).Count == frames.Count,
            TimeSpan.FromSeconds(120),
            () => $"every frame in S3; free {disk.FreeBytes}; inbox {Directory.GetFiles(inbox).Length}; status {StatusFile.TryRead(work)?.ToJsonString()}\n{Tail(run.Output)}", EdgeTestKit.StatusPoll);
        await Eventually.Until(
            () => StatusFile.TryRead(work) is { } s && StatusFile.Long(s, "queuedItems") == 0 && !s["backpressure"]!.GetValue<bool>(),
            TimeSpan.FromSeconds(30),
            () => $"queue empty and intake running; status {StatusFile.TryRead(work)?.ToJsonString()}", EdgeTestKit.StatusPoll);
        Assert.False(run.HasExited, "the component must ride out a full disk, not crash:\n" + Tail(run.Output));
        run.SigTerm();
        Assert.NotNull(await run.WaitForExitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, run.ExitCode);

        var images = await EdgeTestKit.IncomingImagesAsync(_bucket);
        foreach (var f in frames)
        {
            await EdgeTestKit.AssertReviewObjectAsync(_bucket, images[EdgeTestKit.Sha(f)], f);
        }

        var final = StatusFile.TryRead(work)!;
        Assert.Equal(0, StatusFile.Long(final, "drops"));
        Assert.Equal(0, StatusFile.Long(final, "lostMissingBlob"));
        Assert.Equal(0, StatusFile.Long(final, "lostOnRecovery"));
        Assert.Empty(Directory.GetFiles(inbox, "*.jpg"));
    }

    private static string Tail(string s) => s[^Math.Min(s.Length, 4000)..];
}
