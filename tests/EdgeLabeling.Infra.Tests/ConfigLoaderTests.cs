using System.Text.Json.Nodes;
using EdgeLabeling.Infra.Configuration;

namespace EdgeLabeling.Infra.Tests;

public sealed class ConfigLoaderTests
{
    private static JsonObject Environments() =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(RepoPaths.CdkJson))!["context"]!["environments"]!.DeepClone();

    private static JsonObject Dev() => (JsonObject)Environments()["dev"]!.DeepClone();

    private static ConfigurationException ParseFails(string name, JsonObject env) =>
        Assert.Throws<ConfigurationException>(() => ConfigLoader.Parse(name, env.ToJsonString()));

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Select_RealCdkJsonEnvironment_IsValid(string env)
    {
        var config = ConfigLoader.Select(env, Environments());

        Assert.Equal(env, config.Name);
        Assert.Matches("^[0-9]{12}$", config.Account);
        Assert.Empty(ConfigLoader.Validate(config));
    }

    [Fact]
    public void Select_ProdFromCdkJson_RetainsAndProtects()
    {
        var prod = ConfigLoader.Select("prod", Environments());

        Assert.False(prod.DestroyOnRemoval);
        Assert.True(prod.TerminationProtection);
        Assert.False(prod.CreateWorkteam);
        Assert.NotNull(prod.Fleet.CanaryThingGroupArn);
    }

    [Fact]
    public void Select_UnknownEnvironment_ListsKnownOnes()
    {
        var ex = Assert.Throws<ConfigurationException>(() => ConfigLoader.Select("staging", Environments()));

        Assert.Contains("unknown environment 'staging'", ex.Message);
        Assert.Contains("dev, prod", ex.Message);
    }

    [Fact]
    public void Select_NoEnvironmentGiven_AsksForEnvFlag()
    {
        var ex = Assert.Throws<ConfigurationException>(() => ConfigLoader.Select(null, Environments()));

        Assert.Contains("-c env=<name>", ex.Message);
        Assert.Contains("dev, prod", ex.Message);
    }

    [Fact]
    public void Select_NoEnvironmentsTable_SaysWhatIsMissing()
    {
        var ex = Assert.Throws<ConfigurationException>(() => ConfigLoader.Select("dev", null));

        Assert.Contains("'environments'", ex.Message);
    }

    [Fact]
    public void Parse_UnknownProperty_FailsNamingIt()
    {
        var env = Dev();
        env["batch"]!["minItem"] = 3;

        var ex = ParseFails("dev", env);

        Assert.Contains("minItem", ex.Message);
    }

    [Fact]
    public void Parse_MissingRequiredProperty_FailsNamingIt()
    {
        var env = Dev();
        env.Remove("workteam");

        var ex = ParseFails("dev", env);

        Assert.Contains("workteam", ex.Message);
    }

    [Fact]
    public void Parse_ProdWithDestroyRemoval_IsRejected()
    {
        var env = (JsonObject)Environments()["prod"]!.DeepClone();
        env["removalPolicy"] = "destroy";

        var ex = ParseFails("prod", env);

        Assert.Contains("'destroy' is not allowed for prod", ex.Message);
    }

    [Fact]
    public void Parse_ProdWithoutTerminationProtection_IsRejected()
    {
        var env = (JsonObject)Environments()["prod"]!.DeepClone();
        env["terminationProtection"] = false;

        var ex = ParseFails("prod", env);

        Assert.Contains("terminationProtection must be true for prod", ex.Message);
    }

    [Theory]
    [InlineData("mergeEphemeralStorageMb", 256, "lambda.mergeEphemeralStorageMb must be 512-10240")]
    public void Parse_MergeLimitsOutsideLambdasRange_AreRejected(string key, int value, string message)
    {
        var env = Dev();
        env["lambda"]![key] = value;

        var ex = ParseFails("dev", env);

        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void Parse_MergeLimitsGiven_AreRead()
    {
        var env = Dev();
        env["lambda"]!["mergeEphemeralStorageMb"] = 4096;

        Assert.Equal(4096, ConfigLoader.Parse("dev", env.ToJsonString()).Lambda.MergeEphemeralStorageMb);
    }

    [Fact]
    public void Parse_RegionWithoutGroundTruth_IsRejected()
    {
        var env = Dev();
        env["region"] = "sa-east-1";

        var ex = ParseFails("dev", env);

        Assert.Contains("region 'sa-east-1' has no Ground Truth built-in Lambdas", ex.Message);
    }

    [Fact]
    public void Parse_UncertainLowAboveAutoAccept_IsRejected()
    {
        var env = Dev();
        env["routing"]!["uncertainLow"] = 0.9;

        var ex = ParseFails("dev", env);

        Assert.Contains("routing.uncertainLow", ex.Message);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.0)]
    public void Parse_TargetPrecisionOutsideTheOpenInterval_IsRejected(double target)
    {
        var env = Dev();
        env["routing"]!["targetPrecision"] = target;

        var ex = ParseFails("dev", env);

        Assert.Contains("routing.targetPrecision", ex.Message);
    }

    [Fact]
    public void Parse_ClassThresholdBelowTheUncertainBand_IsRejected()
    {
        var env = Dev();
        env["routing"]!["classThresholds"] = new System.Text.Json.Nodes.JsonObject { ["bolt"] = 0.1 };

        var ex = ParseFails("dev", env);

        Assert.Contains("routing.classThresholds.bolt", ex.Message);
    }

    [Fact]
    public void Parse_DuplicateAlarmClasses_AreRejected()
    {
        var env = Dev();
        env["productionPrecision"] = new System.Text.Json.Nodes.JsonObject { ["alarmClasses"] = new System.Text.Json.Nodes.JsonArray("bolt", "bolt") };

        var ex = ParseFails("dev", env);

        Assert.Contains("productionPrecision.alarmClasses", ex.Message);
    }

    [Fact]
    public void Parse_RetentionNotSupportedByCloudWatch_ListsAllowedValues()
    {
        var env = Dev();
        env["logRetentionDays"] = 10;

        var ex = ParseFails("dev", env);

        Assert.Contains("logRetentionDays 10", ex.Message);
        Assert.Contains("14", ex.Message);
    }

    [Fact]
    public void Parse_PinnedFleetVersionWithoutCanary_IsRejected()
    {
        var env = Dev();
        env["fleet"]!["fleetComponentVersion"] = "1.0.0";

        var ex = ParseFails("dev", env);

        Assert.Contains("fleet.fleetComponentVersion", ex.Message);
    }

    [Fact]
    public void Parse_FleetRoutingWithoutPinnedVersion_IsRejected()
    {
        var env = Dev();
        env["fleet"]!["canaryThingGroupArn"] = "arn:aws:iot:eu-west-1:111111111111:thinggroup/edgelabeling-dev-canary";
        env["fleet"]!["fleetRouting"] = new JsonObject { ["autoAcceptThreshold"] = 0.6, ["uncertainLow"] = 0.2 };

        var ex = ParseFails("dev", env);

        Assert.Contains("fleet.fleetRouting keeps the thresholds of a fleet held on its version, so it needs fleet.fleetComponentVersion", ex.Message);
    }

    [Fact]
    public void Parse_FleetRoutingClassThresholdBelowItsBand_IsRejected()
    {
        var env = Dev();
        env["fleet"]!["canaryThingGroupArn"] = "arn:aws:iot:eu-west-1:111111111111:thinggroup/edgelabeling-dev-canary";
        env["fleet"]!["fleetComponentVersion"] = "1.0.0";
        env["fleet"]!["fleetRouting"] = new JsonObject { ["autoAcceptThreshold"] = 0.6, ["uncertainLow"] = 0.2, ["classThresholds"] = new JsonObject { ["nut"] = 0.1 } };

        var ex = ParseFails("dev", env);

        Assert.Contains("fleet.fleetRouting.classThresholds.nut: 0.1 must be above uncertainLow (0.2)", ex.Message);
    }

    [Fact]
    public void Parse_WorkteamNeitherCreateNorArn_IsRejected()
    {
        var env = Dev();
        env["workteam"] = "my-team";

        var ex = ParseFails("dev", env);

        Assert.Contains("workteam 'my-team'", ex.Message);
    }

    [Fact]
    public void Parse_LabelAttributeEndingInRef_IsRejected()
    {
        var env = Dev();
        env["labelAttribute"] = "parts-ref";

        var ex = ParseFails("dev", env);

        Assert.Contains("labelAttribute: label attribute name 'parts-ref' must not end with -ref or -metadata", ex.Message);
    }

    [Fact]
    public void Parse_LabelAttributeTooLongForItsJobAttributes_IsRejected()
    {
        // 127 characters passed the old synth-time check, but the merge Lambda refused it at start: "<name>-human" is 133.
        var env = Dev();
        env["labelAttribute"] = new string('a', 127);

        var ex = ParseFails("dev", env);

        Assert.Contains("is too long for the attribute derived from it", ex.Message);
    }

    [Theory]
    [InlineData(0.25, "routing.classThresholds.bolt: 0.25 must be above uncertainLow (0.25)")]
    [InlineData(0, "routing.classThresholds.bolt: 0 is not in (0, 1]")]
    public void Parse_ClassThresholdOnTheBandsEdgeOrZero_IsRejectedWithTheRoutersMessage(double threshold, string expected)
    {
        var env = Dev();
        env["routing"]!["uncertainLow"] = 0.25;
        env["routing"]!["classThresholds"] = new System.Text.Json.Nodes.JsonObject { ["bolt"] = threshold };

        var ex = ParseFails("dev", env);

        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Parse_ClassNameThatCannotTravelOnTheCommandLine_IsRejected()
    {
        var env = Dev();
        env["routing"]!["classThresholds"] = new System.Text.Json.Nodes.JsonObject { ["bolt,nut"] = 0.7 };

        var ex = ParseFails("dev", env);

        Assert.Contains("routing.classThresholds: class name 'bolt,nut' must not contain '=', ',' or a quote", ex.Message);
    }

    [Theory]
    [InlineData("EdgeLabel", "batch.jobNamePrefix 'EdgeLabel'")]
    [InlineData("edge_label", "batch.jobNamePrefix 'edge_label'")]
    [InlineData("-edge", "batch.jobNamePrefix '-edge'")]
    public void Parse_JobNamePrefixTheRuleCouldNotMatch_IsRejected(string prefix, string expected)
    {
        var env = Dev();
        env["batch"]!["jobNamePrefix"] = prefix;

        var ex = ParseFails("dev", env);

        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Parse_NegativeSetAsideAfterReturns_IsRejected()
    {
        var env = Dev();
        env["batch"]!["setAsideAfterReturns"] = -1;

        var ex = ParseFails("dev", env);

        Assert.Contains("batch.setAsideAfterReturns", ex.Message);
    }

    [Theory]
    [InlineData("JOB_NAME_PREFIX")]
    [InlineData("SET_ASIDE_AFTER_RETURNS")]
    public void Parse_JobSettingsThroughLambdaEnvironment_AreRejectedInFavourOfBatchConfig(string name)
    {
        var env = Dev();
        env["lambdaEnvironment"] = new JsonObject { [name] = "x" };

        var ex = ParseFails("dev", env);

        Assert.Contains("is set by the stack itself", ex.Message);
    }

    [Fact]
    public void Parse_BadAlarmEmail_IsRejected()
    {
        var env = Dev();
        env["alarmEmails"] = new JsonArray("ops.example.com");

        var ex = ParseFails("dev", env);

        Assert.Contains("alarmEmails entry 'ops.example.com'", ex.Message);
    }

    [Theory]
    [InlineData("TABLE_NAME", "is set by the stack itself")]
    [InlineData("labelers", "must be UPPER_SNAKE_CASE")]
    [InlineData("LABELLERS", "is read by no labeling function")]
    [InlineData("S3_ENDPOINT", "is read by no labeling function")]
    public void Parse_BadLambdaEnvironmentName_IsRejected(string name, string expected)
    {
        var env = Dev();
        env["lambdaEnvironment"] = new JsonObject { [name] = "5" };

        var ex = ParseFails("dev", env);

        Assert.Contains($"lambdaEnvironment", ex.Message);
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Parse_WaitingHoursBeyondAlarmWindow_IsRejected()
    {
        var env = Dev();
        env["budget"]!["maxWaitingHours"] = 200;

        var ex = ParseFails("dev", env);

        Assert.Contains("budget.maxWaitingHours must be 1-168", ex.Message);
    }

    [Fact]
    public void Parse_SeveralProblems_ReportsAllOfThem()
    {
        var env = Dev();
        env["account"] = "12";
        env["lambda"]!["memoryMb"] = 64;
        env["fleet"]!["rollout"]!["abortFailurePercent"] = 150;

        var ex = ParseFails("dev", env);

        Assert.Contains("account '12'", ex.Message);
        Assert.Contains("lambda.memoryMb", ex.Message);
        Assert.Contains("fleet.rollout.abortFailurePercent", ex.Message);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(1.05)]
    [InlineData(1.55)]
    [InlineData(5.1)]
    public void Parse_IncrementFactorTheIotJobsApiRejects_IsRejected(double factor)
    {
        var env = Dev();
        env["fleet"]!["rollout"]!["incrementFactor"] = factor;

        var ex = ParseFails("dev", env);

        Assert.Contains("fleet.rollout.incrementFactor", ex.Message);
        Assert.Contains("1.1-5.0 with at most one decimal", ex.Message);
    }

    [Theory]
    [InlineData(1.1)]
    [InlineData(1.5)]
    [InlineData(5.0)]
    public void Parse_IncrementFactorTheIotJobsApiAccepts_IsValid(double factor)
    {
        var env = Dev();
        env["fleet"]!["rollout"]!["incrementFactor"] = factor;

        var config = ConfigLoader.Parse("dev", env.ToJsonString());

        Assert.Equal(factor, config.Fleet.Rollout.IncrementFactor);
    }

    [Fact]
    public void Parse_NucleusPinnedBelowSigtermRelease_IsRejected()
    {
        var env = Dev();
        env["fleet"]!["extraComponents"] = new JsonObject { ["aws.greengrass.Nucleus"] = "2.14.3" };

        var ex = ParseFails("dev", env);

        Assert.Contains("aws.greengrass.Nucleus", ex.Message);
        Assert.Contains("2.15.0 or newer", ex.Message);
    }

    [Fact]
    public void Select_ProdFromCdkJson_DoesNotPinTheNucleus()
    {
        // An exact nucleus version in the deployment would move every core to it, downgrading newer ones; the
        // recipe's SOFT dependency (>=2.15.0 <3.0.0) sets the floor instead.
        var prod = ConfigLoader.Select("prod", Environments());

        Assert.False(prod.Fleet.ExtraComponents.ContainsKey(ConfigLoader.NucleusComponent));
    }

    [Fact]
    public void ToJsonNode_NestedDictionaryFromJsii_BecomesJsonObject()
    {
        var value = new Dictionary<string, object>
        {
            ["a"] = new Dictionary<string, object> { ["b"] = 1024d, ["c"] = new object[] { "x", true } },
        };

        var node = ConfigLoader.ToJsonNode(value);

        Assert.Equal("""{"a":{"b":1024,"c":["x",true]}}""", node!.ToJsonString());
    }

    [Fact]
    public void ToJsonNode_JsonTextFromCommandLine_IsParsed()
    {
        var node = ConfigLoader.ToJsonNode("""{"dev":{"account":"1"}}""");

        Assert.Equal("1", node!["dev"]!["account"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("MergeFunctionX", 60, "is not one of IngestFunction, BatchFunction, MergeFunction")]
    [InlineData("MergeFunction", 901, "lambda.functionTimeoutSeconds.MergeFunction must be 1-900")]
    public void Parse_BadFunctionTimeout_IsRejected(string function, int seconds, string expected)
    {
        var env = Dev();
        env["lambda"]!["functionTimeoutSeconds"] = new JsonObject { [function] = seconds };

        var ex = ParseFails("dev", env);

        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void TimeoutOf_FunctionWithoutOverride_UsesTheSharedTimeout()
    {
        var env = Dev();
        env["lambda"]!["functionTimeoutSeconds"] = new JsonObject { ["MergeFunction"] = 900 };

        var config = ConfigLoader.Parse("dev", env.ToJsonString());

        Assert.Equal(900, config.Lambda.TimeoutOf("MergeFunction"));
        Assert.Equal(config.Lambda.TimeoutSeconds, config.Lambda.TimeoutOf("IngestFunction"));
    }
}
