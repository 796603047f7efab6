using System.Text.Json.Nodes;
using EdgeLabeling.Simulation;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Cli.Tests;

public sealed class RetuneCommandTests : IDisposable
{
    private static readonly DateOnly FirstDay = new(2026, 11, 1);
    private const string Bucket = "edgelabeling-data";
    private readonly TempDir _dir = new("retune-cli-");

    public void Dispose() => _dir.Dispose();

    private string Store => _dir.File("store");

    /// <summary>Merges 14 days of a generated history into a local store, as the pipeline would, and writes a cdk.json with today's routing.</summary>
    private async Task<string> GivenHistoryAsync(params SimulatedDevice[] devices)
    {
        var request = new ProductionHistoryRequest { FirstDay = FirstDay, Days = 14, Devices = devices };
        await ProductionHistoryMerge.MergeAsync(new FileSystemObjectStore(Store), Bucket, ProductionHistory.Generate(request), FirstDay, _dir.File("work"));
        var cdk = _dir.File("cdk.json");
        File.WriteAllText(cdk, """
            {"context":{"environments":{"dev":{"routing":{"autoAcceptThreshold":0.5,"uncertainLow":0.25,"auditRate":0.05,"targetPrecision":0.95},"labeling":{"backend":"groundtruth"}}}}}
            """);
        return cdk;
    }

    private (int Code, string Stdout, string Stderr) Retune(string cdk, params string[] extra) =>
        CliRunner.Run(["retune", "--dataset", Store, "--cdk-json", cdk, "--env", "dev", "--today", "2026-11-14", "--window-days", "4", "--output", _dir.File("out"), .. extra]);

    [Fact]
    public async Task Retune_DeviceWhoseCameraDegrades_RaisesThatClassInTheFragment()
    {
        var cdk = await GivenHistoryAsync(
            new SimulatedDevice { ThingName = "cam-steady" },
            new SimulatedDevice { ThingName = "cam-dirty", DegradedFrom = 10, DegradedFalseRate = new Dictionary<string, double> { ["bolt"] = 0.25 } });

        var (code, stdout, stderr) = Retune(cdk, "--json");

        Assert.True(code == 0, stderr);
        var report = JsonNode.Parse(stdout)!;
        Assert.True(report["changed"]!.GetValue<bool>());
        var bolt = report["classes"]!.AsArray().Single(c => c!["class"]!.GetValue<string>() == "bolt")!;
        Assert.True(bolt["recommendedThreshold"]!.GetValue<double>() > 0.5);
        Assert.True(bolt["atCurrent"]!["lowerBound"]!.GetValue<double>() < 0.95);
        Assert.True(report["recommended"]!["monthlyCostUsd"]!.GetValue<decimal>() > report["today"]!["monthlyCostUsd"]!.GetValue<decimal>());
        var fragment = JsonNode.Parse(File.ReadAllText(report["routingFragment"]!.GetValue<string>()))!["routing"]!;
        Assert.Equal(bolt["recommendedThreshold"]!.GetValue<double>(), fragment["classThresholds"]!["bolt"]!.GetValue<double>());
        Assert.Equal(0.5, fragment["autoAcceptThreshold"]!.GetValue<double>());
        Assert.True(new FileInfo(report["chart"]!.GetValue<string>()).Length > 1000);
        var devices = report["productionPrecision"]!["byDevice"]!.AsArray().ToDictionary(d => d!["device"]!.GetValue<string>(), d => d!["precisionLower"]!.GetValue<double>());
        Assert.True(devices["cam-dirty"] < devices["cam-steady"]);
        Assert.Single(report["productionPrecision"]!["byModel"]!.AsArray());
    }

    [Fact]
    public async Task Retune_SteadyFleet_RecommendsNoChangeAndSaysSo()
    {
        var cdk = await GivenHistoryAsync(new SimulatedDevice { ThingName = "cam-a" }, new SimulatedDevice { ThingName = "cam-b" });

        var (code, stdout, stderr) = Retune(cdk);

        Assert.True(code == 0, stderr);
        Assert.Contains("No change recommended", stdout, StringComparison.Ordinal);
        var fragment = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir.Path, "out", "routing-fragment.json")))!["routing"]!;
        Assert.Empty(fragment["classThresholds"]!.AsObject());
        Assert.Equal(0.05, fragment["auditRate"]!.GetValue<double>());
    }

    [Fact]
    public async Task Retune_WindowWithoutEvidence_FailsNamingTheDaysItHas()
    {
        var cdk = await GivenHistoryAsync(new SimulatedDevice { ThingName = "cam-a" });

        var (code, _, stderr) = CliRunner.Run("retune", "--dataset", Store, "--cdk-json", cdk, "--today", "2027-03-01", "--output", _dir.File("out"));

        Assert.Equal(3, code);
        Assert.Contains("evidence covers 2026-11-01..2026-11-14", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--target-precision", "1.5", "target precision 1.5")]
    [InlineData("--today", "14/11/2026", "--today '14/11/2026'")]
    [InlineData("--env", "staging", "environment 'staging' is not in")]
    public async Task Retune_BadInput_FailsWithANamedError(string option, string value, string message)
    {
        var cdk = await GivenHistoryAsync(new SimulatedDevice { ThingName = "cam-a" });

        var (code, _, stderr) = CliRunner.Run("retune", "--dataset", Store, "--cdk-json", cdk, "--output", _dir.File("out"), option, value);

        Assert.Equal(2, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"autoAcceptThreshold\":0.5,\"uncertainLow\":0.5", "environments.dev.routing.uncertainLow: 0.5 must be at least 0 and below autoAcceptThreshold (0.5)")]
    [InlineData("\"autoAcceptThreshold\":0,\"uncertainLow\":0", "environments.dev.routing.autoAcceptThreshold: 0 is not in (0, 1]")]
    [InlineData("\"autoAcceptThreshold\":0.5,\"uncertainLow\":0.25,\"classThresholds\":{\"bolt\":0.2}", "environments.dev.routing.classThresholds.bolt: 0.2 must be above uncertainLow (0.25)")]
    public async Task Retune_TodaysRoutingBreaksTheRoutersRule_FailsNamingTheValue(string thresholds, string message)
    {
        await GivenHistoryAsync(new SimulatedDevice { ThingName = "cam-a" });
        var cdk = _dir.File("cdk-bad.json");
        File.WriteAllText(cdk, """{"context":{"environments":{"dev":{"routing":{""" + thresholds + ""","auditRate":0.05}}}}}""");

        var (code, _, stderr) = Retune(cdk);

        Assert.Equal(2, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Retune_MissingIndex_SaysWhereItLooked()
    {
        Directory.CreateDirectory(Store);
        var cdk = _dir.File("cdk.json");
        File.WriteAllText(cdk, """{"context":{"environments":{"dev":{"routing":{"autoAcceptThreshold":0.5,"uncertainLow":0.25,"auditRate":0.05}}}}}""");

        var (code, _, stderr) = CliRunner.Run("retune", "--dataset", Store, "--cdk-json", cdk, "--output", _dir.File("out"));

        Assert.Equal(2, code);
        Assert.Contains("no dataset index at", stderr, StringComparison.Ordinal);
        Assert.Contains("dataset/parts/index.json", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Retune_Help_ListsTheOptions()
    {
        var (code, stdout, _) = CliRunner.Run("retune", "--help");

        Assert.Equal(0, code);
        foreach (var option in new[] { "--dataset", "--target-precision", "--window-days", "--json", "--calibration", "--max-audit-rate" })
        {
            Assert.Contains(option, stdout, StringComparison.Ordinal);
        }
    }
}
