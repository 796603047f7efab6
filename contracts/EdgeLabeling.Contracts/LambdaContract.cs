namespace EdgeLabeling.Contracts;

/// <summary>
/// Environment variable names of the labeling Lambdas. The runtime (LabelingOptions.FromEnvironment)
/// reads them and the CDK stack sets them, both through these constants, so a renamed variable cannot
/// leave one side reading a name the other never sets.
/// </summary>
public static class LambdaEnvironment
{
    /// <summary>Bucket for job inputs, Ground Truth output and the dataset.</summary>
    public const string DataBucket = "DATA_BUCKET";

    /// <summary>DynamoDB pending-item table; required on Lambda (the SQLite fallback is local only).</summary>
    public const string TableName = "TABLE_NAME";

    /// <summary>Bucket the devices upload to.</summary>
    public const string IncomingBucket = "INCOMING_BUCKET";

    /// <summary>Private work team ARN.</summary>
    public const string WorkteamArn = "WORKTEAM_ARN";

    /// <summary>Role Ground Truth assumes.</summary>
    public const string GroundTruthRoleArn = "GT_ROLE_ARN";

    /// <summary>KMS key for the job output.</summary>
    public const string KmsKeyId = "KMS_KEY_ID";

    /// <summary>Who labels: "groundtruth" (SageMaker Ground Truth jobs) or "builtin" (the review app).</summary>
    public const string LabelingBackend = "LABELING_BACKEND";

    /// <summary>Dataset label attribute.</summary>
    public const string LabelAttribute = "LABEL_ATTRIBUTE";

    /// <summary>Items that make a job.</summary>
    public const string BatchMinItems = "BATCH_MIN_ITEMS";

    /// <summary>Age of the oldest item that makes a job.</summary>
    public const string BatchMaxAgeMinutes = "BATCH_MAX_AGE_MINUTES";

    /// <summary>Monthly Ground Truth budget.</summary>
    public const string MonthlyBudgetUsd = "MONTHLY_BUDGET_USD";

    public const string Labelers = "LABELERS";
    public const string LabelerHoursPerDay = "LABELER_HOURS_PER_DAY";
    public const string TaskAvailabilityDays = "TASK_AVAILABILITY_DAYS";
    public const string SecondsPerImage = "SECONDS_PER_IMAGE";
    public const string MaxItemsPerJob = "MAX_ITEMS_PER_JOB";
    public const string MaxJobsPerRun = "MAX_JOBS_PER_RUN";
    /// <summary>Prefix of job names; the job state rule matches this project's jobs by it, so the stack sets it.</summary>
    public const string JobNamePrefix = "JOB_NAME_PREFIX";

    /// <summary>Returns from completed jobs after which an unlabeled item is set aside (0 = never).</summary>
    public const string SetAsideAfterReturns = "SET_ASIDE_AFTER_RETURNS";
    public const string BatchResumeAfterMinutes = "BATCH_RESUME_AFTER_MINUTES";
    public const string HalfPairAlarmMinutes = "HALF_PAIR_ALARM_MINUTES";
    public const string PriceTiers = "PRICE_TIERS";
    public const string FreeObjectsPerMonth = "FREE_OBJECTS_PER_MONTH";
    public const string WorkersPerObject = "WORKERS_PER_OBJECT";
    public const string TaskTimeLimitSeconds = "TASK_TIME_LIMIT_SECONDS";
    public const string MaxConcurrentTasks = "MAX_CONCURRENT_TASKS";
    public const string TaskTitle = "TASK_TITLE";
    public const string TaskDescription = "TASK_DESCRIPTION";
    public const string ClassNames = "CLASS_NAMES";
    public const string JobTags = "JOB_TAGS";

    /// <summary>Days of capture time the merge's production precision covers (default 7).</summary>
    public const string PrecisionWindowDays = "PRECISION_WINDOW_DAYS";

    /// <summary>Audited boxes a class, device or model needs before the merge reports its production precision (default 50).</summary>
    public const string PrecisionMinBoxes = "PRECISION_MIN_BOXES";

