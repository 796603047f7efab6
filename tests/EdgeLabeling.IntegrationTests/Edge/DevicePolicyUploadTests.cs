using Amazon.Runtime;
using Amazon.S3;
using EdgeLabeling.Edge.Upload;
using EdgeLabeling.IntegrationTests.Infrastructure;
using EdgeLabeling.Storage;

namespace EdgeLabeling.IntegrationTests.Edge;

/// <summary>
/// Uploads with the permissions a device really has (a radosgw user limited by a bucket policy that mirrors
/// the token-exchange role), not the test runner's full-access keys. Under that policy a HEAD of a missing
/// key answers 403, not 404.
/// </summary>
[Collection(PackagedComponentCollection.Name)]
[Trait("Category", "Integration")]
public sealed class DevicePolicyUploadTests(PackagedComponent package) : IAsyncLifetime
{
    private const string Thing = "gg-core-policy";
    private string _bucket = "";
    private RgwDeviceUser? _user;

    private RgwDeviceUser User => _user!;

    public async Task InitializeAsync()
    {
        _bucket = await S3TestServer.CreateBucketAsync("edge-policy");
        _user = await RgwDeviceUser.CreateAsync();
        await _user.ApplyDevicePolicyAsync(_bucket, Thing);
    }

    public async Task DisposeAsync()
    {
        await S3TestServer.DeleteBucketAsync(_bucket);
        if (_user is not null)
        {
            await _user.DisposeAsync();
        }
    }

    [Fact]
    public async Task PutOnceAsync_MissingKeyUnderDevicePolicy_HeadIs403AndTheObjectIsUploaded()
    {
        using var client = S3TestServer.Settings().CreateClient(new BasicAWSCredentials(User.AccessKey, User.SecretKey));
        var store = new S3ObjectStore(client, S3TestServer.Settings());
        var key = $"incoming/{Thing}/2026/12/03/{new string('a', 64)}.jpg";
        var bytes = new byte[2048];
        Random.Shared.NextBytes(bytes);
        var sha = EdgeTestKit.Sha(bytes);

        // The premise: the server hides a missing key from a caller that may not list it.
        var head = await Assert.ThrowsAsync<AmazonS3Exception>(() => store.HeadAsync(_bucket, key));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, head.StatusCode);

        var uploader = new ObjectUploader(new FixedObjectStoreProvider(store), _bucket, null);
        Assert.Equal(bytes.Length, await uploader.PutOnceAsync(key, () => new MemoryStream(bytes), bytes.Length, sha, "image/jpeg", CancellationToken.None, mayExist: true));
        Assert.Equal(1, uploader.HeadsForbidden);
        // Once the object is there the HEAD answers (GetObject is granted) and the resend is skipped.
        Assert.Equal(0, await uploader.PutOnceAsync(key, () => new MemoryStream(bytes), bytes.Length, sha, "image/jpeg", CancellationToken.None, mayExist: true));
        Assert.Equal(1, uploader.HeadsForbidden);
        Assert.Equal(bytes, await S3TestServer.CreateStore().ReadBytesAsync(_bucket, key));

        // Another device's prefix stays closed: the PUT's own answer is an item-only refusal.
        var other = $"incoming/other-thing/2026/12/03/{sha}.jpg";
        var refused = await Assert.ThrowsAsync<AmazonS3Exception>(() => uploader.PutOnceAsync(other, () => new MemoryStream(bytes), bytes.Length, sha, "image/jpeg", CancellationToken.None));
        Assert.Equal("access-denied", UploadWorker.Classify(refused));
    }

    [Fact]
    public async Task Run_ItemsQueuedBeforeRestartUnderDevicePolicy_AllArriveWithoutStalling()
    {
        var dir = Path.Combine(package.Root, "policy-" + Guid.NewGuid().ToString("N")[..8]);
        var inbox = Path.Combine(dir, "inbox");
        var work = Path.Combine(dir, "work");
        var svcuid = "svcuid-" + Guid.NewGuid().ToString("N");
        using var tes = new TokenExchangeServer(svcuid, () => (User.AccessKey, User.SecretKey));
        // Everything to review: each frame is an image and a sidecar under incoming/<thing>/.
        var config = EdgeTestKit.Config(inbox, _bucket, S3TestServer.Endpoint, ("AutoAcceptThreshold", "1"), ("UncertainLow", "0.01"), ("RoutingConfigPath", EdgeTestKit.NoDuplicatesRoutingConfig(dir)));
        var script = package.InterpolatedRunScript(config, Thing, work);
        var frames = EdgeTestKit.Variants(4, seed: 31);
        for (var i = 0; i < frames.Count; i++)
        {
            EdgeTestKit.Drop(inbox, $"frame-{i:D3}.jpg", frames[i]);
        }

        // First run: the token exchange service is down, so everything is queued and nothing sent.
        using (var run = new ComponentRun(script, work, ComponentRun.NucleusEnvironment(Thing, svcuid, tes.FullUri)))
        {
            await Eventually.Until(
                () => StatusFile.TryRead(work) is { } s && StatusFile.Long(s, "queuedItems") == frames.Count && s["lastUploadErrorKind"] is not null,
                TimeSpan.FromSeconds(60),
                () => "frames queued while credentials are unavailable; output:\n" + run.Output, EdgeTestKit.StatusPoll);
            run.SigTerm();
            Assert.NotNull(await run.WaitForExitAsync(TimeSpan.FromSeconds(5)));
        }

        // Second run: the items predate this process, so each upload starts with a HEAD, which answers 403.
        tes.Start();
        using (var run = new ComponentRun(script, work, ComponentRun.NucleusEnvironment(Thing, svcuid, tes.FullUri)))
        {
            await Eventually.Until(
                () => StatusFile.TryRead(work) is { } s && StatusFile.Long(s, "queuedItems") == 0,
                TimeSpan.FromSeconds(60),
                () => $"queue drained under the device policy; status {StatusFile.TryRead(work)?.ToJsonString()}\n{run.Output}", EdgeTestKit.StatusPoll);
            var status = StatusFile.TryRead(work)!;
            Assert.Equal(0, StatusFile.Long(status, "deferredItems"));
            Assert.DoesNotContain("Upload failed (forbidden)", run.Output);
            run.SigTerm();
            Assert.NotNull(await run.WaitForExitAsync(TimeSpan.FromSeconds(5)));
        }

        var images = await EdgeTestKit.IncomingImagesAsync(_bucket);
        Assert.Equal(frames.Count, images.Count);
        foreach (var frame in frames)
        {
            await EdgeTestKit.AssertReviewObjectAsync(_bucket, images[EdgeTestKit.Sha(frame)], frame);
        }
    }
}
