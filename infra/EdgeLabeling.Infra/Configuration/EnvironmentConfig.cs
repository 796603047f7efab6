using System.Text.Json.Serialization;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Infra.Configuration;

/// <summary>
/// Everything that differs between deployments of EdgeLabeling, read once from the <c>environments</c>
/// table in cdk.json context and handed to the stacks as typed props.
/// </summary>
public sealed record EnvironmentConfig
{
    /// <summary>Environment name, the key in the <c>environments</c> table (e.g. dev, prod).</summary>
    public string Name { get; init; } = "";

    /// <summary>12-digit AWS account id the stacks deploy to.</summary>
    public required string Account { get; init; }

    /// <summary>AWS region the stacks deploy to; must be a Ground Truth region for the built-in Lambdas.</summary>
    public required string Region { get; init; }

    /// <summary>"retain" keeps buckets/table/key when a stack is deleted; "destroy" (dev only) deletes them with their content.</summary>
    public required string RemovalPolicy { get; init; }

    /// <summary>CloudFormation termination protection on every stack of the environment.</summary>
    public required bool TerminationProtection { get; init; }

    /// <summary>Retention of every log group, in days (one of the values CloudWatch Logs accepts).</summary>
    public required int LogRetentionDays { get; init; }

    /// <summary>Days after which noncurrent object versions expire.</summary>
    public required int NoncurrentVersionExpirationDays { get; init; }

    /// <summary>Days after which incoming uploads move to STANDARD_IA.</summary>
    public int IncomingInfrequentAccessDays { get; init; } = 30;

    /// <summary>Compute settings shared by the three Lambdas.</summary>
    public required LambdaConfig Lambda { get; init; }

    /// <summary>Edge routing thresholds pushed to the devices through the deployment.</summary>
    public required RoutingConfig Routing { get; init; }

    /// <summary>When uncertain images are batched into a Ground Truth job.</summary>
    public required BatchConfig Batch { get; init; }

    /// <summary>Labeling spend limits and waiting-time alarms.</summary>
    public required BudgetConfig Budget { get; init; }

    /// <summary>Label attribute of the merged dataset (GT LabelAttributeName rules apply).</summary>
    public required string LabelAttribute { get; init; }

    /// <summary>An existing private workteam ARN, or "create" to create a Cognito user pool and workteam.</summary>
    public required string Workteam { get; init; }

    /// <summary>Addresses subscribed to the alarm topic (each confirms by email); may be empty.</summary>
    public IReadOnlyList<string> AlarmEmails { get; init; } = [];

    /// <summary>Key attribute names of the pending-item table.</summary>
    public required TableConfig Table { get; init; }

    /// <summary>
    /// Further Lambda environment variables of the labeling core (lambdas/README.md), e.g. LABELERS or
    /// CLASS_NAMES. Values are plain settings; secrets never go here (a test rejects secret-like names).
    /// </summary>
    public IReadOnlyDictionary<string, string> LambdaEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>Greengrass fleet targets and rollout policy.</summary>
    public required FleetConfig Fleet { get; init; }

    /// <summary>When the fleet view flags a device and how often the fleet check runs (optional; defaults below).</summary>
    public FleetHealthConfig FleetHealth { get; init; } = new();

    /// <summary>Production precision window and the classes whose precision is alarmed on (optional).</summary>
    public ProductionPrecisionConfig ProductionPrecision { get; init; } = new();

    /// <summary>Who labels: Ground Truth (the default) or the built-in review app.</summary>
    public LabelingBackendConfig Labeling { get; init; } = new();

    /// <summary>True when <see cref="RemovalPolicy"/> is "destroy".</summary>
    public bool DestroyOnRemoval => string.Equals(RemovalPolicy, "destroy", StringComparison.Ordinal);

    /// <summary>True when <see cref="Workteam"/> asks for a new Cognito-backed workteam.</summary>
    public bool CreateWorkteam => string.Equals(Workteam, "create", StringComparison.Ordinal);
}

/// <summary>Lambda compute settings.</summary>
public sealed record LambdaConfig
{
    /// <summary>"arm64" or "x86_64".</summary>
    public required string Architecture { get; init; }

    /// <summary>Memory size in MB (128–10240).</summary>
    public required int MemoryMb { get; init; }

    /// <summary>Timeout in seconds (1–900) of a function without its own entry in <see cref="FunctionTimeoutSeconds"/>.</summary>
    public required int TimeoutSeconds { get; init; }

