using System.IO.Compression;
using System.Text.Json.Nodes;
using EdgeLabeling.IntegrationTests.Infrastructure;

namespace EdgeLabeling.IntegrationTests.Edge;

/// <summary>
/// Rollouts on a device modelled after the nucleus (<see cref="GreengrassDevice"/>): what fails a deployment,
/// what a rollback leaves running, and what the component does on a device set up by its own Install step.
/// </summary>
[Collection(PackagedComponentCollection.Name)]
[Trait("Category", "Integration")]
public sealed class GreengrassDeploymentTests(PackagedComponent package) : IAsyncLifetime
{
    private const string Thing = "gg-core-deploy";
    private readonly string _dir = Path.Combine(package.Root, "deploy-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _svcuid = "svcuid-" + Guid.NewGuid().ToString("N");
    private string _bucket = "";
    private TokenExchangeServer? _tes;

    private string Inbox => Path.Combine(_dir, "lib", "inbox");

    public async Task InitializeAsync()
    {
        _bucket = await S3TestServer.CreateBucketAsync("edge-deploy");
        // Like /var/lib/edgelabeling: root's, so the component cannot create the input folder by itself.
        Directory.CreateDirectory(Path.Combine(_dir, "lib"));
        _tes = new TokenExchangeServer(_svcuid, () => (S3TestServer.AccessKey, S3TestServer.SecretKey));
        _tes.Start();
    }

    public async Task DisposeAsync()
    {
        _tes?.Dispose();
        await S3TestServer.DeleteBucketAsync(_bucket);
    }

    private GreengrassDevice NewDevice() =>
        new(package, Thing, Path.Combine(_dir, "work"), () => ComponentRun.NucleusEnvironment(Thing, _svcuid, _tes!.FullUri));

    private Dictionary<string, string> Config(params (string Key, string Value)[] extra) =>
        EdgeTestKit.Config(Inbox, _bucket, S3TestServer.Endpoint, [("RoutingConfigPath", EdgeTestKit.NoDuplicatesRoutingConfig(_dir)), .. extra]);

    [Fact]
    public async Task Deploy_BadOption_FailsAndThePreviousConfigurationKeepsRunning()
    {
        using var device = NewDevice();
        var good = Config();
        var first = await device.DeployAsync(good);
        Assert.True(first.Status == DeploymentStatus.Succeeded, first.Detail);

        // A value the component refuses: without the Install step the nucleus would report success
        // (the process is started) and the component would then die on every restart.
        var bad = Config(("UploadJpegQuality", "500"));
        var second = await device.DeployAsync(bad);

        Assert.Equal(DeploymentStatus.Failed, second.Status);
        Assert.Contains("UploadJpegQuality: 500 must be 1-100", second.Detail);
        Assert.Equal("RUNNING", device.State);
        Assert.Equal("90", device.ActiveConfiguration!.GetValueOrDefault("UploadJpegQuality", "90"));

        // The rolled-back component does its work.
        var frame = EdgeTestKit.Variants(1, seed: 41)[0];
        EdgeTestKit.Drop(Inbox, "after-rollback.jpg", frame);
        await Eventually.Until(
            () => StatusFile.TryRead(device.WorkPath) is { } s && EdgeTestKit.Outcomes(s) >= 1 && !File.Exists(Path.Combine(Inbox, "after-rollback.jpg")),
            TimeSpan.FromSeconds(60),
            () => "the previous configuration processes frames; output:\n" + device.Current?.Output, EdgeTestKit.StatusPoll);
        Assert.False(device.Current!.HasExited);
        Assert.Equal(1, device.Starts);
    }

    [Fact]
    public async Task Deploy_InputFolderMissingUnderRootParent_InstallCreatesItForTheCameraGroupAndJoinsIt()
    {
        var cameraGroup = "edgelabel-c" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            using var device = NewDevice();
            Assert.False(Directory.Exists(Inbox));
            Assert.DoesNotContain(cameraGroup, DeviceAccounts.GroupsOf(PackagedComponent.ComponentUser));

            var result = await device.DeployAsync(Config(("CameraGroup", cameraGroup)));

            Assert.True(result.Status == DeploymentStatus.Succeeded, result.Detail);
            Assert.Contains("self-test passed", device.InstallOutputs[^1]);
            var (_, stat) = DeviceAccounts.Run("stat", "-c", "%U:%G %a", Inbox);
            Assert.Equal($"root:{cameraGroup} 2770", stat.Trim());
            Assert.Contains(cameraGroup, DeviceAccounts.GroupsOf(PackagedComponent.ComponentUser));

            // The camera (root here) writes a frame; the component, a member of the group, takes and removes it.
            EdgeTestKit.Drop(Inbox, "first.jpg", EdgeTestKit.Variants(1, seed: 42)[0]);
            await Eventually.Until(
                () => StatusFile.TryRead(device.WorkPath) is { } s && EdgeTestKit.Outcomes(s) == 1 && !File.Exists(Path.Combine(Inbox, "first.jpg")),
                TimeSpan.FromSeconds(60),
                () => "frame taken from the created folder; output:\n" + device.Current?.Output, EdgeTestKit.StatusPoll);
            Assert.Equal("RUNNING", device.State);
        }
        finally
        {
            DeviceAccounts.Run("groupdel", cameraGroup);
        }
    }

