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

    private static string ArtifactPrefix => $"components/{TestAssets.ComponentName}/{TestAssets.ComponentVersion}/";

    /// <summary>The token-exchange role (the one the IoT credentials provider assumes) and its policy.</summary>
    private (string RoleId, JsonObject Policy) DeviceRole(string env)
    {
        var role = SecurityRules.Resources(Raw(env), "AWS::IAM::Role")
            .Single(r => SecurityRules.Flatten(r.Resource["Properties"]!["AssumeRolePolicyDocument"]).Contains("credentials.iot.amazonaws.com", StringComparison.Ordinal)).Id;
        var policy = SecurityRules.Resources(Raw(env), "AWS::IAM::Policy")
            .Single(p => p.Resource["Properties"]!["Roles"]!.AsArray().Any(r => SecurityRules.Flatten(r) == $"<Ref:{role}>")).Resource;
        return (role, policy);
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void Component_InlineRecipePointsAtVersionedArtifactPrefix(string env)
    {
        var component = SecurityRules.Resources(Raw(env), "AWS::GreengrassV2::ComponentVersion").Single();
        var recipe = JsonNode.Parse(SecurityRules.Flatten(component.Resource["Properties"]!["InlineRecipe"]))!;

        Assert.Equal(TestAssets.ComponentName, recipe["ComponentName"]!.GetValue<string>());
        Assert.Equal(TestAssets.ComponentVersion, recipe["ComponentVersion"]!.GetValue<string>());
        var uris = recipe["Manifests"]!.AsArray().SelectMany(m => m!["Artifacts"]?.AsArray() ?? []).Select(a => a!["URI"]!.GetValue<string>()).ToList();
        Assert.Equal(2, uris.Count);
        // The Storage stack's artifact bucket (not the CDK asset bucket), under components/<name>/<version>/, file names kept.
        Assert.All(uris, u => Assert.Matches("^s3://<Import:EdgeLabeling-" + env + "-Storage:[^>]*ComponentArtifactsBucket[^>]*>/" + System.Text.RegularExpressions.Regex.Escape(ArtifactPrefix) + "edgelabeling-component-linux-(x64|arm64)\\.zip$", u));
        Assert.DoesNotContain(uris, u => u.Contains("cdk-hnb659fds-assets", StringComparison.Ordinal));
        Assert.StartsWith("exec {artifacts:decompressedPath}/edgelabeling-component-linux-x64/edgelabeling-component ", recipe["Manifests"]![0]!["Lifecycle"]!["Run"]!["Script"]!.GetValue<string>());
        // Retained: old versions stay deployable for rollback and for a fleet pinned behind the canary.
        Assert.Equal("Retain", component.Resource["DeletionPolicy"]!.GetValue<string>());
        // Greengrass reads the artifacts when the version is created, so they are uploaded first.
        var upload = SecurityRules.Resources(Raw(env), "Custom::CDKBucketDeployment").Single().Id;
        Assert.Contains(upload, component.Resource["DependsOn"]!.AsArray().Select(d => d!.GetValue<string>()));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void ArtifactUpload_WritesUnderVersionPrefixAndNeverPrunesOrDeletes(string env)
    {
        var upload = SecurityRules.Resources(Raw(env), "Custom::CDKBucketDeployment").Single().Resource["Properties"]!;

        Assert.Equal(ArtifactPrefix, upload["DestinationBucketKeyPrefix"]!.GetValue<string>());
        Assert.Contains("ComponentArtifactsBucket", SecurityRules.Flatten(upload["DestinationBucketName"]));
        // Older versions' files stay when a new version is uploaded, and when the stack or resource goes away.
        Assert.False(upload["Prune"]!.GetValue<bool>());
        Assert.True(upload["RetainOnDelete"]!.GetValue<bool>());
        // The ZIP files themselves are copied (extracted from the asset bundle), not their contents.
        Assert.Null(upload["Extract"]);

        // The staged source holds exactly the recipe's artifacts, under their own names (recipe.json stays behind).
        var sourceKey = Assert.Single(upload["SourceObjectKeys"]!.AsArray().Select(SecurityRules.Flatten));
        // The cloud assembly's asset manifest says which staged folder becomes that object.
        var outdir = synth.Environments[env].Outdir;
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(outdir, $"EdgeLabeling-{env}-EdgeFleet.assets.json")))!["files"]!.AsObject();
        var source = manifest.Select(f => f.Value!)
            .Single(f => f["destinations"]!.AsObject().Any(d => d.Value!["objectKey"]!.GetValue<string>() == sourceKey))["source"]!;
        Assert.Equal("zip", source["packaging"]!.GetValue<string>());
        var staged = Path.Combine(outdir, source["path"]!.GetValue<string>());
        Assert.Equal([TestAssets.Arm64Zip, TestAssets.X64Zip], Directory.GetFiles(staged).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void TokenExchangeRole_IsAssumedByIotCredentialsProviderThroughRoleAlias(string env)
    {
        var fleet = synth.Environments[env].EdgeFleet;

        fleet.HasResourceProperties("AWS::IAM::Role", Match.ObjectLike(Obj(
            ("AssumeRolePolicyDocument", Match.ObjectLike(Obj(
                ("Statement", new object[] { Match.ObjectLike(Obj(("Principal", Obj(("Service", "credentials.iot.amazonaws.com"))))) })))))));
        var role = DeviceRole(env).RoleId;
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
        var policy = DeviceRole(env).Policy;
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
    public void DevicePolicy_ReadsEveryVersionOfTheComponentArtifactsAndLocatesTheirBucket(string env)
    {
        var statements = DeviceRole(env).Policy["Properties"]!["PolicyDocument"]!["Statement"]!.AsArray();
        string[] Resources(string sid) => statements.Single(s => s!["Sid"]!.GetValue<string>() == sid)!["Resource"] is JsonArray a
            ? a.Select(SecurityRules.Flatten).ToArray()
            : [SecurityRules.Flatten(statements.Single(s => s!["Sid"]!.GetValue<string>() == sid)!["Resource"])];

        // Every version of this component: a device that needs an older version (a new device in a fleet held
        // on it, a rollback) downloads it again with these credentials.
        var artifacts = Assert.Single(Resources("ReadComponentArtifacts"));
        Assert.Matches($"^<Import:EdgeLabeling-{env}-Storage:[^>]*ComponentArtifactsBucket[^>]*>/components/{System.Text.RegularExpressions.Regex.Escape(TestAssets.ComponentName)}/\\*$", artifacts);
        Assert.Equal(["s3:GetObject"], statements.Single(s => s!["Sid"]!.GetValue<string>() == "ReadComponentArtifacts")!["Action"] is JsonArray acts
            ? acts.Select(x => x!.GetValue<string>()).ToArray()
            : [statements.Single(s => s!["Sid"]!.GetValue<string>() == "ReadComponentArtifacts")!["Action"]!.GetValue<string>()]);
        // The nucleus calls GetBucketLocation before downloading and fails on 403.
        Assert.Matches($"^<Import:EdgeLabeling-{env}-Storage:[^>]*ComponentArtifactsBucket[^>]*>$", Assert.Single(Resources("LocateArtifactBucket")));
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
        Assert.Equal(string.Join(',', config.Routing.ClassThresholds.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}")),
            merge["ClassThresholds"]!.GetValue<string>());
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
        var withExtra = SynthesizedEnvironment.Create("prod", synth.Assets, context =>
            context["environments"]!["prod"]!["fleet"]!["extraComponents"] = new JsonObject { ["aws.greengrass.LogManager"] = "2.3.7" });
        var raw = withExtra.RawTemplates["EdgeLabeling-prod-EdgeFleet"]["Resources"]!;

        foreach (var id in new[] { "FleetDeployment", "CanaryDeployment" })
        {
            Assert.Equal("2.3.7", raw[id]!["Properties"]!["Components"]!["aws.greengrass.LogManager"]!["ComponentVersion"]!.GetValue<string>());
        }
    }

    [Fact]
    public void Prod_Deployments_LeaveTheNucleusVersionToEachCore()
    {
        // Pinning aws.greengrass.Nucleus to one version would downgrade cores already on a newer one; the
        // recipe's SOFT dependency sets the minimum instead.
        foreach (var id in new[] { "FleetDeployment", "CanaryDeployment" })
        {
            Assert.Null(Deployment("prod", id)["Components"]!["aws.greengrass.Nucleus"]);
        }

        var component = SecurityRules.Resources(Raw("prod"), "AWS::GreengrassV2::ComponentVersion").Single().Resource;
        var nucleus = JsonNode.Parse(SecurityRules.Flatten(component["Properties"]!["InlineRecipe"]))!["ComponentDependencies"]!["aws.greengrass.Nucleus"]!;
        Assert.Equal("SOFT", nucleus["DependencyType"]!.GetValue<string>());
        Assert.Equal(">=2.15.0 <3.0.0", nucleus["VersionRequirement"]!.GetValue<string>());
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
    public void PinnedFleetWithFleetRouting_FleetKeepsItsThresholdsWhileCanaryGetsTheNewOnes()
    {
        var pinned = SynthesizedEnvironment.Create("prod", synth.Assets, context =>
        {
            var fleet = context["environments"]!["prod"]!["fleet"]!;
            fleet["fleetComponentVersion"] = "1.3.0";
            fleet["fleetRouting"] = new JsonObject { ["autoAcceptThreshold"] = 0.72, ["uncertainLow"] = 0.3, ["classThresholds"] = new JsonObject { ["bolt"] = 0.81 } };
        });
        var raw = pinned.RawTemplates["EdgeLabeling-prod-EdgeFleet"]["Resources"]!;
        string Merge(string id) => SecurityRules.Flatten(raw[id]!["Properties"]!["Components"]![TestAssets.ComponentName]!["ConfigurationUpdate"]!["Merge"]);

        var fleetMerge = Merge("FleetDeployment");
        Assert.Contains("\"AutoAcceptThreshold\":\"0.72\"", fleetMerge);
        Assert.Contains("\"UncertainLow\":\"0.3\"", fleetMerge);
        Assert.Contains("\"ClassThresholds\":\"bolt=0.81\"", fleetMerge);
        Assert.Contains("\"AuditRate\":\"0.02\"", fleetMerge);
        var canaryMerge = Merge("CanaryDeployment");
        Assert.Contains("\"AutoAcceptThreshold\":\"0.6\"", canaryMerge);
        Assert.Contains("\"ClassThresholds\":\"\"", canaryMerge);
    }

    [Fact]
    public void EdgeFleetStack_ExposesRoleAliasForNucleusConfiguration()
    {
        Assert.Equal("EdgeLabeling-prod-TokenExchangeRoleAlias", synth.Environments["prod"].Stacks.EdgeFleet.RoleAliasName);
        Assert.Equal(EdgeFleetStack.ThingNameVariable, "${credentials-iot:ThingName}");
    }
}
