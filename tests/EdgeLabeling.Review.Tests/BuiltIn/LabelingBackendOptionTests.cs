using EdgeLabeling.Labeling;

namespace EdgeLabeling.Review.Tests.BuiltIn;

public sealed class LabelingBackendOptionTests
{
    private static LabelingOptions Read(params (string Name, string Value)[] values) =>
        LabelingOptions.FromDictionary(values.ToDictionary(v => v.Name, v => v.Value));

    [Fact]
    public void FromEnvironment_NoBackend_IsGroundTruthWithItsPrices()
    {
        var o = Read();

        Assert.Equal(LabelingBackends.GroundTruth, o.Backend);
        Assert.True(o.Budget.Tiers[0].UsdPerObject > 0);
    }

    [Fact]
    public void FromEnvironment_BuiltIn_CostsNothingPerObject()
    {
        var o = Read(("LABELING_BACKEND", "builtin"));

        Assert.Equal(LabelingBackends.BuiltIn, o.Backend);
        Assert.Equal(0m, Assert.Single(o.Budget.Tiers).UsdPerObject);
    }

    [Fact]
    public void FromEnvironment_BuiltInWithExplicitPrices_KeepsThem()
    {
        var o = Read(("LABELING_BACKEND", "builtin"), ("PRICE_TIERS", "*:0.01"));

        Assert.Equal(0.01m, Assert.Single(o.Budget.Tiers).UsdPerObject);
    }

    [Fact]
    public void FromEnvironment_UnknownBackend_FailsNamingTheVariable()
    {
        var ex = Assert.Throws<ArgumentException>(() => Read(("LABELING_BACKEND", "mturk")));

        Assert.Contains("LABELING_BACKEND 'mturk' is not one of groundtruth, builtin", ex.Message, StringComparison.Ordinal);
    }
}

public sealed class LabelingCompositionTests
{
    [Fact]
    public void AddLabeling_BuiltInWithoutTheBackendRegistered_RefusesToFallBackToGroundTruth()
    {
        var options = LabelingOptions.FromDictionary(new Dictionary<string, string> { ["LABELING_BACKEND"] = "builtin", ["LOCAL_STORE_ROOT"] = Path.GetTempPath() });
        using var services = LabelingServiceCollectionExtensions.BuildLabelingProvider(options);

        var ex = Assert.Throws<InvalidOperationException>(() => Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Labeling.SageMaker.ISageMakerClient>(services));

        Assert.Contains("LABELING_BACKEND=builtin", ex.Message, StringComparison.Ordinal);
    }
}