    /// <summary>DynamoDB fleet table (one item per device); required on Lambda for the fleet functions.</summary>
    public const string FleetTableName = "FLEET_TABLE_NAME";

    /// <summary>Hours without a heartbeat after which a device counts as silent.</summary>
    public const string FleetSilentHours = "FLEET_SILENT_HOURS";

    /// <summary>Hours of a growing queue after which a device counts as falling behind.</summary>
    public const string FleetQueueGrowingHours = "FLEET_QUEUE_GROWING_HOURS";

    /// <summary>Free-disk floor (bytes) under which a device is flagged.</summary>
    public const string FleetMinFreeDiskBytes = "FLEET_MIN_FREE_DISK_BYTES";

    /// <summary>Local only: SQLite file of the fleet table when <see cref="FleetTableName"/> is unset.</summary>
    public const string FleetDbPath = "FLEET_DB_PATH";

    /// <summary>Local only: SQLite file of the pending store when <see cref="TableName"/> is unset.</summary>
    public const string PendingDbPath = "PENDING_DB_PATH";

    /// <summary>Local only: S3-compatible endpoint (radosgw).</summary>
    public const string S3Endpoint = "S3_ENDPOINT";

    /// <summary>Local only: a folder used instead of S3.</summary>
    public const string LocalStoreRoot = "LOCAL_STORE_ROOT";

    /// <summary>Local only: the Ground Truth emulator.</summary>
    public const string SageMakerEndpoint = "SAGEMAKER_ENDPOINT";

    /// <summary>Local only: DynamoDB-compatible endpoint (dynalite).</summary>
    public const string DynamoDbEndpoint = "DYNAMODB_ENDPOINT";

    /// <summary>Built-in backend: DynamoDB table of the review jobs and tasks (ReviewOptions; SQLite only off Lambda).</summary>
    public const string ReviewTableName = "REVIEW_TABLE_NAME";

    /// <summary>Built-in backend: the account id written into the built-in jobs' ARNs (the Lambda runtime does not set one).</summary>
    public const string AccountId = "AWS_ACCOUNT_ID";

    /// <summary>
    /// Built-in backend: URL of the merge queue. A finished built-in job's state-change event is sent there, the
    /// queue the EventBridge rule fills for Ground Truth's jobs, so the merge reads both the same way.
    /// </summary>
    public const string MergeQueueUrl = "MERGE_QUEUE_URL";

    /// <summary>Built-in backend: seconds a lease lasts without a heartbeat (10-28800).</summary>
    public const string ReviewLeaseSeconds = "REVIEW_LEASE_SECONDS";

    /// <summary>Built-in backend: seconds an image link handed to the page stays valid (10-28800).</summary>
    public const string ReviewImageUrlSeconds = "REVIEW_IMAGE_URL_SECONDS";

    /// <summary>Built-in backend: the Cognito group whose members may label (default "labelers").</summary>
    public const string ReviewLabelersGroup = "REVIEW_LABELERS_GROUP";

    /// <summary>Local only: SQLite file of the review tasks when <see cref="ReviewTableName"/> is unset.</summary>
    public const string ReviewDbPath = "REVIEW_DB_PATH";

    /// <summary>Tunables of the review API an environment may set through cdk.json <c>lambdaEnvironment</c>.</summary>
    public static IReadOnlyList<string> ReviewTunables { get; } = [ReviewLeaseSeconds, ReviewImageUrlSeconds];

    /// <summary>Set by the Lambda runtime (reserved; never set by the stack).</summary>
    public const string Region = "AWS_REGION";

    /// <summary>Set by the Lambda runtime (reserved; never set by the stack).</summary>
    public const string DefaultRegion = "AWS_DEFAULT_REGION";

    /// <summary>Set by the Lambda runtime: the function's name. Its presence means "running on Lambda".</summary>
    public const string LambdaFunctionName = "AWS_LAMBDA_FUNCTION_NAME";

