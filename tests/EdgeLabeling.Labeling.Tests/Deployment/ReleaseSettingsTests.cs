using System.Text.Json.Nodes;
using EdgeLabeling.Labeling.Deployment;

namespace EdgeLabeling.Labeling.Tests.Deployment;

/// <summary>The canary-first settings a release writes into cdk.json (docs/deploy.md §7).</summary>
public sealed class ReleaseSettingsTests : IDisposable
{
    private readonly TempDir _temp = new("release-settings-");

    public void Dispose() => _temp.Dispose();

    private static JsonObject Cdk() => (JsonObject)JsonNode.Parse("""
        {"context":{"environments":{"prod":{
          "routing":{"autoAcceptThreshold":0.6,"uncertainLow":0.25,"auditRate":0.02,"targetPrecision":0.95,"classThresholds":{"bolt":0.7}},
          "fleet":{"thingGroupArn":"arn:aws:iot:eu-west-1:222222222222:thinggroup/fleet","canaryThingGroupArn":"arn:aws:iot:eu-west-1:222222222222:thinggroup/canary","fleetComponentVersion":null}}}}}
        """)!;

    private static readonly ReleaseRouting NewRouting = new(0.64, 0.45, new Dictionary<string, double> { ["stud"] = 0.72 }, 0.96);

    [Fact]
    public void Apply_HoldsTheFleetOnThePreviousVersionWithItsThresholdsAndGivesTheCanaryTheNewOnes()
    {
        var cdk = Cdk();

        ReleaseSettings.Apply(cdk, "prod", "cdk.json", NewRouting, "1.2.0", "artifacts/component/1.3.0");

        var env = cdk["context"]!["environments"]!["prod"]!;
        Assert.Equal(0.64, env["routing"]!["autoAcceptThreshold"]!.GetValue<double>());
        Assert.Equal(0.45, env["routing"]!["uncertainLow"]!.GetValue<double>());
        Assert.Equal(0.02, env["routing"]!["auditRate"]!.GetValue<double>());
        Assert.Equal(0.96, env["routing"]!["targetPrecision"]!.GetValue<double>());
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["stud"] = 0.72 }, env["routing"]!["classThresholds"]));
        Assert.Equal("1.2.0", env["fleet"]!["fleetComponentVersion"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"autoAcceptThreshold":0.6,"uncertainLow":0.25,"classThresholds":{"bolt":0.7}}"""), env["fleet"]!["fleetRouting"]));
        Assert.Equal("artifacts/component/1.3.0", cdk["context"]!["componentDir"]!.GetValue<string>());
    }

    [Fact]
    public void Apply_Twice_KeepsTheFleetsOriginalThresholds()
    {
        var cdk = Cdk();
        ReleaseSettings.Apply(cdk, "prod", "cdk.json", NewRouting, "1.2.0", "artifacts/component/1.3.0");

        ReleaseSettings.Apply(cdk, "prod", "cdk.json", NewRouting with { AutoAcceptThreshold = 0.66 }, "1.2.0", "artifacts/component/1.3.0");

        Assert.Equal(0.6, cdk["context"]!["environments"]!["prod"]!["fleet"]!["fleetRouting"]!["autoAcceptThreshold"]!.GetValue<double>());
    }

    [Fact]
    public void Apply_UnknownEnvironment_NamesTheKnownOnes()
    {
        var ex = Assert.Throws<ArgumentException>(() => ReleaseSettings.Apply(Cdk(), "staging", "cdk.json", NewRouting, "1.2.0", "x"));

        Assert.Contains("environment 'staging' is not in cdk.json (known: prod)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PreviousVersion_HighestPackagedBelowTheNewOne_IgnoresOthers()
    {
        foreach (var v in new[] { "1.2.0", "1.10.0", "1.3.0", "2.0.0" })
        {
            Directory.CreateDirectory(Path.Combine(_temp.Path, v));
            File.WriteAllText(Path.Combine(_temp.Path, v, "recipe.json"), "{}");
        }

        Directory.CreateDirectory(Path.Combine(_temp.Path, "1.9.0")); // no recipe: never packaged
        Directory.CreateDirectory(Path.Combine(_temp.Path, "notes"));

        Assert.Equal("1.3.0", ReleaseSettings.PreviousVersion(_temp.Path, new Version(1, 9, 0)));
        Assert.Equal("1.10.0", ReleaseSettings.PreviousVersion(_temp.Path, new Version(1, 11, 0)));
        Assert.Null(ReleaseSettings.PreviousVersion(_temp.Path, new Version(1, 2, 0)));
    }

    [Theory]
    [InlineData("1.2")]
    [InlineData("v1.2.3")]
    [InlineData("1.2.3-rc1")]
    [InlineData("1234567.0.0")]
    public void ParseVersion_NotMajorMinorPatch_NamesIt(string version)
    {
        var ex = Assert.Throws<ArgumentException>(() => ReleaseSettings.ParseVersion(version, "--version"));

        Assert.Contains($"--version '{version}' must be major.minor.patch", ex.Message, StringComparison.Ordinal);
    }
}
