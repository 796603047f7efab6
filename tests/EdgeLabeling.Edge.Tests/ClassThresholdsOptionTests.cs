using EdgeLabeling.Edge;
using EdgeLabeling.Edge.Hosting;

namespace EdgeLabeling.Edge.Tests;

public sealed class ClassThresholdsOptionTests
{
    private static EdgeOptions Valid(string classThresholds) => new()
    {
        ThingName = "site-7_gw", InputDirectory = "/in", WorkDirectory = "/work", Bucket = "edge-bucket", Region = "eu-west-1", ClassThresholds = classThresholds,
    };

    [Fact]
    public void ParseClassThresholds_TheDeploymentsFormat_GivesEveryClass()
    {
        var parsed = EdgeOptions.ParseClassThresholds("bolt=0.66, nut=0.8");

        Assert.Equal(new Dictionary<string, double> { ["bolt"] = 0.66, ["nut"] = 0.8 }, parsed);
    }

    [Theory]
    [InlineData("bolt", "'bolt' is not class=threshold")]
    [InlineData("bolt=1.5", "'bolt=1.5' is not class=threshold")]
    [InlineData("bolt=0.7,bolt=0.8", "class 'bolt' is listed twice")]
    public void Validate_BadClassThresholds_NamesTheEntry(string value, string message)
    {
        var result = new EdgeOptionsValidator { RequireModel = false }.Validate(null, Valid(value));

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith("ClassThresholds:", StringComparison.Ordinal) && f.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_ClassThresholdInsideTheUncertainBand_IsRefused()
    {
        var result = new EdgeOptionsValidator { RequireModel = false }.Validate(null, Valid("bolt=0.2"));

        Assert.Contains(result.Failures!, f => f.Contains("must be above UncertainLow", StringComparison.Ordinal));
    }

    [Fact]
    public void BuildRoutingOptions_ClassThresholdsFromTheDeployment_ReachTheRouter()
    {
        var routing = EdgeComponentServiceCollectionExtensions.BuildRoutingOptions(Valid("bolt=0.72"));

        Assert.Equal(0.72, routing.ThresholdFor("bolt"));
        Assert.Equal(0.5, routing.ThresholdFor("nut"));
    }

    [Fact]
    public void BuildRoutingOptions_NoClassThresholds_UsesTheGlobalOne() =>
        Assert.Empty(EdgeComponentServiceCollectionExtensions.BuildRoutingOptions(Valid("")).ClassThresholds);
}