    [Fact]
    public async Task Run_ErroringThreeTimesWithinAnHour_IsBrokenAndStaysDownAlthoughTheDeploymentSucceeded()
    {
        using var device = NewDevice();
        var result = await device.DeployAsync(Config());
        Assert.Equal(DeploymentStatus.Succeeded, result.Status);

        for (var error = 1; error <= 3; error++)
        {
            var run = device.Current!;
            await Eventually.Until(() => StatusFile.TryRead(device.WorkPath) is not null, TimeSpan.FromSeconds(60), () => "component up; output:\n" + run.Output, EdgeTestKit.StatusPoll);
            run.SigKill();
            var expected = error < 3 ? "RUNNING" : "BROKEN";
            await Eventually.Until(
                () => device.State == expected && (expected == "BROKEN" || !ReferenceEquals(device.Current, run)),
                TimeSpan.FromSeconds(30),
                () => $"state {device.State} after error {error}", EdgeTestKit.StatusPoll);
        }

        // Once the supervisor has given up nothing can start the component again, so what follows stays true.
        await Eventually.Until(() => !device.Supervising, TimeSpan.FromSeconds(10), "the device giving up on the broken component");
        Assert.Equal("BROKEN", device.State);
        Assert.True(device.Current!.HasExited);
        Assert.Equal(3, device.Starts);
    }

