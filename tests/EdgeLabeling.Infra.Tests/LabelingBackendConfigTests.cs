using System.Text.Json.Nodes;
using EdgeLabeling.Infra.Configuration;

namespace EdgeLabeling.Infra.Tests;

public sealed class LabelingBackendConfigTests
{
    private static JsonObject Environments() =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(RepoPaths.CdkJson))!["context"]!["environments"]!.DeepClone();

    [Fact]
    public void Select_CdkJson_DevIsBuiltInAndProdIsGroundTruth()
    {
        Assert.True(ConfigLoader.Select("dev", Environments()).Labeling.IsBuiltIn);
        Assert.Equal(LabelingBackendConfig.GroundTruth, ConfigLoader.Select("prod", Environments()).Labeling.Backend);
    }

    [Fact]
    public void Parse_NoLabelingSection_DefaultsToGroundTruth()
    {
        var env = (JsonObject)Environments()["prod"]!.DeepClone();
        env.Remove("labeling");

        Assert.Equal(LabelingBackendConfig.GroundTruth, ConfigLoader.Parse("prod", env.ToJsonString()).Labeling.Backend);
    }

    [Fact]
    public void Parse_UnknownBackend_IsRejectedNamingTheChoices()
    {
        var env = (JsonObject)Environments()["dev"]!.DeepClone();
        env["labeling"] = new JsonObject { ["backend"] = "mturk" };

        var ex = Assert.Throws<ConfigurationException>(() => ConfigLoader.Parse("dev", env.ToJsonString()));

        Assert.Contains("labeling.backend 'mturk' must be 'groundtruth' or 'builtin'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_LambdaEnvironmentSettingTheBackend_IsRejected()
    {
        var env = (JsonObject)Environments()["dev"]!.DeepClone();
        env["lambdaEnvironment"]!["LABELING_BACKEND"] = "groundtruth";

        var ex = Assert.Throws<ConfigurationException>(() => ConfigLoader.Parse("dev", env.ToJsonString()));

        Assert.Contains("lambdaEnvironment 'LABELING_BACKEND' is set by the stack itself", ex.Message, StringComparison.Ordinal);
    }
}