    /// <summary>Set by the Lambda runtime (e.g. AWS_Lambda_dotnet10). Its presence means "running on Lambda".</summary>
    public const string LambdaExecutionEnv = "AWS_EXECUTION_ENV";

    /// <summary>Variables the Lambda runtime sets itself; a stack must not set them.</summary>
    public static IReadOnlyList<string> SetByLambda { get; } = [Region, DefaultRegion, LambdaFunctionName, LambdaExecutionEnv];

    /// <summary>Variables for local runs and tests only (emulators, SQLite); a deployed function never gets them.</summary>
    public static IReadOnlyList<string> LocalOnly { get; } = [PendingDbPath, FleetDbPath, ReviewDbPath, S3Endpoint, LocalStoreRoot, SageMakerEndpoint, DynamoDbEndpoint];

    /// <summary>Tunables of the batcher an environment may set through cdk.json <c>lambdaEnvironment</c>.</summary>
    public static IReadOnlyList<string> BatchTunables { get; } =
    [
        Labelers, LabelerHoursPerDay, TaskAvailabilityDays, SecondsPerImage, MaxItemsPerJob, MaxJobsPerRun,
        BatchResumeAfterMinutes, HalfPairAlarmMinutes, PriceTiers, FreeObjectsPerMonth, WorkersPerObject, TaskTimeLimitSeconds,
        MaxConcurrentTasks, TaskTitle, TaskDescription, ClassNames, JobTags,
    ];
}

/// <summary>
/// One labeling function as infrastructure and runtime both see it: its construct id, its handler
/// string, the variables the stack must set for it (<see cref="Required"/>) and the ones an environment
/// may add (<see cref="Optional"/>). A function gets nothing else.
/// </summary>
public sealed record LambdaFunctionContract(string Name, string Handler, IReadOnlyList<string> Required, IReadOnlyList<string> Optional)
{
    /// <summary>
    /// Variables the stack sets in addition to <see cref="Required"/> only in an environment with
    /// <c>labeling.backend: builtin</c> (the built-in backend's task table and account).
    /// </summary>
    public IReadOnlyList<string> BuiltInRequired { get; init; } = [];

    /// <summary>True for functions that exist only with the built-in backend (the review API and its sweep).</summary>
    public bool BuiltInOnly { get; init; }

    /// <summary>The variables the stack must set for this function under <paramref name="builtIn"/>.</summary>
    public IEnumerable<string> RequiredFor(bool builtIn) => builtIn ? Required.Concat(BuiltInRequired) : Required;

    /// <summary>Assembly, type and method of <see cref="Handler"/> ("Assembly::Namespace.Type::Method").</summary>
    public (string Assembly, string Type, string Method) HandlerParts
    {
        get
        {
            var parts = Handler.Split("::");
            return parts.Length == 3 ? (parts[0], parts[1], parts[2]) : throw new FormatException($"handler '{Handler}' is not Assembly::Type::Method");
        }
    }
}

/// <summary>The three labeling functions.</summary>
public static class LambdaFunctions
{
    /// <summary>Assembly holding the handlers (lambdas/EdgeLabeling.Lambdas).</summary>
    public const string HandlerAssembly = "EdgeLabeling.Lambdas";

    /// <summary>S3 event batches from SQS → pending items.</summary>
    public static LambdaFunctionContract Ingest { get; } = new(
        "IngestFunction",
        HandlerAssembly + "::EdgeLabeling.Lambdas.IngestFunction::HandleAsync",
        [LambdaEnvironment.DataBucket, LambdaEnvironment.TableName, LambdaEnvironment.IncomingBucket],
        []);