    /// <summary>
    /// Per-function timeouts by function name (LambdaFunctions names): each
    /// function does different work, so each gets its own limit.
    /// </summary>
    public IReadOnlyDictionary<string, int> FunctionTimeoutSeconds { get; init; } = new Dictionary<string, int>();

    /// <summary>The timeout of function <paramref name="functionName"/>.</summary>
    public int TimeoutOf(string functionName) =>
        FunctionTimeoutSeconds.TryGetValue(functionName, out var seconds) ? seconds : TimeoutSeconds;

    /// <summary>/tmp of the merge function in MB (512–10240): the job's shard is spooled there before its upload.</summary>
    public int MergeEphemeralStorageMb { get; init; } = 1024;
}

/// <summary>Confidence thresholds for the edge router (names match the component's EdgeOptions).</summary>
public sealed record RoutingConfig
{
    /// <summary>Detections at or above this confidence are kept as automatic labels.</summary>
    public required double AutoAcceptThreshold { get; init; }

    /// <summary>Below this a detection is background; between the two the image goes to people.</summary>
    public required double UncertainLow { get; init; }

    /// <summary>Share of auto-labelable images also sent to people as an audit sample.</summary>
    public required double AuditRate { get; init; }

    /// <summary>
    /// Precision the automatic labels must keep: the target <c>edgelabel calibrate</c> and <c>edgelabel retune</c>
    /// recommend thresholds for, and the threshold of the per-class production-precision alarms.
    /// </summary>
    public double TargetPrecision { get; init; } = 0.95;

    /// <summary>Per-class auto-accept thresholds (class name → threshold; <c>edgelabel retune</c> writes them); other classes use <see cref="AutoAcceptThreshold"/>.</summary>
    public IReadOnlyDictionary<string, double> ClassThresholds { get; init; } = new Dictionary<string, double>(StringComparer.Ordinal);

    /// <summary>The three threshold settings as the router's one type, validated by its one rule.</summary>
    [JsonIgnore]
    public RoutingThresholds Thresholds => new() { AutoAcceptThreshold = AutoAcceptThreshold, UncertainLow = UncertainLow, ClassThresholds = ClassThresholds };
}

/// <summary>Production precision the merge measures on audit images, and which classes get an alarm (cdk.json <c>productionPrecision</c>).</summary>
public sealed record ProductionPrecisionConfig
{
    /// <summary>Days of capture time the measurement covers.</summary>
    public int WindowDays { get; init; } = 7;

    /// <summary>Audited boxes a class needs before its precision is reported (and can alarm).</summary>
    public int MinAuditedBoxes { get; init; } = 50;

    /// <summary>
    /// Classes with an alarm on their Wilson lower bound (one alarm each; metric ProductionPrecisionLowerBound{Class}).
    /// Empty: no production-precision alarm.
    /// </summary>
    public IReadOnlyList<string> AlarmClasses { get; init; } = [];
}

/// <summary>Batching rules for Ground Truth jobs.</summary>
public sealed record BatchConfig
{
    /// <summary>A job starts once this many items wait…</summary>
    public required int MinItems { get; init; }

    /// <summary>…or once the oldest waiting item is this old.</summary>
    public required int MaxAgeMinutes { get; init; }

    /// <summary>How often the batcher runs.</summary>
    public required int ScheduleMinutes { get; init; }

    /// <summary>
    /// Start of every job name this project creates (lower case; the job state rule matches only job ARNs
    /// with this prefix, so other labeling jobs in the account never reach the merge).
    /// </summary>
    public string JobNamePrefix { get; init; } = "edgelabel";

    /// <summary>An item that came back unlabeled from this many completed jobs is set aside for an operator (0: never).</summary>
    public int SetAsideAfterReturns { get; init; } = 3;
}

/// <summary>Spend and waiting-time limits.</summary>
public sealed record BudgetConfig
{
    /// <summary>Monthly Ground Truth budget in USD; the batcher stops starting jobs beyond it.</summary>
    public required double MonthlyUsd { get; init; }

    /// <summary>Alarm when the oldest item has waited longer than this for people.</summary>
    public required int MaxWaitingHours { get; init; }
}

/// <summary>Pending-item table key names (must match the DynamoDB adapter of the labeling core).</summary>
public sealed record TableConfig
{
    /// <summary>Partition key attribute name (string).</summary>
    public required string PartitionKey { get; init; }

    /// <summary>Optional sort key attribute name (string); the current adapter uses none.</summary>
    public string? SortKey { get; init; }
}

/// <summary>Greengrass fleet deployment settings.</summary>
public sealed record FleetConfig
{
    /// <summary>Thing group that receives the fleet deployment.</summary>
    public required string ThingGroupArn { get; init; }

