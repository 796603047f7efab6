using System.Text.Json.Nodes;
using Amazon.CDK.Assertions;
using EdgeLabeling.Infra.Stacks;

namespace EdgeLabeling.Infra.Tests;

[Collection(SynthCollection.Name)]
public sealed class EdgeFleetStackTests(SynthFixture synth)
{
    public static TheoryData<string> Envs => new(SynthFixture.EnvironmentNames);

    private JsonObject Raw(string env) => synth.Environments[env].RawTemplates[$"EdgeLabeling-{env}-EdgeFleet"];

    private JsonObject Deployment(string env, string id) => Raw(env)["Resources"]![id]!["Properties"]!.AsObject();

    private static Dictionary<string, object> Obj(params (string Key, object Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    [Theory]
    [MemberData(nameof(Envs))]
    public void Component_InlineRecipePointsAtUploadedAssets(string env)
    {
        var config = synth.Environments[env].Config;
        var component = SecurityRules.Resources(Raw(env), "AWS::GreengrassV2::ComponentVersion").Single().Resource;
        var recipe = JsonNode.Parse(SecurityRules.Flatten(component["Properties"]!["InlineRecipe"]))!;

        Assert.Equal(TestAssets.ComponentName, recipe["ComponentName"]!.GetValue<string>());
        Assert.Equal(TestAssets.ComponentVersion, recipe["ComponentVersion"]!.GetValue<string>());
        var uris = recipe["Manifests"]!.AsArray().SelectMany(m => m!["Artifacts"]!.AsArray()).Select(a => a!["URI"]!.GetValue<string>()).ToList();
        Assert.Equal(2, uris.Count);
        Assert.All(uris, u => Assert.StartsWith($"s3://cdk-hnb659fds-assets-{config.Account}-{config.Region}/", u));
        Assert.DoesNotContain(uris, u => u.Contains("edgelabeling-artifacts", StringComparison.Ordinal));
        // The x64 ZIP unpacks into a folder named after its stored object; the lifecycle must use that name.
        var x64Object = Path.GetFileNameWithoutExtension(uris[0]);
        Assert.StartsWith("exec {artifacts:decompressedPath}/" + x64Object + "/edgelabeling-component ", recipe["Manifests"]![0]!["Lifecycle"]!["Run"]!["Script"]!.GetValue<string>());
        // Retained: old versions stay deployable for rollback and for a fleet pinned behind the canary.
        Assert.Equal("Retain", component["DeletionPolicy"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void TokenExchangeRole_IsAssumedByIotCredentialsProviderThroughRoleAlias(string env)
    {
        var fleet = synth.Environments[env].EdgeFleet;

        fleet.HasResourceProperties("AWS::IAM::Role", Match.ObjectLike(Obj(
            ("AssumeRolePolicyDocument", Match.ObjectLike(Obj(
                ("Statement", new object[] { Match.ObjectLike(Obj(("Principal", Obj(("Service", "credentials.iot.amazonaws.com"))))) })))))));
        var role = SecurityRules.Resources(Raw(env), "AWS::IAM::Role").Single().Id;
        fleet.HasResourceProperties("AWS::IoT::RoleAlias", Match.ObjectLike(Obj(
            ("RoleAlias", $"EdgeLabeling-{env}-TokenExchangeRoleAlias"),
            ("RoleArn", Obj(("Fn::GetAtt", new[] { role, "Arn" }))),
            ("CredentialDurationSeconds", 3600))));
        fleet.HasResourceProperties("AWS::IoT::Policy", Match.ObjectLike(Obj(
            ("PolicyDocument", Match.ObjectLike(Obj(
                ("Statement", new object[] { Match.ObjectLike(Obj(("Action", new[] { "iot:AssumeRoleWithCertificate" }), ("Effect", "Allow"))) })))))));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void DevicePolicy_WritesOnlyUnderOwnThingNamePrefixes(string env)
    {
        var policy = SecurityRules.Resources(Raw(env), "AWS::IAM::Policy").Single().Resource;
        var upload = policy["Properties"]!["PolicyDocument"]!["Statement"]!.AsArray().Single(s => s!["Sid"]!.GetValue<string>() == "UploadOwnObjects")!;

        var resources = upload["Resource"]!.AsArray().Select(SecurityRules.Flatten).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, resources.Count);
        Assert.EndsWith("/auto-labels/${credentials-iot:ThingName}/*", resources[0]);
        Assert.EndsWith("/incoming/${credentials-iot:ThingName}/*", resources[1]);
        Assert.All(resources, r => Assert.StartsWith("<Import:", r));
        Assert.Empty(SecurityRules.DevicePoliciesScopedByThingName("fleet", Raw(env)));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void DevicePolicy_ReadsExactlyTheComponentArtifactsAndLocatesTheirBucket(string env)
    {
        var config = synth.Environments[env].Config;
        var statements = SecurityRules.Resources(Raw(env), "AWS::IAM::Policy").Single().Resource["Properties"]!["PolicyDocument"]!["Statement"]!.AsArray();
        string[] Resources(string sid) => statements.Single(s => s!["Sid"]!.GetValue<string>() == sid)!["Resource"] is JsonArray a
            ? a.Select(SecurityRules.Flatten).ToArray()
            : [SecurityRules.Flatten(statements.Single(s => s!["Sid"]!.GetValue<string>() == sid)!["Resource"])];

        var bucket = $"cdk-hnb659fds-assets-{config.Account}-{config.Region}";
        var artifacts = Resources("ReadComponentArtifacts");
        Assert.Equal(2, artifacts.Length);
        Assert.All(artifacts, r => Assert.Matches($"^arn:<Ref:AWS::Partition>:s3:::{bucket}/[0-9a-f]{{64}}\\.zip$", r));
        // The nucleus calls GetBucketLocation before downloading and fails on 403.
        Assert.Equal([$"arn:<Ref:AWS::Partition>:s3:::{bucket}"], Resources("LocateArtifactBucket"));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void FleetDeployment_UsesConfiguredRolloutAbortAndPolicies(string env)
    {
        var config = synth.Environments[env].Config;
        var rollout = config.Fleet.Rollout;

        synth.Environments[env].EdgeFleet.HasResourceProperties("AWS::GreengrassV2::Deployment", Match.ObjectLike(Obj(
            ("TargetArn", config.Fleet.ThingGroupArn),
            ("DeploymentName", $"edgelabeling-{env}-fleet"),
            ("IotJobConfiguration", Obj(
                ("JobExecutionsRolloutConfig", Obj(
                    ("ExponentialRate", Obj(
                        ("BaseRatePerMinute", rollout.BaseRatePerMinute),
                        ("IncrementFactor", rollout.IncrementFactor),
                        ("RateIncreaseCriteria", Obj(("NumberOfSucceededThings", rollout.RateIncreaseAfterSucceeded))))),
                    ("MaximumPerMinute", rollout.MaximumPerMinute))),
                ("AbortConfig", Obj(("CriteriaList", new object[]
                {
                    Obj(("Action", "CANCEL"), ("FailureType", "ALL"), ("ThresholdPercentage", rollout.AbortFailurePercent), ("MinNumberOfExecutedThings", rollout.AbortMinExecutedThings)),
                }))),
                ("TimeoutConfig", Obj(("InProgressTimeoutInMinutes", rollout.InProgressTimeoutMinutes))))),
            ("DeploymentPolicies", Match.ObjectLike(Obj(
                ("FailureHandlingPolicy", "ROLLBACK"),
                ("ComponentUpdatePolicy", Obj(("Action", "NOTIFY_COMPONENTS"), ("TimeoutInSeconds", rollout.ComponentUpdateTimeoutSeconds)))))))));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void FleetDeployment_MergesBucketAndThresholdsIntoComponentConfiguration(string env)
    {
        var config = synth.Environments[env].Config;
        var spec = Deployment(env, "FleetDeployment")["Components"]![TestAssets.ComponentName]!;

        var merge = JsonNode.Parse(SecurityRules.Flatten(spec["ConfigurationUpdate"]!["Merge"]))!.AsObject();
        Assert.StartsWith("<Import:", merge["Bucket"]!.GetValue<string>());
        Assert.Contains("IncomingBucket", merge["Bucket"]!.GetValue<string>());
        Assert.Equal("", merge["S3Endpoint"]!.GetValue<string>());
        Assert.Equal(config.Routing.AutoAcceptThreshold, double.Parse(merge["AutoAcceptThreshold"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(config.Routing.UncertainLow, double.Parse(merge["UncertainLow"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(config.LabelAttribute, merge["LabelAttribute"]!.GetValue<string>());
        // Every merged key must be one the component declares, or the device ignores it.
        var declared = synth.Environments[env].Stacks.EdgeFleet.Recipe.DefaultConfiguration;
        Assert.All(merge, p => Assert.True(declared.ContainsKey(p.Key), $"merge key {p.Key} is not in the recipe's DefaultConfiguration"));
    }

    [Fact]
    public void Dev_WithoutCanaryGroup_DeploysBuiltVersionToFleetOnly()
    {
        var resources = Raw("dev")["Resources"]!.AsObject();

        Assert.False(resources.ContainsKey("CanaryDeployment"));
        Assert.Equal("<GetAtt:Component.ComponentVersion>", SecurityRules.Flatten(Deployment("dev", "FleetDeployment")["Components"]![TestAssets.ComponentName]!["ComponentVersion"]));
    }

    [Fact]
    public void Prod_CanaryGroup_GetsTheBuiltVersionWithSameRolloutPolicy()
    {
        var config = synth.Environments["prod"].Config;
        var canary = Deployment("prod", "CanaryDeployment");

        Assert.Equal(config.Fleet.CanaryThingGroupArn, canary["TargetArn"]!.GetValue<string>());
        Assert.Equal("<GetAtt:Component.ComponentVersion>", SecurityRules.Flatten(canary["Components"]![TestAssets.ComponentName]!["ComponentVersion"]));
        Assert.Equal("ROLLBACK", canary["DeploymentPolicies"]!["FailureHandlingPolicy"]!.GetValue<string>());
    }

    [Fact]
    public void Prod_ExtraComponents_StayInEveryDeployment()
    {
        foreach (var (name, version) in synth.Environments["prod"].Config.Fleet.ExtraComponents)
        {
            foreach (var id in new[] { "FleetDeployment", "CanaryDeployment" })
            {
                Assert.Equal(version, Deployment("prod", id)["Components"]![name]!["ComponentVersion"]!.GetValue<string>());
            }
        }

        Assert.NotEmpty(synth.Environments["prod"].Config.Fleet.ExtraComponents);
    }

    [Fact]
    public void PinnedFleetVersion_KeepsFleetOnItWhileCanaryGetsTheNewOne()
    {
        var pinned = SynthesizedEnvironment.Create("prod", synth.Assets, context =>
            context["environments"]!["prod"]!["fleet"]!["fleetComponentVersion"] = "1.3.0");
        var raw = pinned.RawTemplates["EdgeLabeling-prod-EdgeFleet"]["Resources"]!;

        Assert.Equal("1.3.0", raw["FleetDeployment"]!["Properties"]!["Components"]![TestAssets.ComponentName]!["ComponentVersion"]!.GetValue<string>());
        Assert.Equal("<GetAtt:Component.ComponentVersion>", SecurityRules.Flatten(raw["CanaryDeployment"]!["Properties"]!["Components"]![TestAssets.ComponentName]!["ComponentVersion"]));
        Assert.Contains("Component", raw["FleetDeployment"]!["DependsOn"]!.AsArray().Select(d => d!.GetValue<string>()));
    }

    [Fact]
    public void EdgeFleetStack_ExposesRoleAliasForNucleusConfiguration()
    {
        Assert.Equal("EdgeLabeling-prod-TokenExchangeRoleAlias", synth.Environments["prod"].Stacks.EdgeFleet.RoleAliasName);
        Assert.Equal(EdgeFleetStack.ThingNameVariable, "${credentials-iot:ThingName}");
    }
}