    /// <summary>Scheduled batching into Ground Truth jobs.</summary>
    public static LambdaFunctionContract Batch { get; } = new(
        "BatchFunction",
        HandlerAssembly + "::EdgeLabeling.Lambdas.BatchFunction::HandleAsync",
        [
            LambdaEnvironment.DataBucket, LambdaEnvironment.TableName, LambdaEnvironment.WorkteamArn, LambdaEnvironment.GroundTruthRoleArn,
            LambdaEnvironment.KmsKeyId, LambdaEnvironment.LabelAttribute, LambdaEnvironment.BatchMinItems, LambdaEnvironment.BatchMaxAgeMinutes,
            LambdaEnvironment.MonthlyBudgetUsd, LambdaEnvironment.JobNamePrefix, LambdaEnvironment.SetAsideAfterReturns, LambdaEnvironment.LabelingBackend,
        ],
        LambdaEnvironment.BatchTunables)
    {
        BuiltInRequired = BuiltInBackendVariables,
    };

    /// <summary>Ground Truth job state change → dataset merge.</summary>
    public static LambdaFunctionContract Merge { get; } = new(
        "MergeFunction",
        HandlerAssembly + "::EdgeLabeling.Lambdas.MergeFunction::HandleAsync",
        [LambdaEnvironment.DataBucket, LambdaEnvironment.TableName, LambdaEnvironment.LabelAttribute, LambdaEnvironment.IncomingBucket, LambdaEnvironment.SetAsideAfterReturns,
            LambdaEnvironment.LabelingBackend, LambdaEnvironment.PrecisionWindowDays, LambdaEnvironment.PrecisionMinBoxes,
        ],
        [])
    {
        BuiltInRequired = BuiltInBackendVariables,
    };

    /// <summary>Device heartbeats (S3 <c>status/</c> notifications) → fleet table and per-device metrics.</summary>
    public static LambdaFunctionContract FleetHeartbeat { get; } = new(
        "FleetHeartbeatFunction",
        HandlerAssembly + "::EdgeLabeling.Lambdas.FleetHeartbeatFunction::HandleAsync",
        FleetVariables,
        []);

    /// <summary>Scheduled fleet check → silent / queue-growing / low-disk device counts.</summary>
    public static LambdaFunctionContract FleetCheck { get; } = new(
        "FleetCheckFunction",
        HandlerAssembly + "::EdgeLabeling.Lambdas.FleetCheckFunction::HandleAsync",
        FleetVariables,
        []);

    /// <summary>
    /// Built-in backend only: the review API behind API Gateway's HTTP API (payload format 2.0 in, the
    /// HTTP API response out). The JWT authorizer has checked the Cognito token; the core checks the group.
    /// </summary>
    public static LambdaFunctionContract ReviewApi { get; } = new(
        "ReviewApiFunction",
        HandlerAssembly + "::EdgeLabeling.Lambdas.ReviewApiFunction::HandleAsync",
        [.. BuiltInBackendVariables, LambdaEnvironment.MergeQueueUrl, LambdaEnvironment.ReviewLabelersGroup],
        LambdaEnvironment.ReviewTunables)
    {
        BuiltInOnly = true,
    };

    /// <summary>
    /// Built-in backend only, scheduled: completes the jobs whose tasks are all done or whose availability
    /// ended (open tasks expire, like Ground Truth's unanswered objects) and sends their state-change events.
    /// </summary>
    public static LambdaFunctionContract ReviewSweep { get; } = new(
        "ReviewSweepFunction",
        HandlerAssembly + "::EdgeLabeling.Lambdas.ReviewSweepFunction::HandleAsync",
        [.. BuiltInBackendVariables, LambdaEnvironment.MergeQueueUrl],
        [])
    {
        BuiltInOnly = true,
    };

    /// <summary>The functions of the built-in backend only.</summary>
    public static IReadOnlyList<LambdaFunctionContract> Review { get; } = [ReviewApi, ReviewSweep];

    /// <summary>The labeling functions (they share the pending store and the data bucket).</summary>
    public static IReadOnlyList<LambdaFunctionContract> Labeling { get; } = [Ingest, Batch, Merge];

    /// <summary>The fleet-view functions (they use only the fleet table and the heartbeat objects).</summary>
    public static IReadOnlyList<LambdaFunctionContract> Fleet { get; } = [FleetHeartbeat, FleetCheck];

    /// <summary>Every function, in deployment order (the <see cref="Review"/> ones only with the built-in backend).</summary>
    public static IReadOnlyList<LambdaFunctionContract> All { get; } = [.. Labeling, .. Fleet, .. Review];

