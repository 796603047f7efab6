using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Infra.Configuration;

/// <summary>
/// Turns the cdk.json context (<c>env</c> plus the <c>environments</c> table) into one validated
/// <see cref="EnvironmentConfig"/>. Every problem is reported with the JSON path that caused it.
/// </summary>
public static partial class ConfigLoader
{
    /// <summary>Context key that selects the environment (<c>-c env=prod</c>).</summary>
    public const string EnvironmentKey = "env";

    /// <summary>Name of the Greengrass nucleus component.</summary>
    public const string NucleusComponent = "aws.greengrass.Nucleus";

    /// <summary>
    /// Oldest nucleus the component's recipe accepts: before 2.15.0 the nucleus did not SIGTERM the component's
    /// process before killing it (aws-greengrass-nucleus#1667, fixed by #1668 in 2.15.0).
    /// </summary>
    public static readonly Version MinimumNucleus = new(2, 15, 0);

    /// <summary>Context key of the environments table.</summary>
    public const string EnvironmentsKey = "environments";

    /// <summary>Log retention values CloudWatch Logs accepts.</summary>
    public static readonly IReadOnlyList<int> AllowedRetentionDays =
        [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

    /// <summary>Regions with documented Ground Truth built-in pre/consolidation Lambdas (aws-contracts §4).</summary>
    public static readonly IReadOnlySet<string> GroundTruthRegions = new HashSet<string>(StringComparer.Ordinal)
    {
        "us-east-1", "us-east-2", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2", "eu-central-1",
        "ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
    };

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNameCaseInsensitive = false,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        // A typo in cdk.json ("minItem") must fail loudly instead of silently using a default.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    [GeneratedRegex("^[0-9]{12}$")]
    private static partial Regex AccountRegex();

    [GeneratedRegex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")]
    private static partial Regex RegionRegex();

    [GeneratedRegex("^arn:aws[a-z-]*:iot:[a-z0-9-]+:[0-9]{12}:thinggroup/[a-zA-Z0-9:_-]{1,128}$")]
    private static partial Regex ThingGroupArnRegex();

    [GeneratedRegex("^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:workteam/private-crowd/[a-zA-Z0-9-]{1,63}$")]
    private static partial Regex WorkteamArnRegex();

    [GeneratedRegex("^[0-9]{1,6}\\.[0-9]{1,6}\\.[0-9]{1,6}$")]
    private static partial Regex SemverRegex();

    [GeneratedRegex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$")]
    private static partial Regex EmailRegex();

    [GeneratedRegex("^[A-Z][A-Z0-9_]{0,127}$")]
    private static partial Regex EnvironmentNameRegex();

    /// <summary>Lambda variables the labeling stack derives from resources and typed settings.</summary>
    public static readonly IReadOnlySet<string> ReservedEnvironment = LambdaFunctions.All.SelectMany(f => f.Required)
        .Concat(LambdaEnvironment.SetByLambda)
        .ToHashSet(StringComparer.Ordinal);

    /// <summary>Variables an environment may add through <c>lambdaEnvironment</c>: those some function reads.</summary>
    public static readonly IReadOnlySet<string> ConfigurableEnvironment = LambdaFunctions.All.SelectMany(f => f.Optional).ToHashSet(StringComparer.Ordinal);

    // Lower case only: the batcher lower-cases job names, and the state rule matches the job ARN by this prefix.
    [GeneratedRegex("^[a-z0-9](-*[a-z0-9]){0,29}$")]
    private static partial Regex JobNamePrefixRegex();

    [GeneratedRegex("^[a-zA-Z0-9._-]{1,255}$")]
    private static partial Regex KeyNameRegex();

    /// <summary>
    /// Selects and validates one environment. <paramref name="envName"/> null or empty selects nothing
    /// and is an error, because deploying to an implicit environment is how prod gets hit by accident.
    /// </summary>
    public static EnvironmentConfig Select(string? envName, JsonObject? environments)
    {
        if (environments is null || environments.Count == 0)
        {
            throw new ConfigurationException($"cdk.json context has no '{EnvironmentsKey}' table; add at least one environment");
        }

        var known = string.Join(", ", environments.Select(p => p.Key).Order(StringComparer.Ordinal));
        if (string.IsNullOrWhiteSpace(envName))
        {
            throw new ConfigurationException($"no environment selected: pass -c {EnvironmentKey}=<name>, one of: {known}");
        }

        if (!environments.TryGetPropertyValue(envName, out var node) || node is not JsonObject)
        {
            throw new ConfigurationException($"unknown environment '{envName}'; known environments: {known}");
        }

        return Parse(envName, node.ToJsonString());
    }

    /// <summary>Parses and validates one environment's JSON object.</summary>
    public static EnvironmentConfig Parse(string name, string json)
    {
        EnvironmentConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<EnvironmentConfig>(json, Options);
        }
        catch (JsonException ex)
        {
            var where = string.IsNullOrEmpty(ex.Path) ? "" : $" at {ex.Path}";
            throw new ConfigurationException($"environment '{name}' is not valid{where}: {ex.Message}", ex);
        }

        if (config is null)
        {
            throw new ConfigurationException($"environment '{name}' is null");
        }

        config = config with { Name = name };
        var errors = Validate(config);
        if (errors.Count > 0)
        {
            throw new ConfigurationException($"environment '{name}' is not valid:{Environment.NewLine}  - " + string.Join(Environment.NewLine + "  - ", errors));
        }

        return config;
    }

    /// <summary>Range and format checks that the JSON shape alone cannot express.</summary>
    public static IReadOnlyList<string> Validate(EnvironmentConfig c)
    {
        var errors = new List<string>();
        void Check(bool ok, string message)
        {
            if (!ok)
            {
                errors.Add(message);
            }
        }

        Check(AccountRegex().IsMatch(c.Account), $"account '{c.Account}' must be 12 digits");
        Check(RegionRegex().IsMatch(c.Region), $"region '{c.Region}' is not an AWS region name");
        Check(!RegionRegex().IsMatch(c.Region) || GroundTruthRegions.Contains(c.Region), $"region '{c.Region}' has no Ground Truth built-in Lambdas; use one of {string.Join(", ", GroundTruthRegions.Order(StringComparer.Ordinal))}");
        Check(c.RemovalPolicy is "retain" or "destroy", $"removalPolicy '{c.RemovalPolicy}' must be 'retain' or 'destroy'");
        Check(!(c.DestroyOnRemoval && c.Name == "prod"), "removalPolicy 'destroy' is not allowed for prod");
        Check(!(c.Name == "prod" && !c.TerminationProtection), "terminationProtection must be true for prod");
        Check(AllowedRetentionDays.Contains(c.LogRetentionDays), $"logRetentionDays {c.LogRetentionDays} is not one of {string.Join(", ", AllowedRetentionDays)}");
        Check(c.NoncurrentVersionExpirationDays is >= 1 and <= 3650, "noncurrentVersionExpirationDays must be 1-3650");
        Check(c.IncomingInfrequentAccessDays >= 30, "incomingInfrequentAccessDays must be at least 30 (S3 refuses STANDARD_IA earlier)");
        Check(c.Lambda.Architecture is "arm64" or "x86_64", $"lambda.architecture '{c.Lambda.Architecture}' must be 'arm64' or 'x86_64'");
        Check(c.Lambda.MemoryMb is >= 128 and <= 10240, "lambda.memoryMb must be 128-10240");
        Check(c.Lambda.TimeoutSeconds is >= 1 and <= 900, "lambda.timeoutSeconds must be 1-900");
        Check(c.Lambda.MergeEphemeralStorageMb is >= 512 and <= 10240, "lambda.mergeEphemeralStorageMb must be 512-10240 (Lambda's /tmp range)");
        // The one threshold rule of the router (RoutingThresholds), so synth refuses what the device would refuse.
        foreach (var problem in c.Routing.Thresholds.Problems("routing."))
        {
            Check(false, problem);
        }

        Check(c.Routing.AuditRate is >= 0 and <= 1, "routing.auditRate must be within [0, 1]");
        Check(c.Routing.TargetPrecision is > 0 and < 1, "routing.targetPrecision must be within (0, 1)");

        Check(c.ProductionPrecision.WindowDays is >= 1 and <= 366, "productionPrecision.windowDays must be 1-366");
        Check(c.ProductionPrecision.MinAuditedBoxes >= 1, "productionPrecision.minAuditedBoxes must be at least 1");
        Check(c.ProductionPrecision.AlarmClasses.Count <= 50, "productionPrecision.alarmClasses: at most 50 classes (a bounding-box job has at most 50)");
        Check(c.ProductionPrecision.AlarmClasses.All(n => n.Trim().Length > 0) && c.ProductionPrecision.AlarmClasses.Distinct(StringComparer.Ordinal).Count() == c.ProductionPrecision.AlarmClasses.Count,
            "productionPrecision.alarmClasses must be distinct non-empty class names");
        Check(c.Batch.MinItems is >= 1 and <= 100_000, "batch.minItems must be 1-100000 (GT allows 100K objects per job)");
        Check(c.Batch.MaxAgeMinutes >= 1, "batch.maxAgeMinutes must be positive");
        Check(c.Batch.ScheduleMinutes is >= 1 and <= 1440, "batch.scheduleMinutes must be 1-1440");
        Check(JobNamePrefixRegex().IsMatch(c.Batch.JobNamePrefix), $"batch.jobNamePrefix '{c.Batch.JobNamePrefix}' must be 1-30 lower-case letters, digits or inner hyphens");
        Check(c.Batch.SetAsideAfterReturns is >= 0 and <= 100, "batch.setAsideAfterReturns must be 0 (never) to 100");
        Check(c.Budget.MonthlyUsd > 0, "budget.monthlyUsd must be positive");
        // The waiting alarm evaluates hourly periods; CloudWatch caps an alarm's window at 7 days.
        Check(c.Budget.MaxWaitingHours is >= 1 and <= 168, "budget.maxWaitingHours must be 1-168 (CloudWatch alarms look back at most 7 days)");
        Check(LabelingConventions.DatasetAttributeProblem(c.LabelAttribute) is null, $"labelAttribute: {LabelingConventions.DatasetAttributeProblem(c.LabelAttribute)}");
        Check(c.CreateWorkteam || WorkteamArnRegex().IsMatch(c.Workteam), $"workteam '{c.Workteam}' must be 'create' or a private workteam ARN");
        Check(c.Labeling.Backend is LabelingBackendConfig.GroundTruth or LabelingBackendConfig.BuiltIn,
            $"labeling.backend '{c.Labeling.Backend}' must be '{LabelingBackendConfig.GroundTruth}' or '{LabelingBackendConfig.BuiltIn}'");
        Check(KeyNameRegex().IsMatch(c.Table.PartitionKey), "table.partitionKey must be a DynamoDB attribute name");
        Check(c.Table.SortKey is null || KeyNameRegex().IsMatch(c.Table.SortKey), "table.sortKey must be a DynamoDB attribute name");
        Check(c.Table.PartitionKey != c.Table.SortKey, "table.partitionKey and table.sortKey must differ");
        foreach (var email in c.AlarmEmails)
        {
            Check(EmailRegex().IsMatch(email), $"alarmEmails entry '{email}' is not an email address");
        }

        foreach (var (name, _) in c.LambdaEnvironment)
        {
            Check(EnvironmentNameRegex().IsMatch(name), $"lambdaEnvironment name '{name}' must be UPPER_SNAKE_CASE");
            Check(!ReservedEnvironment.Contains(name), $"lambdaEnvironment '{name}' is set by the stack itself");
            Check(ReservedEnvironment.Contains(name) || ConfigurableEnvironment.Contains(name),
                $"lambdaEnvironment '{name}' is read by no labeling function; known settings: {string.Join(", ", ConfigurableEnvironment.Order(StringComparer.Ordinal))}");
        }

        foreach (var (function, seconds) in c.Lambda.FunctionTimeoutSeconds)
        {
            Check(LambdaFunctions.All.Any(f => f.Name == function), $"lambda.functionTimeoutSeconds '{function}' is not one of {string.Join(", ", LambdaFunctions.All.Select(f => f.Name))}");
            Check(seconds is >= 1 and <= 900, $"lambda.functionTimeoutSeconds.{function} must be 1-900");
        }
        Check(ThingGroupArnRegex().IsMatch(c.Fleet.ThingGroupArn), $"fleet.thingGroupArn '{c.Fleet.ThingGroupArn}' must be an IoT thing group ARN");
        Check(c.Fleet.CanaryThingGroupArn is null || ThingGroupArnRegex().IsMatch(c.Fleet.CanaryThingGroupArn), $"fleet.canaryThingGroupArn '{c.Fleet.CanaryThingGroupArn}' must be an IoT thing group ARN");
        Check(c.Fleet.CanaryThingGroupArn != c.Fleet.ThingGroupArn, "fleet.canaryThingGroupArn must differ from fleet.thingGroupArn");
        Check(c.Fleet.FleetComponentVersion is null || SemverRegex().IsMatch(c.Fleet.FleetComponentVersion), $"fleet.fleetComponentVersion '{c.Fleet.FleetComponentVersion}' must be major.minor.patch");
        Check(c.Fleet.FleetComponentVersion is null || c.Fleet.CanaryThingGroupArn is not null, "fleet.fleetComponentVersion pins the fleet while a canary soaks, so it needs fleet.canaryThingGroupArn");
        if (c.Fleet.FleetRouting is { } held)
        {
            Check(c.Fleet.FleetComponentVersion is not null, "fleet.fleetRouting keeps the thresholds of a fleet held on its version, so it needs fleet.fleetComponentVersion (remove it when promoting)");
            foreach (var problem in held.Thresholds.Problems("fleet.fleetRouting."))
            {
                Check(false, problem);
            }
        }

        foreach (var (component, version) in c.Fleet.ExtraComponents)
        {
            Check(version.Length > 0, $"fleet.extraComponents['{component}'] needs a version");
            // The component's recipe needs nucleus >= 2.15.0 (SIGTERM, then a 5 s wait); a deployment naming an older
            // nucleus cannot resolve.
            Check(component != NucleusComponent || (Version.TryParse(version, out var nucleus) && nucleus >= MinimumNucleus),
                $"fleet.extraComponents['{NucleusComponent}'] is '{version}': the component needs nucleus {MinimumNucleus} or newer (older ones kill it without a SIGTERM); leave the nucleus out to keep each core's own version");
        }

        Check(c.FleetHealth.SilentHours is > 0 and <= 168, "fleetHealth.silentHours must be within (0, 168]");
        Check(c.FleetHealth.QueueGrowingHours is > 0 and <= 168, "fleetHealth.queueGrowingHours must be within (0, 168]");
        Check(c.FleetHealth.MinFreeDiskMegabytes >= 1, "fleetHealth.minFreeDiskMegabytes must be at least 1");
        // A minute is the finest EventBridge rate; over an hour the silent alarm would lag its own threshold.
        Check(c.FleetHealth.CheckMinutes is >= 1 and <= 60, "fleetHealth.checkMinutes must be 1-60");
        var r = c.Fleet.Rollout;
        Check(r.BaseRatePerMinute is >= 1 and <= 1000, "fleet.rollout.baseRatePerMinute must be 1-1000");
        // The IoT Jobs API (ExponentialRolloutRate) takes 1.1-5.0 with at most one decimal; Greengrass passes the value on.
        Check(r.IncrementFactor is >= 1.1 and <= 5 && Math.Round(r.IncrementFactor, 1) == r.IncrementFactor,
            $"fleet.rollout.incrementFactor is {r.IncrementFactor.ToString(CultureInfo.InvariantCulture)}: it must be 1.1-5.0 with at most one decimal (IoT jobs ExponentialRolloutRate)");
        Check(r.RateIncreaseAfterSucceeded >= 1, "fleet.rollout.rateIncreaseAfterSucceeded must be at least 1");
        Check(r.MaximumPerMinute is >= 1 and <= 1000 && r.MaximumPerMinute >= r.BaseRatePerMinute, "fleet.rollout.maximumPerMinute must be 1-1000 and at least baseRatePerMinute");
        Check(r.AbortFailurePercent is > 0 and <= 100 && Math.Round(r.AbortFailurePercent, 2) == r.AbortFailurePercent, "fleet.rollout.abortFailurePercent must be within (0, 100] with at most 2 decimals");
        Check(r.AbortMinExecutedThings >= 1, "fleet.rollout.abortMinExecutedThings must be at least 1");
        Check(r.InProgressTimeoutMinutes is >= 1 and <= 10080, "fleet.rollout.inProgressTimeoutMinutes must be 1-10080");
        Check(r.ComponentUpdateTimeoutSeconds is >= 1 and <= 3600, "fleet.rollout.componentUpdateTimeoutSeconds must be 1-3600");
        return errors;
    }

    /// <summary>
    /// Converts a value returned by <c>Node.TryGetContext</c> into JSON. jsii hands objects over as
    /// dictionaries and lists; a value given on the command line arrives as a string.
    /// </summary>
    public static JsonNode? ToJsonNode(object? value) => value switch
    {
        null => null,
        JsonNode node => node,
        JsonElement element => JsonNode.Parse(element.GetRawText()),
        string s => s.TrimStart().StartsWith('{') || s.TrimStart().StartsWith('[') ? JsonNode.Parse(s) : JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int or long or double or float or decimal or short or byte => JsonNode.Parse(Convert.ToString(value, CultureInfo.InvariantCulture)!),
        IDictionary dict => ToObject(dict),
        IEnumerable list => new JsonArray(list.Cast<object?>().Select(ToJsonNode).ToArray()),
        // Unknown wrapper types (e.g. a JSON library's token) print themselves as JSON.
        _ => JsonNode.Parse(value.ToString() ?? "null"),
    };

    private static JsonObject ToObject(IDictionary dict)
    {
        var obj = new JsonObject();
        foreach (DictionaryEntry entry in dict)
        {
            obj[Convert.ToString(entry.Key, CultureInfo.InvariantCulture)!] = ToJsonNode(entry.Value);
        }

        return obj;
    }
}

/// <summary>Configuration that cannot be deployed; the message names the offending setting.</summary>
public sealed class ConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ConfigurationException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public ConfigurationException(string message, Exception inner) : base(message, inner)
    {
    }
}
