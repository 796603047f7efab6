using EdgeLabeling.Contracts;
using EdgeLabeling.Edge;
using EdgeLabeling.Edge.Fleet;
using EdgeLabeling.Edge.Hosting;
using EdgeLabeling.Routing;
using EdgeLabeling.Edge.Upload;
using EdgeLabeling.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeLabeling.Edge.Tests;

public sealed class ClassThresholdsOptionTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static EdgeOptions Valid(string classThresholds) => new()
    {
        ThingName = "site-7_gw", InputDirectory = "/in", WorkDirectory = "/work", Bucket = "edge-bucket", Region = "eu-west-1", ClassThresholds = classThresholds,
    };

    private string RoutingFile(string json)
    {
        var path = Path.Combine(_dir.Path, "routing.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void ParseClassThresholds_TheDeploymentsFormat_GivesEveryClass()
    {
        var parsed = RoutingThresholds.ParseClassThresholds("bolt=0.66, nut=0.8");

        Assert.Equal(new Dictionary<string, double> { ["bolt"] = 0.66, ["nut"] = 0.8 }, parsed);
    }

    [Theory]
    [InlineData("bolt", "ClassThresholds: 'bolt' is not class=threshold")]
    [InlineData("bolt=1.5", "ClassThresholds.bolt: 1.5 is not in (0, 1]")]
    [InlineData("bolt=0", "ClassThresholds.bolt: 0 is not in (0, 1]")]
    [InlineData("bolt=0.7,bolt=0.8", "ClassThresholds: class 'bolt' is listed twice")]
    public void Validate_BadClassThresholds_NamesTheEntry(string value, string message)
    {
        var result = new EdgeOptionsValidator { RequireModel = false }.Validate(null, Valid(value));

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_ClassThresholdInsideTheUncertainBand_IsRefused()
    {
        var result = new EdgeOptionsValidator { RequireModel = false }.Validate(null, Valid("bolt=0.2"));

        Assert.Contains(result.Failures!, f => f.StartsWith("ClassThresholds.bolt: 0.2 must be above uncertainLow (0.25)", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_OptionThatBreaksTheRoutingFilesBand_IsRefused()
    {
        // The file alone is fine (0.4 < 0.8); the option's threshold lands on the file's lower bound.
        var o = Valid("");
        o.RoutingConfigPath = RoutingFile("""{"autoAcceptThreshold": 0.8, "uncertainLow": 0.4}""");
        o.AutoAcceptThreshold = 0.4;

        var result = new EdgeOptionsValidator { RequireModel = false }.Validate(null, o);

        Assert.Contains(result.Failures!, f => f.StartsWith("UncertainLow: 0.4 must be at least 0 and below autoAcceptThreshold (0.4) (the options on top of ", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_LabelAttributeTooLongForItsJobAttributes_IsRefused()
    {
        var o = Valid("");
        o.LabelAttribute = new string('a', 122);

        var result = new EdgeOptionsValidator { RequireModel = false }.Validate(null, o);

        Assert.Contains(result.Failures!, f => f.StartsWith("LabelAttribute:", StringComparison.Ordinal) && f.Contains("too long", StringComparison.Ordinal));
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

    [Fact]
    public void BuildRoutingOptions_OneOptionSet_OverridesOnlyThatValueOfTheFile()
    {
        var o = Valid("");
        o.RoutingConfigPath = RoutingFile("""{"autoAcceptThreshold": 0.8, "uncertainLow": 0.4, "auditRate": 0.1, "classThresholds": {"bolt": 0.9}}""");
        o.UncertainLow = 0.3;

        var routing = EdgeComponentServiceCollectionExtensions.BuildRoutingOptions(o);

        Assert.Equal(new RoutingThresholds { AutoAcceptThreshold = 0.8, UncertainLow = 0.3, ClassThresholds = new Dictionary<string, double> { ["bolt"] = 0.9 } }, routing.Thresholds);
        Assert.Equal(0.1, routing.AuditRate);
    }

    [Theory]
    // The recipe passes LabelAttribute '' when the deployment does not set it: the file's attribute must survive.
    [InlineData("", "widgets")]
    [InlineData("gadgets", "gadgets")]
    public void BuildRoutingOptions_LabelAttribute_OverridesTheRoutingFilesAttributeOnlyWhenSet(string option, string expected)
    {
        var o = Valid("");
        o.RoutingConfigPath = RoutingFile("""{"labelAttributeName": "widgets"}""");
        o.LabelAttribute = option;

        Assert.Equal(expected, EdgeComponentServiceCollectionExtensions.BuildRoutingOptions(o).LabelAttributeName);
    }

    [Fact]
    public void BuildRoutingOptions_NoFileAndLabelAttributeUnset_UsesTheDatasetDefault() =>
        Assert.Equal(LabelingConventions.DefaultDatasetAttribute, EdgeComponentServiceCollectionExtensions.BuildRoutingOptions(Valid("")).LabelAttributeName);

    [Fact]
    public void Validate_LabelAttributeUnset_IsAccepted()
    {
        var result = new EdgeOptionsValidator { RequireModel = false }.Validate(null, Valid(""));

        Assert.DoesNotContain(result.Failures ?? [], f => f.StartsWith("LabelAttribute:", StringComparison.Ordinal));
    }

    [Fact]
    public void RunningComponent_RoutingFileAndThresholdOptionsLeftEmpty_RoutesByTheFilesThresholds()
    {
        // The recipe passes every option; the threshold ones default to '' so that the routing file decides.
        var path = RoutingFile("""{"autoAcceptThreshold": 0.8, "uncertainLow": 0.4, "auditRate": 0, "classThresholds": {"nut": 0.95}}""");
        string[] args =
        [
            "--ThingName", "dev1", "--InputDirectory", _dir.Sub("in"), "--WorkDirectory", _dir.Sub("work"), "--Bucket", "edge-test", "--Region", "us-east-1",
            "--RoutingConfigPath", path, "--AutoAcceptThreshold", "", "--UncertainLow", "", "--AuditRate", "", "--ClassThresholds", "",
        ];
        using var host = EdgeComponentHost.CreateBuilder(args, new EdgeComponentOverrides
        {
            Labeler = _ => new NameRoutedLabeler(),
            Stores = _ => new FixedObjectStoreProvider(new FileSystemObjectStore(_dir.Sub("store"))),
        }).Build();
        var router = new RoutingPolicy(host.Services.GetRequiredService<RoutingOptions>(), ["bolt", "nut"]);

        // 0.7 auto-labels under the defaults (0.5) but is uncertain under the file's 0.8; 0.3 is background under the file's 0.4.
        var bolt = router.Route(new string('1', 64), [new PixelBox(0, 10, 10, 20, 20, 0.7), new PixelBox(0, 50, 50, 20, 20, 0.3)]);
        var nut = router.Route(new string('2', 64), [new PixelBox(1, 10, 10, 20, 20, 0.9)]);

        Assert.Equal(RoutingOutcome.HumanReview, bolt.Outcome);
        Assert.Equal("uncertain:bolt@0.70", bolt.Reason);
        Assert.Single(bolt.Boxes);
        Assert.Equal("uncertain:nut@0.90", nut.Reason);
    }

    [Fact]
    public void RoutingVersion_OnlyClassThresholdsChange_Changes()
    {
        var before = EdgeComponentServiceCollectionExtensions.BuildRoutingOptions(Valid("bolt=0.7"));
        var after = EdgeComponentServiceCollectionExtensions.BuildRoutingOptions(Valid("bolt=0.71"));

        Assert.NotEqual(before, after);
        Assert.NotEqual(DeviceIdentity.RoutingVersionOf(before), DeviceIdentity.RoutingVersionOf(after));
        Assert.Equal(DeviceIdentity.RoutingVersionOf(before), DeviceIdentity.RoutingVersionOf(EdgeComponentServiceCollectionExtensions.BuildRoutingOptions(Valid("bolt=0.7"))));
    }
}
