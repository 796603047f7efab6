using System.Text.Json.Nodes;
using EdgeLabeling.Simulation;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Cli.Tests;

/// <summary><c>edgelabel promote</c> on generated fleet + canary histories merged into a local store, as the pipeline writes it.</summary>
public sealed class PromoteCommandTests : IDisposable
{
    private const string FleetModel = "f1ee70000000000000000000000000000000000000000000000000000000000a";
    private const string CanaryModel = "ca0a70000000000000000000000000000000000000000000000000000000000b";
    private static readonly DateOnly FirstDay = new(2026, 11, 1);
    private const string Bucket = "edgelabeling-data";
    private readonly TempDir _dir = new("promote-cli-");

    public void Dispose() => _dir.Dispose();

    private string Store => _dir.File("store");

    /// <summary>Four days: two fleet devices on the fleet model, one canary device on the new model; cdk.json with the target.</summary>
    private async Task<string> GivenHistoryAsync(SimulatedDevice canary)
    {
        var fleet = ProductionHistory.Generate(new ProductionHistoryRequest
        {
            FirstDay = FirstDay, Days = 4, ModelSha256 = FleetModel, Devices = [new SimulatedDevice { ThingName = "cam-fleet-1" }, new SimulatedDevice { ThingName = "cam-fleet-2" }],
        });
        var canaryDays = ProductionHistory.Generate(new ProductionHistoryRequest { FirstDay = FirstDay, Days = 4, ModelSha256 = CanaryModel, Seed = 29, Devices = [canary] });
        await ProductionHistoryMerge.MergeAsync(new FileSystemObjectStore(Store), Bucket, fleet.Zip(canaryDays, (f, c) => (IReadOnlyList<string>)[.. f, .. c]).ToList(), FirstDay, _dir.File("work"));
        var cdk = _dir.File("cdk.json");
        File.WriteAllText(cdk, """
            {"context":{"environments":{"dev":{"routing":{"autoAcceptThreshold":0.5,"uncertainLow":0.25,"auditRate":0.05,"targetPrecision":0.95}}}}}
            """);
        return cdk;
    }

    private (int Code, string Stdout, string Stderr) Promote(string cdk, params string[] extra) =>
        CliRunner.Run(["promote", "--dataset", Store, "--cdk-json", cdk, "--env", "dev", "--today", "2026-11-04", .. extra]);

    [Fact]
    public async Task Promote_CanaryAsGoodAsFleet_SaysPromoteWithIntervals()
    {
        var cdk = await GivenHistoryAsync(new SimulatedDevice { ThingName = "cam-canary" });

        var (code, stdout, stderr) = Promote(cdk, "--canary-model", CanaryModel[..12], "--json");

        Assert.True(code == 0, stderr);
        var verdict = JsonNode.Parse(stdout)!;
        Assert.Equal("promote", verdict["decision"]!.GetValue<string>());
        Assert.Equal(0.95, verdict["targetPrecision"]!.GetValue<double>());
        Assert.Equal(CanaryModel, verdict["canary"]!["model"]!.GetValue<string>());
        Assert.Equal(FleetModel, verdict["fleet"]!["model"]!.GetValue<string>());
        foreach (var side in new[] { "canary", "fleet" })
        {
            var row = verdict[side]!;
            Assert.InRange(row["lowerBound"]!.GetValue<double>(), 0.9, row["precision"]!.GetValue<double>());
            Assert.InRange(row["upperBound"]!.GetValue<double>(), row["precision"]!.GetValue<double>(), 1.0);
        }

        Assert.Empty(verdict["reasons"]!.AsArray());
    }

    [Fact]
    public async Task Promote_CanaryWithWrongBoltBoxes_SaysHoldWithTheNumbersAndExitsFive()
    {
        var cdk = await GivenHistoryAsync(new SimulatedDevice { ThingName = "cam-canary", DegradedFrom = 0, DegradedFalseRate = new Dictionary<string, double> { ["bolt"] = 0.25 } });

        var (code, stdout, _) = Promote(cdk, "--canary-model", CanaryModel[..12], "--fleet-model", FleetModel[..12]);

        Assert.Equal(5, code);
        var text = stdout.ReplaceLineEndings(" ");
        Assert.Contains("hold", text, StringComparison.Ordinal);
        Assert.Matches(@"the canary's precision lower bound \d+\.\d% is below the target 95\.0%", text);
        Assert.Contains("class 'bolt': the canary's precision", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promote_UnknownCanaryModel_ExitsTwoNamingTheKnownModels()
    {
        var cdk = await GivenHistoryAsync(new SimulatedDevice { ThingName = "cam-canary" });

        var (code, _, stderr) = Promote(cdk, "--canary-model", "0123456789ab");

        Assert.Equal(2, code);
        Assert.Contains("--canary-model '0123456789ab' has no audited boxes between 2026-10-29 and 2026-11-04", stderr, StringComparison.Ordinal);
        Assert.Contains(FleetModel[..12], stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_DescribesPromoteAndHold()
    {
        var (code, stdout, _) = CliRunner.Run("promote", "--help");

        Assert.Equal(0, code);
        Assert.Contains("--canary-model", stdout, StringComparison.Ordinal);
        Assert.Contains("--json", stdout, StringComparison.Ordinal);
        Assert.Contains("(promote)", stdout, StringComparison.Ordinal);
    }
}