    [Fact]
    public async Task Run_FramesTheUserCannotReadOrDelete_AreCountedInStatusAndWarnedOnce()
    {
        using var device = NewDevice();
        Assert.Equal(DeploymentStatus.Succeeded, (await device.DeployAsync(Config())).Status);
        var frames = EdgeTestKit.Variants(3, seed: 43);

        // A frame the camera wrote with a mode that leaves the component's user out.
        EdgeTestKit.Drop(Inbox, "locked.jpg", frames[0]);
        DeviceAccounts.Chmod(Path.Combine(Inbox, "locked.jpg"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        // Sticky folder: the group may add files but only their owner (root, the camera) may remove them.
        DeviceAccounts.Chmod(Inbox, (UnixFileMode)0b011_111_111_000);
        EdgeTestKit.Drop(Inbox, "kept.jpg", frames[1]);
        await Eventually.Until(
            () => StatusFile.TryRead(device.WorkPath) is { } s && s["unreadableFrames"]?.GetValue<int>() == 1 && s["undeletableFrames"]?.GetValue<int>() == 1,
            TimeSpan.FromSeconds(60),
            () => $"stuck frames counted; status {StatusFile.TryRead(device.WorkPath)?.ToJsonString()}\n{device.Current?.Output}", EdgeTestKit.StatusPoll);

        // Several more scan rounds: the kept frame is not decided again, neither is warned about again.
        await Eventually.Elapse(TimeSpan.FromSeconds(2), "a real component's scan rounds, any of which would decide or warn about a frame again");
        var status = StatusFile.TryRead(device.WorkPath)!;
        Assert.Equal(1, EdgeTestKit.Outcomes(status));
        var output = device.Current!.Output;
        Assert.Equal(1, Lines(output, "locked.jpg cannot be read by this user"));
        Assert.Equal(1, Lines(output, "Could not remove accepted frame"));
        // The JSON console log escapes the arrow, so match up to it.
        Assert.Equal(1, Lines(output, "\"Frame kept.jpg -"));

        // Once the camera fixes the mode and removes the kept frame, both counts go back to 0.
        DeviceAccounts.Chmod(Path.Combine(Inbox, "locked.jpg"), (UnixFileMode)0b110_100_100);
        File.Delete(Path.Combine(Inbox, "kept.jpg"));
        await Eventually.Until(
            () => StatusFile.TryRead(device.WorkPath) is { } s && s["unreadableFrames"]?.GetValue<int>() == 0 && s["undeletableFrames"]?.GetValue<int>() == 1,
            TimeSpan.FromSeconds(30),
            () => $"locked frame read once readable (and kept, the folder is still sticky); status {StatusFile.TryRead(device.WorkPath)?.ToJsonString()}", EdgeTestKit.StatusPoll);
        Assert.Equal(2, EdgeTestKit.Outcomes(StatusFile.TryRead(device.WorkPath)!));
    }

    [Fact]
    public void ExtractLikeNucleus_ZipModesDroppedAndRecipePermissionApplied()
    {
        var dir = Path.Combine(_dir, "zip");
        Directory.CreateDirectory(dir);
        var zip = Path.Combine(dir, "tool.zip");
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            foreach (var (name, mode) in new[] { ("bin/tool", 0b111_101_101), ("lib/data.bin", 0b110_110_110) })
            {
                var entry = archive.CreateEntry(name);
                entry.ExternalAttributes = mode << 16;
                using var w = entry.Open();
                w.Write([1, 2, 3]);
            }
        }

        PackagedComponent.ExtractLikeNucleus(zip, Path.Combine(dir, "none"), new JsonObject { ["Read"] = "OWNER", ["Execute"] = "NONE" }, PackagedComponent.ComponentUser);
        PackagedComponent.ExtractLikeNucleus(zip, Path.Combine(dir, "owner"), new JsonObject { ["Read"] = "OWNER", ["Execute"] = "OWNER" }, PackagedComponent.ComponentUser);

        Assert.Equal($"{PackagedComponent.ComponentUser} 400", Stat(Path.Combine(dir, "none", "bin", "tool")));
        Assert.Equal($"{PackagedComponent.ComponentUser} 400", Stat(Path.Combine(dir, "none", "lib", "data.bin")));
        Assert.Equal($"{PackagedComponent.ComponentUser} 500", Stat(Path.Combine(dir, "owner", "bin", "tool")));
        Assert.Equal($"{PackagedComponent.ComponentUser} 755", Stat(Path.Combine(dir, "owner", "bin")));
        // The packaged component as the harness installed it.
        Assert.Equal($"{PackagedComponent.ComponentUser} 500", Stat(Path.Combine(package.DecompressedPath, "edgelabeling-component-linux-x64", "edgelabeling-component")));
    }

    private static string Stat(string path) => DeviceAccounts.Run("stat", "-c", "%U %a", path).Output.Trim();

    private static int Lines(string output, string what) =>
        output.Split('\n').Count(l => l.Contains(what, StringComparison.Ordinal));
}
