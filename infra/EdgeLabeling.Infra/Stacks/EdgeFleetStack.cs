using System.Globalization;
using Amazon.CDK;
using Amazon.CDK.AWS.GreengrassV2;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.IoT;
using Amazon.CDK.AWS.KMS;
using Amazon.CDK.AWS.S3;
using Amazon.CDK.AWS.Logs;
using Amazon.CDK.AWS.S3.Deployment;
using Constructs;
using EdgeLabeling.Contracts;
using EdgeLabeling.Infra.Configuration;
using EdgeLabeling.Infra.Edge;

namespace EdgeLabeling.Infra.Stacks;

/// <summary>Inputs of <see cref="EdgeFleetStack"/>.</summary>
public sealed record EdgeFleetStackProps
{
    /// <summary>Environment settings (thing groups, rollout, thresholds).</summary>
    public required EnvironmentConfig Config { get; init; }

    /// <summary>Stack-level CloudFormation settings.</summary>
    public required IStackProps StackProps { get; init; }

    /// <summary>Bucket the devices upload to.</summary>
    public required IBucket IncomingBucket { get; init; }

    /// <summary>Key encrypting the incoming bucket.</summary>
    public required IKey DataKey { get; init; }

    /// <summary>Bucket the component artifacts are copied to, under <c>components/&lt;name&gt;/&lt;version&gt;/</c>.</summary>
    public required IBucket ArtifactBucket { get; init; }

    /// <summary>Folder with recipe.json and the artifact files it names (output of scripts/package-component.sh).</summary>
    public required string ComponentDirectory { get; init; }
}

/// <summary>
/// The Greengrass side: the component version built from the packaged recipe and artifacts, the
/// token-exchange role devices get credentials for (write-only to their own prefixes), its IoT role
/// alias, and the deployments to the canary and fleet thing groups with rollout and abort policies.
/// </summary>
public sealed class EdgeFleetStack : Stack
{
    /// <summary>Name of the recipe file in the component folder.</summary>
    public const string RecipeFileName = "recipe.json";

    /// <summary>The IAM policy variable the IoT credentials provider fills with the caller's thing name.</summary>
    public const string ThingNameVariable = "${credentials-iot:ThingName}";

