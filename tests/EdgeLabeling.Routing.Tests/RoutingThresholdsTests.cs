using EdgeLabeling.Contracts;

namespace EdgeLabeling.Routing.Tests;

public sealed class RoutingThresholdsTests
{
    private static Dictionary<string, double> Classes(params (string Name, double Threshold)[] entries) =>
        entries.ToDictionary(e => e.Name, e => e.Threshold, StringComparer.Ordinal);

    [Fact]
    public void Problems_DefaultsAndACalibratedSet_None()
    {
        Assert.Empty(new RoutingThresholds().Problems());
        Assert.Empty(new RoutingThresholds { AutoAcceptThreshold = 1, UncertainLow = 0, ClassThresholds = Classes(("bolt", 0.01), ("nut", 1)) }.Problems());
    }

    [Theory]
    [InlineData(0, 0, "autoAcceptThreshold: 0 is not in (0, 1]")]
    [InlineData(double.NaN, 0.1, "autoAcceptThreshold: NaN is not in (0, 1]")]
    [InlineData(1.2, 0.1, "autoAcceptThreshold: 1.2 is not in (0, 1]")]
    [InlineData(0.5, 0.5, "uncertainLow: 0.5 must be at least 0 and below autoAcceptThreshold (0.5)")]
    [InlineData(0.5, -0.1, "uncertainLow: -0.1 must be at least 0 and below autoAcceptThreshold (0.5)")]
    public void Problems_BadGlobalValues_NameFieldAndValue(double threshold, double low, string expected)
    {
        var problems = new RoutingThresholds { AutoAcceptThreshold = threshold, UncertainLow = low }.Problems("routing.");

        Assert.Contains("routing." + expected, problems);
    }

    [Theory]
    [InlineData("bolt", 0.25, "classThresholds.bolt: 0.25 must be above uncertainLow (0.25)")]
    [InlineData("bolt", 0, "classThresholds.bolt: 0 is not in (0, 1]")]
    [InlineData("a=b", 0.6, "classThresholds: class name 'a=b' must not contain '=', ',' or a quote")]
    [InlineData("it's", 0.6, "classThresholds: class name 'it's' must not contain '=', ',' or a quote")]
    [InlineData(" bolt", 0.6, "classThresholds: class name ' bolt' has leading or trailing spaces")]
    [InlineData("", 0.6, "classThresholds: class name '' is empty")]
    public void Problems_BadClassThreshold_NamesTheClass(string name, double threshold, string expected)
    {
        Assert.Equal([expected], new RoutingThresholds { ClassThresholds = Classes((name, threshold)) }.Problems());
    }

    [Fact]
    public void FormatClassThresholds_ThenParse_RoundTripsInNameOrder()
    {
        var thresholds = new RoutingThresholds { ClassThresholds = Classes(("nut", 0.1 + 0.2), ("bolt", 0.66), ("traffic light", 0.9)) };

        var flat = thresholds.FormatClassThresholds();

        Assert.Equal("bolt=0.66,nut=0.30000000000000004,traffic light=0.9", flat);
        Assert.Equal(thresholds, thresholds with { ClassThresholds = RoutingThresholds.ParseClassThresholds(flat) });
    }

    [Fact]
    public void Equality_ClassThresholdsInAnotherOrder_EqualWithTheSameHash()
    {
        var a = new RoutingThresholds { ClassThresholds = Classes(("bolt", 0.7), ("nut", 0.8)) };
        var b = new RoutingThresholds { ClassThresholds = Classes(("nut", 0.8), ("bolt", 0.7)) };

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
    }

    [Fact]
    public void RoutingOptions_OnlyClassThresholdsDiffer_NotEqualAndHashDiffers()
    {
        var a = new RoutingOptions { ClassThresholds = Classes(("bolt", 0.7)) };
        var b = new RoutingOptions { ClassThresholds = Classes(("bolt", 0.71)) };
        var c = new RoutingOptions { ClassThresholds = Classes(("bolt", 0.7)) };

        Assert.NotEqual(a, b);
        // Before the hash covered the class thresholds, these two hashed alike whatever the values.
        Assert.NotEqual(a.GetHashCode(), b.GetHashCode());
        Assert.Equal(a, c);
        Assert.Equal(a.GetHashCode(), c.GetHashCode());
    }

    [Fact]
    public void RoutingOptions_FlatPropertiesAndThresholds_AreOneValue()
    {
        var options = new RoutingOptions { AutoAcceptThreshold = 0.7, UncertainLow = 0.3 } with { ClassThresholds = Classes(("bolt", 0.9)) };

        Assert.Equal(new RoutingThresholds { AutoAcceptThreshold = 0.7, UncertainLow = 0.3, ClassThresholds = Classes(("bolt", 0.9)) }, options.Thresholds);
        Assert.DoesNotContain("thresholds\"", options.ToJson(), StringComparison.Ordinal);
    }
}