    /// <summary>The functions an environment deploys.</summary>
    public static IEnumerable<LambdaFunctionContract> DeployedWith(bool builtIn) => All.Where(f => builtIn || !f.BuiltInOnly);

    private static IReadOnlyList<string> BuiltInBackendVariables => [LambdaEnvironment.ReviewTableName, LambdaEnvironment.AccountId];

    private static IReadOnlyList<string> FleetVariables =>
    [
        LambdaEnvironment.FleetTableName, LambdaEnvironment.FleetSilentHours, LambdaEnvironment.FleetQueueGrowingHours, LambdaEnvironment.FleetMinFreeDiskBytes,
    ];
}

/// <summary>
/// EMF metric names the labeling core emits (namespace <see cref="Namespace"/>). The core emits only
/// these constants and the alarms and dashboard read them, so an alarm cannot watch a metric nobody writes.
/// </summary>
public static class LabelingMetricNames
{
    /// <summary>EMF namespace of every labeling metric.</summary>
    public const string Namespace = "EdgeLabeling";

    public const string StaleHalfPairs = "StaleHalfPairs";
    public const string BatchRuns = "BatchRuns";
    public const string PendingItems = "PendingItems";
    public const string OldestPendingAgeMinutes = "OldestPendingAgeMinutes";
    public const string JobsCreated = "JobsCreated";
    public const string BudgetShrunkJobs = "BudgetShrunkJobs";
    public const string JobItems = "JobItems";
    public const string JobsRejected = "JobsRejected";
    public const string BudgetBlockedItems = "BudgetBlockedItems";

    /// <summary>Prior boxes left out of a manifest line so it fits Ground Truth's attribute and line limits.</summary>
    public const string PriorBoxesDropped = "PriorBoxesDropped";

    /// <summary>Images set aside instead of being sent to Ground Truth (over its size, pixel or format limits).</summary>
    public const string ImagesSetAside = "ImagesSetAside";

    public const string IngestRecords = "IngestRecords";
    public const string IngestDropped = "IngestDropped";
    public const string MergeEventsRejected = "MergeEventsRejected";
    public const string MergeReturnedToPending = "MergeReturnedToPending";
    public const string JobsFailed = "LabelingJobsFailed";
    public const string AuditModelPrecision = "AuditModelPrecision";
    public const string AuditModelRecall = "AuditModelRecall";
    /// <summary>Images people labeled, over every shard merged so far (from the dataset index).</summary>
    public const string DatasetHumanImages = "DatasetHumanImages";
    public const string MergeLabeledObjects = "MergeLabeledObjects";
    public const string MergeMalformedLines = "MergeMalformedLines";

    /// <summary>Job creations that failed for good (refused, or failed before anyone labeled); extends the creation back-off.</summary>
    public const string JobCreationFailures = "JobCreationFailures";

    /// <summary>Batcher runs skipped because the job-creation back-off is running.</summary>
    public const string JobCreationBackoffRuns = "JobCreationBackoffRuns";

    /// <summary>Items set aside after coming back unlabeled from too many completed jobs (dimension Reason).</summary>
    public const string ItemsSetAside = "ItemsSetAside";

    /// <summary>
    /// Production precision of auto-accepted boxes over the rolling window, percent, from audit images (DatasetMerger
    /// through ProductionPrecision.Emit); one dimension of <see cref="ClassDimension"/>, <see cref="FleetMetricNames.ThingDimension"/>
    /// or <see cref="ModelVersionDimension"/>. Emitted only for groups with enough audited boxes.
    /// </summary>
    public const string ProductionPrecision = "ProductionPrecision";

    /// <summary>Wilson lower bound of <see cref="ProductionPrecision"/>, percent; the per-class alarm compares it with the target.</summary>
    public const string ProductionPrecisionLowerBound = "ProductionPrecisionLowerBound";

    /// <summary>Recall of the automatic labels on audit images (people's boxes the model found), percent.</summary>
    public const string ProductionRecall = "ProductionRecall";