    /// <summary>Optional small thing group that always receives the newest component version first.</summary>
    public string? CanaryThingGroupArn { get; init; }

    /// <summary>
    /// Version the whole fleet runs. Null means "the version built now"; set it to the last promoted
    /// version while a new one soaks on the canary group.
    /// </summary>
    public string? FleetComponentVersion { get; init; }

    /// <summary>
    /// Thresholds of the fleet while <see cref="FleetComponentVersion"/> holds it on the previous version: that version
    /// runs the previous model, whose calibrated thresholds <c>routing</c> (now the new model's) would not fit. Null: the
    /// fleet gets <c>routing</c> like the canary. <c>edgelabel release-model</c> writes it; promotion removes it.
    /// </summary>
    public FleetRoutingConfig? FleetRouting { get; init; }

    /// <summary>Rollout and abort policy of the IoT job behind each deployment.</summary>
    public required RolloutConfig Rollout { get; init; }

    /// <summary>Other components every device in the group must keep (a deployment replaces the previous one).</summary>
    public IReadOnlyDictionary<string, string> ExtraComponents { get; init; } = new Dictionary<string, string>();
}

/// <summary>The thresholds a held fleet keeps (the audit rate stays <c>routing.auditRate</c>).</summary>
public sealed record FleetRoutingConfig
{
    /// <summary>Auto-accept threshold of the previous model.</summary>
    public required double AutoAcceptThreshold { get; init; }

    /// <summary>Lower edge of the previous model's uncertain band.</summary>
    public required double UncertainLow { get; init; }

    /// <summary>Per-class thresholds of the previous model.</summary>
    public IReadOnlyDictionary<string, double> ClassThresholds { get; init; } = new Dictionary<string, double>(StringComparer.Ordinal);

    /// <summary>The same values as the router's one type, so they are checked by its one rule.</summary>
    public RoutingThresholds Thresholds => new() { AutoAcceptThreshold = AutoAcceptThreshold, UncertainLow = UncertainLow, ClassThresholds = ClassThresholds };
}

/// <summary>IoT job rollout, abort and timeout policy for a Greengrass deployment.</summary>
public sealed record RolloutConfig
{
    /// <summary>Devices notified per minute at the start (1–1000).</summary>
    public required int BaseRatePerMinute { get; init; }

    /// <summary>Rate multiplier each time the increase criterion is met (1–5).</summary>
    public required double IncrementFactor { get; init; }

    /// <summary>Successful devices needed before the rate increases.</summary>
    public required int RateIncreaseAfterSucceeded { get; init; }

    /// <summary>Upper bound of devices notified per minute (1–1000).</summary>
    public required int MaximumPerMinute { get; init; }

    /// <summary>Cancel the rollout when this percentage of executed devices failed (0–100).</summary>
    public required double AbortFailurePercent { get; init; }

    /// <summary>Devices that must have finished before the abort percentage is evaluated.</summary>
    public required int AbortMinExecutedThings { get; init; }

    /// <summary>Per-device in-progress timeout (1–10080 minutes).</summary>
    public required int InProgressTimeoutMinutes { get; init; }

    /// <summary>How long components may defer an update after being notified.</summary>
    public required int ComponentUpdateTimeoutSeconds { get; init; }
}

/// <summary>Fleet alarms: a device silent, its queue growing, its disk nearly full.</summary>
public sealed record FleetHealthConfig
{
    /// <summary>A device that has sent no heartbeat for longer than this is flagged "silent".</summary>
    public double SilentHours { get; init; } = 6;

    /// <summary>A queue that has not come back down to its low mark for this long is flagged "queue growing".</summary>
    public double QueueGrowingHours { get; init; } = 4;

    /// <summary>Free disk on a device below this (MB) is flagged "low disk".</summary>
    public long MinFreeDiskMegabytes { get; init; } = 512;

    /// <summary>How often the scheduled fleet check runs and emits the fleet-wide counts.</summary>
    public int CheckMinutes { get; init; } = 15;
}

/// <summary>The labeling backend of an environment (cdk.json <c>labeling.backend</c>).</summary>
public sealed record LabelingBackendConfig
{
    public const string GroundTruth = "groundtruth";
    public const string BuiltIn = "builtin";

    /// <summary>"groundtruth" (SageMaker Ground Truth jobs) or "builtin" (the review app: any account, no per-object price).</summary>
    public string Backend { get; init; } = GroundTruth;

    public bool IsBuiltIn => string.Equals(Backend, BuiltIn, StringComparison.Ordinal);
}
