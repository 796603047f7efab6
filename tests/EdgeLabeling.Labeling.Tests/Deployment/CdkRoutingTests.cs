using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Deployment;

namespace EdgeLabeling.Labeling.Tests.Deployment;

/// <summary>Today's routing of a cdk.json environment, as retune and promote read it.</summary>
public sealed class CdkRoutingTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Cdk(string environments)
    {
        var path = _dir.File("cdk.json");
        File.WriteAllText(path, """{"context":{"environments":""" + environments + "}}");
        return path;
    }

    [Fact]
    public void Read_BuiltInEnvironment_GivesRoutingTargetAndFreePrices()
    {
        var path = Cdk("""
            {"prod":{"routing":{"autoAcceptThreshold":0.6,"uncertainLow":0.25,"auditRate":0.02,"targetPrecision":0.97,"classThresholds":{"bolt":0.7}},
                     "labeling":{"backend":"builtin"}}}
            """);

        var deployed = CdkRouting.Read(path, "prod");

        Assert.Equal((0.6, 0.25, 0.02), (deployed.Routing.AutoAcceptThreshold, deployed.Routing.UncertainLow, deployed.Routing.AuditRate));
        Assert.Equal(new Dictionary<string, double> { ["bolt"] = 0.7 }, deployed.Routing.ClassThresholds);
        Assert.Equal(0.97, deployed.TargetPrecision);
        Assert.Equal(LabelingBackends.FreeTiers, deployed.Budget.Tiers);
    }

    [Fact]
    public void Read_GroundTruthEnvironmentWithoutTarget_GivesNoTargetAndGroundTruthPrices()
    {
        var path = Cdk("""{"dev":{"routing":{"autoAcceptThreshold":0.5,"uncertainLow":0.25,"auditRate":0.05}}}""");

        var deployed = CdkRouting.Read(path, "dev");

        Assert.Null(deployed.TargetPrecision);
        Assert.Empty(deployed.Routing.ClassThresholds);
        Assert.Equal(new BudgetPolicy().Tiers, deployed.Budget.Tiers);
    }

    [Fact]
    public void Read_UnknownEnvironment_NamesTheKnownOnes()
    {
        var path = Cdk("""{"dev":{},"prod":{}}""");

        var ex = Assert.Throws<ArgumentException>(() => CdkRouting.Read(path, "staging"));

        Assert.Equal($"environment 'staging' is not in {path} (known: dev, prod)", ex.Message);
    }

    [Theory]
    [InlineData("""{"dev":{"routing":{"uncertainLow":0.25,"auditRate":0.05}}}""", "environments.dev.routing.autoAcceptThreshold is missing or not a number")]
    [InlineData("""{"dev":{"routing":{"autoAcceptThreshold":0.5,"uncertainLow":0.25,"auditRate":0.05,"classThresholds":{"nut":"high"}}}}""", "environments.dev.routing.classThresholds.nut is not a number")]
    [InlineData("""{"dev":{"routing":{"autoAcceptThreshold":0.3,"uncertainLow":0.4,"auditRate":0.05}}}""", "environments.dev.routing.uncertainLow")]
    public void Read_RoutingTheFleetCouldNotRun_IsRefusedNamingTheSetting(string environments, string message)
    {
        var ex = Assert.Throws<FormatException>(() => CdkRouting.Read(Cdk(environments), "dev"));

        Assert.StartsWith(message, ex.Message, StringComparison.Ordinal);
    }
}
