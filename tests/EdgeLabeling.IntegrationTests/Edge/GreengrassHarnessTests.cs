using System.Net;
using EdgeLabeling.IntegrationTests.Infrastructure;

namespace EdgeLabeling.IntegrationTests.Edge;

/// <summary>
/// Runs the packaged component the way a Greengrass nucleus does: unpacked ZIP, interpolated Run script
/// through <c>sh -c</c>, the nucleus environment and credentials from a token exchange endpoint on
/// localhost that checks the component's token.
/// </summary>
[Collection(PackagedComponentCollection.Name)]
[Trait("Category", "Integration")]
public sealed class GreengrassHarnessTests(PackagedComponent package) : IAsyncLifetime
{
    private const string Thing = "gg-core-harness";
    private readonly string _dir = Path.Combine(package.Root, "run-" + Guid.NewGuid().ToString("N")[..8]);
    private string _bucket = "";

    public async Task InitializeAsync() => _bucket = await S3TestServer.CreateBucketAsync("edge-harness");

    public Task DisposeAsync() => S3TestServer.DeleteBucketAsync(_bucket);

    [Fact]
    public void Recipe_HasBothPlatformsTesDependencyAndStringDefaults()
    {
        var recipe = package.Recipe;
        Assert.Equal("2020-01-25", recipe["RecipeFormatVersion"]!.GetValue<string>());
        Assert.Equal(PackagedComponent.Version, recipe["ComponentVersion"]!.GetValue<string>());
        Assert.NotNull(recipe["ComponentDependencies"]!["aws.greengrass.TokenExchangeService"]);
        Assert.All(package.DefaultConfiguration, kv => Assert.Equal(System.Text.Json.JsonValueKind.String, kv.Value!.GetValueKind()));
        var manifest = package.Manifest();
        var artifact = manifest["Artifacts"]![0]!;
        Assert.Equal("ZIP", artifact["Unarchive"]!.GetValue<string>());
        Assert.EndsWith("edgelabeling-component-linux-x64.zip", artifact["URI"]!.GetValue<string>());
        var script = manifest["Lifecycle"]!["Run"]!["Script"]!.GetValue<string>();
        Assert.Contains("{artifacts:decompressedPath}/edgelabeling-component-linux-x64/", script);
        // Every option in the default configuration reaches the process.
        Assert.All(package.DefaultConfiguration, kv => Assert.Contains($"--{kv.Key} '{{configuration:/{kv.Key}}}'", script));
        Assert.False(manifest["Lifecycle"]!["Run"]!["RequiresPrivilege"]!.GetValue<bool>());
    }

    [Fact]
    public void Recipe_InstallRunsTheSelfTestAsRootWithTheRunArguments()
    {
        var lifecycle = package.Manifest()["Lifecycle"]!;
        var install = lifecycle["Install"]!;
        var run = lifecycle["Run"]!["Script"]!.GetValue<string>();
        var entry = "{artifacts:decompressedPath}/edgelabeling-component-linux-x64/edgelabeling-component";
        // The same command with --self-test right after the program: the checks see exactly what Run will get.
        Assert.StartsWith("exec " + entry + " ", run);
        Assert.Equal(run.Replace(entry, entry + " --self-test", StringComparison.Ordinal), install["Script"]!.GetValue<string>());
        // Root: the self-test creates the input folder and adds the component's user to the camera's group.
        Assert.True(install["RequiresPrivilege"]!.GetValue<bool>());
        Assert.Equal(120, install["Timeout"]!.GetValue<int>());
    }