    /// <summary>Audited model boxes in the window (the sample size), every group.</summary>
    public const string ProductionAuditedBoxes = "ProductionAuditedBoxes";

    /// <summary>Dimension of the per-class production metrics.</summary>
    public const string ClassDimension = "Class";

    /// <summary>Dimension of the per-model production metrics: the first 12 hex digits of the model's SHA-256.</summary>
    public const string ModelVersionDimension = "ModelVersion";

    /// <summary>Every name above.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        StaleHalfPairs, BatchRuns, PendingItems, OldestPendingAgeMinutes, JobsCreated, BudgetShrunkJobs, JobItems, JobsRejected,
        BudgetBlockedItems, PriorBoxesDropped, ImagesSetAside, IngestRecords, IngestDropped, MergeEventsRejected, MergeReturnedToPending,
        JobsFailed, AuditModelPrecision, AuditModelRecall, DatasetHumanImages, MergeLabeledObjects, MergeMalformedLines, JobCreationFailures,
        JobCreationBackoffRuns, ItemsSetAside, ProductionPrecision, ProductionPrecisionLowerBound, ProductionRecall, ProductionAuditedBoxes,
    ];
}

/// <summary>
/// The fleet metrics (EMF, namespace <see cref="LabelingMetricNames.Namespace"/>). The fleet Lambdas emit only
/// these constants and the CDK fleet construct alarms on and graphs them, so an alarm cannot watch a
/// metric nobody writes.
/// </summary>
public static class FleetMetricNames
{
    /// <summary>Dimension of the per-device metrics.</summary>
    public const string ThingDimension = "ThingName";

    /// <summary>Dimension of <see cref="HeartbeatsRefused"/>.</summary>
    public const string ReasonDimension = "Reason";

    /// <summary>Per device (dimension <see cref="ThingDimension"/>): queue depth of each heartbeat.</summary>
    public const string DeviceQueuedItems = "DeviceQueuedItems";

    /// <summary>Per device: age of the oldest queued item of each heartbeat.</summary>
    public const string DeviceOldestQueuedAgeSeconds = "DeviceOldestQueuedAgeSeconds";

    /// <summary>Per device: free disk bytes of each heartbeat.</summary>
    public const string DeviceFreeDiskBytes = "DeviceFreeDiskBytes";

    /// <summary>Heartbeats accepted (no dimensions).</summary>
    public const string HeartbeatsReceived = "HeartbeatsReceived";

    /// <summary>Heartbeats refused, dimension <see cref="ReasonDimension"/>.</summary>
    public const string HeartbeatsRefused = "HeartbeatsRefused";

    /// <summary>Per device: hours since the last heartbeat, every check run.</summary>
    public const string DeviceSilentHours = "DeviceSilentHours";

    /// <summary>Devices in the fleet table, every check run (no dimensions).</summary>
    public const string FleetDevices = "FleetDevices";

    /// <summary>Devices silent longer than fleetHealth.silentHours, every check run (no dimensions).</summary>
    public const string SilentDevices = "SilentDevices";

    /// <summary>Devices whose queue has grown for fleetHealth.queueGrowingHours, every check run (no dimensions).</summary>
    public const string QueueGrowingDevices = "QueueGrowingDevices";

    /// <summary>Devices with free disk below fleetHealth.minFreeDiskMegabytes, every check run (no dimensions).</summary>
    public const string LowDiskDevices = "LowDiskDevices";
}

/// <summary>
/// Ground Truth's per-object input limits for images (developer guide: input-data-limits,
/// sms-input-data-input-manifest). Images over them are set aside at ingest instead of being sent.
/// </summary>
public static class GroundTruthInputLimits
{
    /// <summary>"40 MB" read conservatively as 40,000,000 bytes (the smaller of MB and MiB).</summary>
    public const long MaxImageBytes = 40_000_000;

    /// <summary>100 megapixels (without active learning, which this project does not use).</summary>
    public const long MaxImagePixels = 100_000_000;
}
