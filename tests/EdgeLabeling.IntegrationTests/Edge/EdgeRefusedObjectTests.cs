using Amazon.S3.Model;
using EdgeLabeling.IntegrationTests.Infrastructure;

namespace EdgeLabeling.IntegrationTests.Edge;

/// <summary>
/// One object refused by the real server (a bucket policy that denies PutObject on one key, which radosgw
/// enforces even for the bucket owner) must not hold up the review images queued behind it.
/// </summary>
[Collection(PackagedComponentCollection.Name)]
[Trait("Category", "Integration")]
public sealed class EdgeRefusedObjectTests(PackagedComponent package) : IAsyncLifetime
{
    private const string Thing = "gg-core-refused";
    private string _bucket = "";

    public async Task InitializeAsync() => _bucket = await S3TestServer.CreateBucketAsync("edge-refused");

    public Task DisposeAsync() => S3TestServer.DeleteBucketAsync(_bucket);

    [Fact]
    public async Task Run_WhenBucketPolicyDeniesOneKey_OthersArriveAndItFollowsOnceAllowed()
    {
        var dir = Path.Combine(package.Root, "refused-" + Guid.NewGuid().ToString("N")[..8]);
        var inbox = Path.Combine(dir, "inbox");
        var work = Path.Combine(dir, "work");
        var frames = EdgeTestKit.Variants(6, seed: 21);
        var refused = frames[0];
        var refusedSha = EdgeTestKit.Sha(refused);
        using var client = S3TestServer.CreateClient();
        await client.PutBucketPolicyAsync(new PutBucketPolicyRequest
        {
            BucketName = _bucket,
            Policy = $$"""
                {"Version":"2012-10-17","Statement":[{"Sid":"DenyOneImage","Effect":"Deny","Principal":"*","Action":"s3:PutObject",
                  "Resource":"arn:aws:s3:::{{_bucket}}/incoming/{{Thing}}/*{{refusedSha}}*"}]}
                """,
        });

        var svcuid = "svcuid-" + Guid.NewGuid().ToString("N");
        using var tes = new TokenExchangeServer(svcuid, () => (S3TestServer.AccessKey, S3TestServer.SecretKey));
        tes.Start();
        // Everything to review, so every frame must reach people.
        var config = EdgeTestKit.Config(inbox, _bucket, S3TestServer.Endpoint, ("AutoAcceptThreshold", "1"), ("UncertainLow", "0.01"), ("RoutingConfigPath", EdgeTestKit.NoDuplicatesRoutingConfig(dir)));
        var script = package.InterpolatedRunScript(config, Thing, work);
        string firstOutput;
        using (var run = new ComponentRun(script, work, ComponentRun.NucleusEnvironment(Thing, svcuid, tes.FullUri)))
        {
            // The refused frame first, so it heads the review lane.
            EdgeTestKit.Drop(inbox, "frame-000.jpg", refused);
            await Eventually.Until(
                () => StatusFile.TryRead(work) is { } s && StatusFile.Long(s, "deferredItems") == 1,
                TimeSpan.FromSeconds(60),
                () => $"the refused frame set aside; status {StatusFile.TryRead(work)?.ToJsonString()}", EdgeTestKit.StatusPoll);
            for (var i = 1; i < frames.Count; i++)
            {
                EdgeTestKit.Drop(inbox, $"frame-{i:D3}.jpg", frames[i]);
            }

            await Eventually.Until(
                async () => (await EdgeTestKit.IncomingImagesAsync(_bucket)).Count == frames.Count - 1
                    && StatusFile.TryRead(work) is { } s && StatusFile.Long(s, "queuedItems") == 1,
                TimeSpan.FromSeconds(60),
                () => $"the other frames uploaded past the refused one; status {StatusFile.TryRead(work)?.ToJsonString()}", EdgeTestKit.StatusPoll);
            var status = StatusFile.TryRead(work)!;
            Assert.StartsWith("access-denied:", status["lastDeferralError"]!.GetValue<string>());
            Assert.Equal(0, StatusFile.Long(status, "drops"));
            run.SigTerm();
            Assert.NotNull(await run.WaitForExitAsync(TimeSpan.FromSeconds(5)));
            firstOutput = run.Output;
        }

        Assert.Contains(refusedSha, firstOutput);
        Assert.Contains("retried in", firstOutput);
        var images = await EdgeTestKit.IncomingImagesAsync(_bucket);
        Assert.DoesNotContain(refusedSha, images.Keys);
        foreach (var f in frames.Skip(1))
        {
            await EdgeTestKit.AssertReviewObjectAsync(_bucket, images[EdgeTestKit.Sha(f)], f);
        }

        // The operator lifts the policy and restarts the component: the item goes at once.
        await client.DeleteBucketPolicyAsync(_bucket);
        using (var run = new ComponentRun(script, work, ComponentRun.NucleusEnvironment(Thing, svcuid, tes.FullUri)))
        {
            await Eventually.Until(
                () => StatusFile.TryRead(work) is { } s && StatusFile.Long(s, "queuedItems") == 0 && StatusFile.Long(s, "deferredItems") == 0,
                TimeSpan.FromSeconds(60),
                () => $"the refused frame uploaded after restart; status {StatusFile.TryRead(work)?.ToJsonString()}\n{run.Output}", EdgeTestKit.StatusPoll);
            run.SigTerm();
            Assert.NotNull(await run.WaitForExitAsync(TimeSpan.FromSeconds(5)));
        }

        images = await EdgeTestKit.IncomingImagesAsync(_bucket);
        Assert.Equal(frames.Count, images.Count);
        await EdgeTestKit.AssertReviewObjectAsync(_bucket, images[refusedSha], refused);
    }
}