    [Fact]
    public async Task TokenEndpoint_WithWrongAuthorization_Rejects()
    {
        using var tes = new TokenExchangeServer("right-token", () => (S3TestServer.AccessKey, S3TestServer.SecretKey));
        tes.Start();
        using var http = new HttpClient();
        using var wrong = new HttpRequestMessage(HttpMethod.Get, tes.FullUri) { Headers = { { "Authorization", "wrong-token" } } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrong)).StatusCode);
        using var right = new HttpRequestMessage(HttpMethod.Get, tes.FullUri) { Headers = { { "Authorization", "right-token" } } };
        var ok = await http.SendAsync(right);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Contains("SecretAccessKey", await ok.Content.ReadAsStringAsync());
        Assert.Equal(1, tes.Rejected);
    }

    [Fact]
    public async Task Run_AsNucleusWould_UploadsReviewImagesAndExitsCleanlyOnSigterm()
    {
        var svcuid = "svcuid-" + Guid.NewGuid().ToString("N");
        using var tes = new TokenExchangeServer(svcuid, () => (S3TestServer.AccessKey, S3TestServer.SecretKey));
        tes.Start();
        var inbox = Path.Combine(_dir, "inbox");
        var work = Path.Combine(_dir, "work");
        var script = package.InterpolatedRunScript(EdgeTestKit.Config(inbox, _bucket, S3TestServer.Endpoint, ("RoutingConfigPath", EdgeTestKit.NoDuplicatesRoutingConfig(_dir))), Thing, work);
        Assert.DoesNotContain("{configuration:", script);

        var frames = EdgeTestKit.Variants(12, seed: 1);
        for (var i = 0; i < frames.Count; i++)
        {
            EdgeTestKit.Drop(inbox, $"frame-{i:D3}.jpg", frames[i]);
        }

        using var run = new ComponentRun(script, work, ComponentRun.NucleusEnvironment(Thing, svcuid, tes.FullUri));
        await Eventually.Until(
            () => StatusFile.TryRead(work) is { } s && EdgeTestKit.Outcomes(s) == frames.Count && StatusFile.Long(s, "queuedItems") == 0,
            TimeSpan.FromSeconds(60),
            () => "all frames decided and uploaded; output:\n" + run.Output, EdgeTestKit.StatusPoll);
        // Not root: the component user, as ggc_user on a device, with a private work folder.
        var uid = File.ReadLines($"/proc/{run.Pid}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        Assert.Equal(DeviceAccounts.Run("id", "-u", PackagedComponent.ComponentUser).Output.Trim(), uid.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]);
        Assert.Equal($"{PackagedComponent.ComponentUser} 700", DeviceAccounts.Run("stat", "-c", "%U %a", work).Output.Trim());

        run.SigTerm();
        var took = await run.WaitForExitAsync(TimeSpan.FromSeconds(5));
        Assert.True(took is not null, "component did not exit within 5 s of SIGTERM:\n" + run.Output);
        Assert.Equal(0, run.ExitCode);
        // Short-lived credentials (as the token exchange service hands out near their end) are fetched again.
        Assert.True(tes.Served >= 2, $"credentials fetched {tes.Served} time(s); the SDK must refresh short-lived ones");
        Assert.Equal(0, tes.Rejected);
        Assert.Empty(Directory.GetFiles(inbox));

        var status = StatusFile.TryRead(work)!;
        Assert.Equal("stopped", status["state"]!.GetValue<string>());
        Assert.Equal(0, StatusFile.Long(status, "drops"));
        var images = await EdgeTestKit.IncomingImagesAsync(_bucket);
        var reviewCount = status["outcomes"]!["human-review"]!.GetValue<long>() + status["outcomes"]!["audit"]!.GetValue<long>();
        Assert.Equal(reviewCount, images.Count);
        foreach (var frame in frames)
        {
            if (images.TryGetValue(EdgeTestKit.Sha(frame), out var key))
            {
                await EdgeTestKit.AssertReviewObjectAsync(_bucket, key, frame);
                Assert.Contains($"/{Thing}/", key);
            }
        }

        Assert.Contains("\"LogLevel\"", run.Output);
    }

    [Fact]
    public async Task Run_WhenTokenEndpointDownThenBadThenGood_KeepsItemsQueuedAndRecovers()
    {
        var svcuid = "svcuid-" + Guid.NewGuid().ToString("N");
        using var tes = new TokenExchangeServer(svcuid, () => (S3TestServer.AccessKey, S3TestServer.SecretKey));
        var inbox = Path.Combine(_dir, "inbox");
        var work = Path.Combine(_dir, "work");
        // Every frame goes to review (threshold 1.0 makes nothing confident), so every one must reach S3.
        var script = package.InterpolatedRunScript(EdgeTestKit.Config(inbox, _bucket, S3TestServer.Endpoint, ("AutoAcceptThreshold", "1"), ("UncertainLow", "0.01"), ("RoutingConfigPath", EdgeTestKit.NoDuplicatesRoutingConfig(_dir))), Thing, work);
        var frames = EdgeTestKit.Variants(6, seed: 2);
        for (var i = 0; i < frames.Count; i++)
        {
            EdgeTestKit.Drop(inbox, $"frame-{i:D3}.jpg", frames[i]);
        }

        using var run = new ComponentRun(script, work, ComponentRun.NucleusEnvironment(Thing, svcuid, tes.FullUri));
        await Eventually.Until(
            () => StatusFile.TryRead(work) is { } s && EdgeTestKit.Outcomes(s) == frames.Count && s["lastUploadErrorKind"]?.GetValue<string>() == "credentials-unavailable",
            TimeSpan.FromSeconds(60),
            () => "credentials-unavailable in status; output:\n" + run.Output, EdgeTestKit.StatusPoll);
        Assert.Equal(frames.Count, StatusFile.Long(StatusFile.TryRead(work)!, "queuedItems"));
        Assert.Contains("Upload failed (credentials-unavailable)", run.Output);

        tes.ServeBadKeys = true;
        tes.Start();
        await Eventually.Until(
            () => StatusFile.TryRead(work) is { } s && s["lastUploadErrorKind"]?.GetValue<string>() is "bad-credentials" or "forbidden",
            TimeSpan.FromSeconds(30),
            () => "bad-credentials in status; output:\n" + run.Output, EdgeTestKit.StatusPoll);
        Assert.Contains("S3 refused the request (403", run.Output);
        Assert.Equal(frames.Count, StatusFile.Long(StatusFile.TryRead(work)!, "queuedItems"));
        Assert.Empty(await EdgeTestKit.IncomingImagesAsync(_bucket));

        tes.ServeBadKeys = false;
        await Eventually.Until(
            () => StatusFile.TryRead(work) is { } s && StatusFile.Long(s, "queuedItems") == 0 && s["online"]!.GetValue<bool>(),
            TimeSpan.FromSeconds(30),
            () => "recovery; output:\n" + run.Output, EdgeTestKit.StatusPoll);
        var images = await EdgeTestKit.IncomingImagesAsync(_bucket);
        Assert.Equal(frames.Count, images.Count);
        foreach (var frame in frames)
        {
            await EdgeTestKit.AssertReviewObjectAsync(_bucket, images[EdgeTestKit.Sha(frame)], frame);
        }

        run.SigTerm();
        Assert.NotNull(await run.WaitForExitAsync(TimeSpan.FromSeconds(5)));
    }
}
