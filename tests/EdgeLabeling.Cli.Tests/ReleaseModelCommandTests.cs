using System.Text;
using System.Text.Json.Nodes;

namespace EdgeLabeling.Cli.Tests;

/// <summary>
/// <c>edgelabel release-model</c> on the real demo model and its held-out set. The "new" models are the demo model with
/// its class-name metadata rewritten in place (same length, so the protobuf stays valid): a new SHA-256, the same weights.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ReleaseModelCommandTests : IDisposable
{
    private const string DemoNames = "{0: 'bolt', 1: 'nut', 2: 'washer'}";
    private readonly TempDir _temp = new("edgelabel-release-");

    public ReleaseModelCommandTests()
    {
        // cdk.json as shipped, with a canary group for dev; version 1.0.0 is what the fleet runs.
        var cdk = JsonNode.Parse(File.ReadAllText(Path.Combine(CliRunner.RepoRoot, "cdk.json")))!;
        cdk["context"]!["environments"]!["dev"]!["fleet"]!["canaryThingGroupArn"] = "arn:aws:iot:eu-west-1:111111111111:thinggroup/edgelabeling-dev-canary";
        File.WriteAllText(CdkJson, cdk.ToJsonString());
        Directory.CreateDirectory(Path.Combine(ComponentDir, "1.0.0"));
        File.WriteAllText(Path.Combine(ComponentDir, "1.0.0", "recipe.json"), "{}");
    }

    public void Dispose() => _temp.Dispose();

    private string CdkJson => Path.Combine(_temp.Path, "cdk.json");

    private string ComponentDir => Path.Combine(_temp.Path, "component");

    private static string Samples(params string[] parts) => Path.Combine([CliRunner.RepoRoot, "samples", .. parts]);

    private static string DemoModel => Samples("models", "parts-detector.onnx");

    /// <summary>The demo model with <paramref name="names"/> as its class-name metadata.</summary>
    private string ModelWithNames(string names, string file)
    {
        Assert.Equal(DemoNames.Length, names.Length);
        var bytes = File.ReadAllBytes(DemoModel);
        var from = Encoding.UTF8.GetBytes(DemoNames);
        var at = bytes.AsSpan().IndexOf(from);
        Assert.True(at >= 0, "the demo model's names metadata was not found");
        Encoding.UTF8.GetBytes(names).CopyTo(bytes, at);
        var path = Path.Combine(_temp.Path, file);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private (int Code, string Stdout, string Stderr) Release(string model, params string[] extra) => ReleaseWithin(TimeSpan.FromMinutes(5), model, extra);

    private (int Code, string Stdout, string Stderr) ReleaseWithin(TimeSpan timeout, string model, params string[] extra) => CliRunner.RunIn(CliRunner.RepoRoot, timeout,
    [
        "release-model", "--model", model, "--version", "1.1.0",
        "--holdout-images", Samples("calibration", "holdout", "images"), "--holdout-labels", Samples("calibration", "holdout", "labels"),
        "--current-model", DemoModel, "--cdk-json", CdkJson, "--component-dir", ComponentDir, "--out", Path.Combine(_temp.Path, "out"), .. extra,
    ]);

    [Fact]
    public void Release_RenamedClassWithoutMap_RefusesNamingTheClassAndTheFix()
    {
        var (code, _, stderr) = Release(ModelWithNames("{0: 'stud', 1: 'nut', 2: 'washer'}", "renamed.onnx"));

        Assert.Equal(5, code);
        Assert.Contains("class 0 'bolt' is 'stud' in the new model: if it was renamed on purpose, pass --class-map bolt=stud", stderr, StringComparison.Ordinal);
        Assert.Contains("nothing was packaged", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(ComponentDir, "1.1.0")));
    }

    [Fact]
    public void Release_ReorderedClasses_RefusesNamingBothMoves()
    {
        var (code, _, stderr) = Release(ModelWithNames("{0: 'nut', 1: 'bolt', 2: 'washer'}", "reordered.onnx"));

        Assert.Equal(5, code);
        Assert.Contains("class 'bolt' moved from id 0 to id 1 (id 0 is now 'nut')", stderr, StringComparison.Ordinal);
        Assert.Contains("class 'nut' moved from id 1 to id 0 (id 1 is now 'bolt')", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Release_ReviewShareAboveLimit_RefusesWithTheNumbers()
    {
        var (code, _, stderr) = Release(DemoModel, "--max-review-share", "0.05", "--target-precision", "0.95");

        Assert.Equal(4, code);
        Assert.Matches(@"the target precision 95\.0% is met only at auto-accept ≥ 0\.\d\d with \d+\.\d% of images to people, above --max-review-share 5\.0%", stderr);
        Assert.Contains("250 held-out images", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Release_UnreachableTarget_RefusesWithTheBestReachable()
    {
        var (code, _, stderr) = Release(DemoModel, "--target-precision", "0.999", "--confidence-z", "2");

        Assert.Equal(4, code);
        Assert.Contains("no threshold meets the target precision 99.9%", stderr, StringComparison.Ordinal);
        Assert.Matches(@"the best is \d+\.\d% at auto-accept ≥ 0\.\d\d", stderr);
    }

    [Theory]
    [InlineData("--version", "1.1", "--version '1.1' must be major.minor.patch")]
    [InlineData("--version", "0.9.0", "no packaged version below 0.9.0")]
    [InlineData("--current-version", "1.2.0", "--version 1.1.0 must be above the version the fleet runs today (1.2.0)")]
    [InlineData("--holdout-images", "/nonexistent/images", "--holdout-images folder '/nonexistent/images' does not exist")]
    [InlineData("--current-model", "/nonexistent/m.onnx", "--current-model '/nonexistent/m.onnx' does not exist")]
    [InlineData("--class-map", "bolt", "--class-map 'bolt' must be OLD=NEW")]
    [InlineData("--max-review-share", "1.5", "--max-review-share 1.5 must be within (0, 1]")]
    public void Release_BadInput_ExitsTwoNamingIt(string option, string value, string message)
    {
        var args = new List<string>
        {
            "release-model", "--model", DemoModel, "--version", "1.1.0",
            "--holdout-images", Samples("calibration", "holdout", "images"), "--holdout-labels", Samples("calibration", "holdout", "labels"),
            "--current-model", DemoModel, "--cdk-json", CdkJson, "--component-dir", ComponentDir,
        };
        var at = args.IndexOf(option);
        if (at >= 0)
        {
            args[at + 1] = value;
        }
        else
        {
            args.AddRange([option, value]);
        }

        var (code, _, stderr) = CliRunner.Run([.. args]);

        Assert.Equal(2, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Release_EnvironmentWithoutCanaryGroup_RefusesBeforeAnyWork()
    {
        var cdk = JsonNode.Parse(File.ReadAllText(CdkJson))!;
        cdk["context"]!["environments"]!["dev"]!["fleet"]!.AsObject().Remove("canaryThingGroupArn");
        File.WriteAllText(CdkJson, cdk.ToJsonString());

        var (code, _, stderr) = Release(DemoModel);

        Assert.Equal(2, code);
        Assert.Contains("environments.dev.fleet.canaryThingGroupArn is not set: a model release goes to a canary thing group first", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_ListsEveryOption()
    {
        var (code, stdout, _) = CliRunner.Run("release-model", "--help");

        Assert.Equal(0, code);
        foreach (var option in new[] { "--model", "--version", "--holdout-images", "--holdout-labels", "--current-model", "--class-map", "--target-precision", "--max-review-share", "--env", "--out", "--json" })
        {
            Assert.Contains(option, stdout, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// The whole release with a class renamed on purpose: packaged by scripts/package-component.sh (one framework-dependent
    /// archive, to keep the test short), thresholds from the held-out set, the fleet held on 1.0.0 with its own thresholds.
    /// Releasing 1.1.0 again with another model is refused.
    /// </summary>
    [Fact]
    public void Release_MappedRename_PackagesAndWritesCanaryFirstSettings()
    {
        var before = JsonNode.Parse(File.ReadAllText(CdkJson))!["context"]!["environments"]!["dev"]!["routing"]!.DeepClone();
        var model = ModelWithNames("{0: 'stud', 1: 'nut', 2: 'washer'}", "renamed.onnx");

        // Packaging runs a dotnet publish of the component: minutes on a busy 2-core machine.
        var (code, stdout, stderr) = ReleaseWithin(TimeSpan.FromMinutes(20), model, "--class-map", "bolt=stud", "--max-review-share", "0.7", "--rid", "linux-x64", "--framework-dependent", "--json");

        Assert.True(code == 0, $"exit {code}: {stderr}");
        var report = JsonNode.Parse(stdout)!;
        Assert.True(report["released"]!.GetValue<bool>());
        Assert.Equal("1.0.0", report["previousVersion"]!.GetValue<string>());
        var versionDir = Path.Combine(ComponentDir, "1.1.0");
        Assert.True(File.Exists(Path.Combine(versionDir, "recipe.json")));
        Assert.True(File.Exists(Path.Combine(versionDir, "edgelabeling-component-linux-x64.zip")));
        using (var zip = System.IO.Compression.ZipFile.OpenRead(Path.Combine(versionDir, "edgelabeling-component-linux-x64.zip")))
        {
            var packaged = zip.GetEntry("model/renamed.onnx");
            Assert.NotNull(packaged);
            Assert.Equal(new FileInfo(model).Length, packaged.Length);
        }

        Assert.Equal("1.1.0", JsonNode.Parse(File.ReadAllText(Path.Combine(versionDir, "recipe.json")))!["ComponentVersion"]!.GetValue<string>());
        var record = JsonNode.Parse(File.ReadAllText(Path.Combine(versionDir, "release.json")))!;
        Assert.Equal(["stud", "nut", "washer"], record["model"]!["classes"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Contains("class 0 'bolt' is now 'stud' (--class-map)", record["classChanges"]!.AsArray().Select(n => n!.GetValue<string>()));
        var holdout = record["holdout"]!;
        Assert.True(holdout["autoPrecision"]!.GetValue<double>() >= 0.95);
        Assert.True(holdout["humanShare"]!.GetValue<double>() <= 0.7);

        var env = JsonNode.Parse(File.ReadAllText(CdkJson))!["context"]!;
        Assert.Equal("component/1.1.0", env["componentDir"]!.GetValue<string>());
        var dev = env["environments"]!["dev"]!;
        Assert.Equal(record["routing"]!["autoAcceptThreshold"]!.GetValue<double>(), dev["routing"]!["autoAcceptThreshold"]!.GetValue<double>());
        Assert.Equal(record["routing"]!["uncertainLow"]!.GetValue<double>(), dev["routing"]!["uncertainLow"]!.GetValue<double>());
        Assert.True(JsonNode.DeepEquals(record["routing"]!["classThresholds"], dev["routing"]!["classThresholds"]));
        Assert.Equal("1.0.0", dev["fleet"]!["fleetComponentVersion"]!.GetValue<string>());
        Assert.Equal(before["autoAcceptThreshold"]!.GetValue<double>(), dev["fleet"]!["fleetRouting"]!["autoAcceptThreshold"]!.GetValue<double>());
        Assert.Equal(before["uncertainLow"]!.GetValue<double>(), dev["fleet"]!["fleetRouting"]!["uncertainLow"]!.GetValue<double>());
        Assert.Contains(report["nextSteps"]!.AsArray().Select(n => n!.GetValue<string>()), s => s.StartsWith("upload and deploy the edge stack: npx cdk deploy -c env=dev", StringComparison.Ordinal));

        // A released version never changes.
        var (again, _, againErr) = Release(DemoModel, "--max-review-share", "0.7", "--rid", "linux-x64", "--framework-dependent");
        Assert.Equal(2, again);
        Assert.Contains("version 1.1.0 was already released with another model or thresholds", againErr, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(versionDir, "*.zip"));
    }
}