    /// <summary>Creates the stack.</summary>
    public EdgeFleetStack(Construct scope, string id, EdgeFleetStackProps props)
        : base(scope, id, props.StackProps)
    {
        var config = props.Config;
        var recipe = ComponentRecipe.Load(Path.Combine(props.ComponentDirectory, RecipeFileName));
        Recipe = recipe;

        // --- Artifacts under a versioned prefix that stays --------------------------------------------
        // Every released version must stay downloadable: a device that joins a fleet held on an older version,
        // or rolls back to one it never had, downloads that version's artifacts again. So each version's files
        // go to components/<name>/<version>/ and are never pruned or deleted by a later deployment.
        var uploaded = new Dictionary<string, UploadedArtifact>(StringComparer.Ordinal);
        foreach (var file in recipe.ArtifactFileNames)
        {
            if (!File.Exists(Path.Combine(props.ComponentDirectory, file)))
            {
                throw new ConfigurationException($"recipe artifact '{file}' is not in component folder '{props.ComponentDirectory}'");
            }
        }

        ArtifactPrefix = ArtifactKeyPrefix(recipe.Name, recipe.Version);
        BucketDeployment? artifactUpload = null;
        if (recipe.ArtifactFileNames.Count > 0)
        {
            artifactUpload = new BucketDeployment(this, "ComponentArtifacts", new BucketDeploymentProps
            {
                // Only the recipe's artifacts (not recipe.json or anything else in the folder), keeping their names.
                Sources = [Source.Asset(props.ComponentDirectory, new Amazon.CDK.AWS.S3.Assets.AssetOptions
                {
                    Exclude = ["*", .. recipe.ArtifactFileNames.Select(f => "!" + f)],
                })],
                DestinationBucket = props.ArtifactBucket,
                DestinationKeyPrefix = ArtifactPrefix,
                Prune = false,
                RetainOnDelete = true,
                // The self-contained ZIPs are ~55 MB each; the copy unpacks the asset in memory and /tmp.
                MemoryLimit = 1024,
                LogGroup = new LogGroup(this, "ComponentArtifactsUploadLogs", new LogGroupProps
                {
                    Retention = LabelingStack.LogRetention(config.LogRetentionDays),
                    RemovalPolicy = RemovalPolicy.DESTROY,
                }),
            });
            foreach (var file in recipe.ArtifactFileNames)
            {
                uploaded[file] = new UploadedArtifact($"s3://{props.ArtifactBucket.BucketName}/{ArtifactPrefix}{file}", file);
            }
        }

        // --- Token exchange role + role alias ------------------------------------------------------
        var role = new Role(this, "TokenExchangeRole", new RoleProps
        {
            Description = "Greengrass token exchange role: devices upload only under their own thing-name prefixes",
            AssumedBy = new ServicePrincipal("credentials.iot.amazonaws.com"),
            MaxSessionDuration = Duration.Hours(1),
        });
        var ownPrefixes = new[]
        {
            $"{ObjectKeyLayout.IncomingPrefix}{ThingNameVariable}/*",
            $"{LabelingConventions.AutoLabelsPrefix}{ThingNameVariable}/*",
        };
        role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "UploadOwnObjects",
            // GetObject backs the uploader's HEAD-before-PUT (skip what is already there).
            Actions = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
            Resources = ownPrefixes.Select(p => $"{props.IncomingBucket.BucketArn}/{p}").ToArray(),
        }));
        role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "SendOwnHeartbeat",
            // The heartbeat is one fixed key per device, only ever overwritten: no read, no other key.
            Actions = ["s3:PutObject"],
            Resources = [$"{props.IncomingBucket.BucketArn}/{FleetKeys.StatusPrefix}{ThingNameVariable}/{FleetKeys.HeartbeatFileName}"],
        }));
        role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "ListOwnPrefixes",
            // Scoped listing of the device's own prefixes. A HEAD carries no s3:prefix, so a missing key still
            // answers 403 (not 404); the uploader treats that as "unknown" and PUTs.
            Actions = ["s3:ListBucket"],
            Resources = [props.IncomingBucket.BucketArn],
            Conditions = new Dictionary<string, object>
            {
                ["StringLike"] = new Dictionary<string, object> { ["s3:prefix"] = ownPrefixes },
            },
        }));
        role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "EncryptUploadsViaS3",
            // Decrypt is needed to complete multipart uploads of SSE-KMS objects.
            Actions = ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"],
            Resources = [props.DataKey.KeyArn],
            Conditions = new Dictionary<string, object>
            {
                ["StringEquals"] = new Dictionary<string, object> { ["kms:ViaService"] = $"s3.{Aws.REGION}.amazonaws.com" },
            },
        }));
        if (artifactUpload is not null)
        {
            role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
            {
                Sid = "ReadComponentArtifacts",
                // Every version of this component, not only this build's: older versions stay deployable.
                Actions = ["s3:GetObject"],
                Resources = [props.ArtifactBucket.ArnForObjects(ArtifactKeyPrefix(recipe.Name) + "*")],
            }));
            role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
            {
                Sid = "LocateArtifactBucket",
                // The nucleus asks for the bucket's region before every artifact download and fails on 403.
                Actions = ["s3:GetBucketLocation"],
                Resources = [props.ArtifactBucket.BucketArn],
            }));
        }

        role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "GreengrassLogs",
            Actions = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            Resources = [FormatArn(new ArnComponents { Service = "logs", Resource = "log-group", ResourceName = "/aws/greengrass/*", ArnFormat = ArnFormat.COLON_RESOURCE_NAME })],
        }));
        TokenExchangeRole = role;

        var alias = new CfnRoleAlias(this, "TokenExchangeRoleAlias", new CfnRoleAliasProps
        {
            RoleAlias = $"EdgeLabeling-{config.Name}-TokenExchangeRoleAlias",
            RoleArn = role.RoleArn,
            CredentialDurationSeconds = 3600,
        });
        RoleAliasName = alias.RoleAlias!;

        // Attach to the device certificates (or the thing group) so devices may use the alias.
        var aliasPolicy = new Amazon.CDK.AWS.IoT.CfnPolicy(this, "TokenExchangeRoleAliasPolicy", new Amazon.CDK.AWS.IoT.CfnPolicyProps
        {
            PolicyName = $"EdgeLabeling-{config.Name}-TokenExchangeRoleAliasPolicy",
            PolicyDocument = new Dictionary<string, object>
            {
                ["Version"] = "2012-10-17",
                ["Statement"] = new object[]
                {
                    new Dictionary<string, object>
                    {
                        ["Effect"] = "Allow",
                        ["Action"] = new[] { "iot:AssumeRoleWithCertificate" },
                        ["Resource"] = new[] { alias.AttrRoleAliasArn },
                    },
                },
            },
        });
        RoleAliasPolicyName = aliasPolicy.PolicyName!;

        // --- Component version -------------------------------------------------------------------
        var component = new CfnComponentVersion(this, "Component", new CfnComponentVersionProps
        {
            InlineRecipe = recipe.Render(uploaded),
        });
        // Versions stay in the account after an update so devices can roll back and the fleet can
        // stay pinned to the previous version while a canary soaks the new one.
        component.ApplyRemovalPolicy(RemovalPolicy.RETAIN);
        if (artifactUpload is not null)
        {
            // Greengrass reads the artifacts (digest) when the version is created.
            component.Node.AddDependency(artifactUpload);
        }

        Component = component;

        // --- Deployments -------------------------------------------------------------------------
        var merge = Merge(props.IncomingBucket.BucketName, config.Routing.AutoAcceptThreshold, config.Routing.UncertainLow, config.Routing.ClassThresholds, config);
        ConfigurationMerge = merge;

        var builtVersion = component.AttrComponentVersion;
        if (config.Fleet.CanaryThingGroupArn is { } canaryArn)
        {
            CanaryDeployment = NewDeployment("CanaryDeployment", $"edgelabeling-{config.Name}-canary", canaryArn, recipe.Name, builtVersion, merge, config);
        }

        var fleetVersion = config.Fleet.FleetComponentVersion is { } pinned && pinned != recipe.Version ? pinned : builtVersion;
        var pinnedFleet = !ReferenceEquals(fleetVersion, builtVersion);
        // A fleet held on the previous version runs the previous model: it keeps that model's thresholds (fleet.fleetRouting).
        FleetConfigurationMerge = pinnedFleet && config.Fleet.FleetRouting is { } held
            ? Merge(props.IncomingBucket.BucketName, held.AutoAcceptThreshold, held.UncertainLow, held.ClassThresholds, config)
            : merge;
        FleetDeployment = NewDeployment("FleetDeployment", $"edgelabeling-{config.Name}-fleet", config.Fleet.ThingGroupArn, recipe.Name, fleetVersion, FleetConfigurationMerge, config);
        if (pinnedFleet)
        {
            // The pinned version already exists; still create the new one first so a failed build
            // never leaves the stack half-updated.
            FleetDeployment.AddDependency(component);
        }

        new CfnOutput(this, "ComponentVersionArn", new CfnOutputProps { Value = component.AttrArn });
        new CfnOutput(this, "TokenExchangeRoleAliasName", new CfnOutputProps { Value = RoleAliasName });
        // The Greengrass installer (--tes-role-name) wants the role name next to the alias.
        new CfnOutput(this, "TokenExchangeRoleName", new CfnOutputProps { Value = role.RoleName });
        new CfnOutput(this, "RoleAliasPolicyNameOutput", new CfnOutputProps { Value = RoleAliasPolicyName });
    }

    /// <summary>Key prefix of this version's artifacts in the artifact bucket (<c>components/&lt;name&gt;/&lt;version&gt;/</c>).</summary>
    public string ArtifactPrefix { get; }

    /// <summary>
    /// <c>components/&lt;name&gt;/</c>, or <c>components/&lt;name&gt;/&lt;version&gt;/</c> when a version is given:
    /// where a component's artifacts are kept.
    /// </summary>
    public static string ArtifactKeyPrefix(string componentName, string? version = null) =>
        version is null ? $"components/{componentName}/" : $"components/{componentName}/{version}/";

    /// <summary>The parsed recipe the component version was built from.</summary>
    public ComponentRecipe Recipe { get; }

    /// <summary>Role the devices' credentials come from.</summary>
    public IRole TokenExchangeRole { get; }

    /// <summary>IoT role alias name to set as the nucleus <c>iotRoleAlias</c>.</summary>
    public string RoleAliasName { get; }

    /// <summary>IoT policy allowing iot:AssumeRoleWithCertificate on the alias.</summary>
    public string RoleAliasPolicyName { get; }

    /// <summary>The component version resource.</summary>
    public CfnComponentVersion Component { get; }

    /// <summary>The configuration merge document sent to every device (JSON string, may hold tokens).</summary>
    public string ConfigurationMerge { get; }

    /// <summary>The configuration merge of the fleet deployment: <see cref="ConfigurationMerge"/>, or the held fleet's thresholds (fleet.fleetRouting).</summary>
    public string FleetConfigurationMerge { get; }

    /// <summary>Deployment to the canary group, when one is configured.</summary>
    public CfnDeployment? CanaryDeployment { get; }

    /// <summary>Deployment to the fleet group.</summary>
    public CfnDeployment FleetDeployment { get; }

    private string Merge(string bucketName, double autoAccept, double uncertainLow, IReadOnlyDictionary<string, double> classThresholds, EnvironmentConfig config) =>
        ToJsonString(new Dictionary<string, object>
        {
            ["Bucket"] = bucketName,
            // Real AWS S3: no endpoint override (the component uses one only for S3-compatible servers).
            // The region comes from the nucleus (AWS_REGION), so it is not part of the merge.
            ["S3Endpoint"] = "",
            ["AutoAcceptThreshold"] = autoAccept.ToString(CultureInfo.InvariantCulture),
            ["UncertainLow"] = uncertainLow.ToString(CultureInfo.InvariantCulture),
            ["AuditRate"] = config.Routing.AuditRate.ToString(CultureInfo.InvariantCulture),
            // "class=threshold,…" (EdgeOptions.ClassThresholds): every setting reaches the component on its command line.
            ["ClassThresholds"] = new RoutingThresholds { AutoAcceptThreshold = autoAccept, UncertainLow = uncertainLow, ClassThresholds = classThresholds }.FormatClassThresholds(),
            ["LabelAttribute"] = config.LabelAttribute,
        });

    private CfnDeployment NewDeployment(string id, string name, string targetArn, string componentName, string version, string merge, EnvironmentConfig config)
    {
        var rollout = config.Fleet.Rollout;
        var components = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            [componentName] = new CfnDeployment.ComponentDeploymentSpecificationProperty
            {
                ComponentVersion = version,
                ConfigurationUpdate = new CfnDeployment.ComponentConfigurationUpdateProperty { Merge = merge },
            },
        };

        // A deployment replaces the previous one for its target, so everything the devices must keep
        // running is listed here too.
        foreach (var (extraName, extraVersion) in config.Fleet.ExtraComponents.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            components[extraName] = new CfnDeployment.ComponentDeploymentSpecificationProperty { ComponentVersion = extraVersion };
        }

        return new CfnDeployment(this, id, new CfnDeploymentProps
        {
            DeploymentName = name,
            TargetArn = targetArn,
            Components = components,
            IotJobConfiguration = new CfnDeployment.DeploymentIoTJobConfigurationProperty
            {
                JobExecutionsRolloutConfig = new CfnDeployment.IoTJobExecutionsRolloutConfigProperty
                {
                    ExponentialRate = new CfnDeployment.IoTJobExponentialRolloutRateProperty
                    {
                        BaseRatePerMinute = rollout.BaseRatePerMinute,
                        IncrementFactor = rollout.IncrementFactor,
                        RateIncreaseCriteria = new Dictionary<string, object> { ["NumberOfSucceededThings"] = rollout.RateIncreaseAfterSucceeded },
                    },
                    MaximumPerMinute = rollout.MaximumPerMinute,
                },
                AbortConfig = new CfnDeployment.IoTJobAbortConfigProperty
                {
                    CriteriaList = new object[]
                    {
                        new CfnDeployment.IoTJobAbortCriteriaProperty
                        {
                            FailureType = "ALL",
                            Action = "CANCEL",
                            ThresholdPercentage = rollout.AbortFailurePercent,
                            MinNumberOfExecutedThings = rollout.AbortMinExecutedThings,
                        },
                    },
                },
                TimeoutConfig = new CfnDeployment.IoTJobTimeoutConfigProperty { InProgressTimeoutInMinutes = rollout.InProgressTimeoutMinutes },
            },
            DeploymentPolicies = new CfnDeployment.DeploymentPoliciesProperty
            {
                FailureHandlingPolicy = "ROLLBACK",
                ComponentUpdatePolicy = new CfnDeployment.DeploymentComponentUpdatePolicyProperty
                {
                    Action = "NOTIFY_COMPONENTS",
                    TimeoutInSeconds = rollout.ComponentUpdateTimeoutSeconds,
                },
                ConfigurationValidationPolicy = new CfnDeployment.DeploymentConfigurationValidationPolicyProperty { TimeoutInSeconds = 30 },
            },
        });
    }
}
