using System.Globalization;
using Amazon.CDK;
using Amazon.CDK.AWS.CloudWatch;
using Amazon.CDK.AWS.DynamoDB;
using Amazon.CDK.AWS.Events;
using Amazon.CDK.AWS.Events.Targets;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.KMS;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Lambda.EventSources;
using Amazon.CDK.AWS.Logs;
using Amazon.CDK.AWS.S3;
using Amazon.CDK.AWS.S3.Notifications;
using Amazon.CDK.AWS.SQS;
using Constructs;
using EdgeLabeling.Contracts;
using EdgeLabeling.Infra.Configuration;
using LambdaFunction = Amazon.CDK.AWS.Lambda.Function;

namespace EdgeLabeling.Infra.Stacks;

/// <summary>Inputs of <see cref="LabelingStack"/>.</summary>
public sealed record LabelingStackProps
{
    /// <summary>Environment settings.</summary>
    public required EnvironmentConfig Config { get; init; }

    /// <summary>Stack-level CloudFormation settings.</summary>
    public required IStackProps StackProps { get; init; }

    /// <summary>Bucket the devices upload to.</summary>
    public required IBucket IncomingBucket { get; init; }

    /// <summary>Bucket for job inputs, outputs and the dataset.</summary>
    public required IBucket LabelingDataBucket { get; init; }

    /// <summary>Key encrypting the buckets and the table.</summary>
    public required IKey DataKey { get; init; }

    /// <summary>Pending-item table.</summary>
    public required ITable PendingItemsTable { get; init; }

    /// <summary>Folder holding the <c>dotnet publish</c> output of lambdas/EdgeLabeling.Lambdas.</summary>
    public required string LambdaCodePath { get; init; }

    /// <summary>Jobs and tasks of the built-in backend (required when labeling.backend is builtin).</summary>
    public ITable? ReviewTasksTable { get; init; }

    /// <summary>Folder with the built review page (required when labeling.backend is builtin).</summary>
    public string ReviewPagePath { get; init; } = "";
}

/// <summary>
/// The stateless labeling compute: ingest (S3 → SQS → Lambda), the scheduled batcher that starts
/// Ground Truth jobs, the merge triggered by job state changes, the Ground Truth execution role,
/// alarms and a dashboard. It can be destroyed and redeployed without losing data.
/// </summary>
public sealed class LabelingStack : Stack
{
    /// <summary>Handler strings of the three functions (the shared contract's, see <see cref="LambdaFunctions"/>).</summary>
    public static class Handlers
    {
        /// <summary>S3 event batches from SQS.</summary>
        public static string Ingest => LambdaFunctions.Ingest.Handler;

        /// <summary>Scheduled batching into Ground Truth jobs.</summary>
        public static string Batch => LambdaFunctions.Batch.Handler;

        /// <summary>Ground Truth job state change → dataset merge.</summary>
        public static string Merge => LambdaFunctions.Merge.Handler;
    }

    /// <summary>
    /// Job statuses the merge rule matches: the documented Completed/Failed pattern plus Stopped,
    /// because a stopped job's items must go back to pending too.
    /// </summary>
    public static readonly IReadOnlyList<string> JobStatusesHandled = ["Completed", "Failed", "Stopped"];

    /// <summary>The Lambda runtime identifier; CDK 2.160 predates a named constant for it.</summary>
    public static readonly Runtime DotNet10 = new("dotnet10", RuntimeFamily.DOTNET_CORE);

    /// <summary>Creates the stack.</summary>
    public LabelingStack(Construct scope, string id, LabelingStackProps props)
        : base(scope, id, props.StackProps)
    {
        var config = props.Config;
        if (!Directory.Exists(props.LambdaCodePath))
        {
            throw new ConfigurationException(
                $"Lambda code folder '{props.LambdaCodePath}' does not exist; run 'scripts/publish-lambdas.sh --env {config.Name}' (scripts/synth.sh does) or pass -c lambdaAssetPath=<folder>");
        }

        CheckPackageArchitecture(props.LambdaCodePath, config);

        var retention = LogRetention(config.LogRetentionDays);
        var keepOrDelete = config.DestroyOnRemoval ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
        var code = Code.FromAsset(props.LambdaCodePath);

        var builtIn = config.Labeling.IsBuiltIn;
        if (builtIn && (props.ReviewTasksTable is null || !config.CreateWorkteam))
        {
            throw new ConfigurationException(props.ReviewTasksTable is null
                ? $"labeling.backend builtin in '{config.Name}' needs the review task table from the storage stack"
                : $"labeling.backend builtin in '{config.Name}' needs workteam \"create\": the review API signs labelers in with the user pool the private workforce construct creates");
        }

        // --- Workforce -------------------------------------------------------------------------
        string workteamArn;
        PrivateWorkforce? workforce = null;
        if (config.CreateWorkteam)
        {
            workforce = new PrivateWorkforce(this, "Workforce", config.Name, keepOrDelete);
            workteamArn = workforce.WorkteamArn;
        }
        else
        {
            workteamArn = config.Workteam;
        }

        // --- Ground Truth execution role --------------------------------------------------------
        var gtRole = new Role(this, "GroundTruthExecutionRole", new RoleProps
        {
            Description = "Assumed by SageMaker Ground Truth to read job inputs and images and write job output",
            // No aws:SourceAccount/aws:SourceArn condition: SageMaker's confused-deputy page
            // (security-confused-deputy-prevention) lists the features that send those keys, and labeling
            // jobs are not among them, so a condition could make every job fail to assume the role. Only
            // the batcher may pass the role (iam:PassRole with iam:PassedToService below).
            AssumedBy = new ServicePrincipal("sagemaker.amazonaws.com"),
        });
        props.IncomingBucket.GrantRead(gtRole, ObjectKeyLayout.IncomingPrefix + "*");
        props.LabelingDataBucket.GrantRead(gtRole, LabelingConventions.JobInputPrefix + "*");
        props.LabelingDataBucket.GrantReadWrite(gtRole, LabelingConventions.JobOutputPrefix + "*");
        // The documented execution-role policy (sms-security-permission-execution-role) grants
        // cloudwatch:PutMetricData besides the logs actions: Ground Truth reports worker metrics with it.
        // PutMetricData has no resource-level permissions, hence "*" (allow-listed in the security rules).
        gtRole.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "LabelingJobMetrics",
            Actions = ["cloudwatch:PutMetricData"],
            Resources = ["*"],
        }));
        gtRole.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "LabelingJobLogs",
            Actions = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            Resources = [Arn(this, "logs", "log-group", "/aws/sagemaker/LabelingJobs*", ArnFormat.COLON_RESOURCE_NAME)],
        }));
        GroundTruthRole = gtRole;

        // --- Lambda environment ------------------------------------------------------------------
        // Every value the stack can set, by the contract's names; each function then gets only the
        // variables its contract lists (LambdaFunctions), plus the lambdaEnvironment tunables it reads.
        var stackValues = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [LambdaEnvironment.IncomingBucket] = props.IncomingBucket.BucketName,
            [LambdaEnvironment.DataBucket] = props.LabelingDataBucket.BucketName,
            [LambdaEnvironment.TableName] = props.PendingItemsTable.TableName,
            [LambdaEnvironment.WorkteamArn] = workteamArn,
            [LambdaEnvironment.GroundTruthRoleArn] = gtRole.RoleArn,
            [LambdaEnvironment.KmsKeyId] = props.DataKey.KeyArn,
            [LambdaEnvironment.LabelAttribute] = config.LabelAttribute,
            [LambdaEnvironment.BatchMinItems] = config.Batch.MinItems.ToString(CultureInfo.InvariantCulture),
            [LambdaEnvironment.BatchMaxAgeMinutes] = config.Batch.MaxAgeMinutes.ToString(CultureInfo.InvariantCulture),
            [LambdaEnvironment.MonthlyBudgetUsd] = config.Budget.MonthlyUsd.ToString(CultureInfo.InvariantCulture),
            [LambdaEnvironment.JobNamePrefix] = config.Batch.JobNamePrefix,
            [LambdaEnvironment.SetAsideAfterReturns] = config.Batch.SetAsideAfterReturns.ToString(CultureInfo.InvariantCulture),
            [LambdaEnvironment.LabelingBackend] = config.Labeling.Backend,
            [LambdaEnvironment.PrecisionWindowDays] = config.ProductionPrecision.WindowDays.ToString(CultureInfo.InvariantCulture),
            [LambdaEnvironment.PrecisionMinBoxes] = config.ProductionPrecision.MinAuditedBoxes.ToString(CultureInfo.InvariantCulture),
        };
        if (builtIn)
        {
            stackValues[LambdaEnvironment.ReviewTableName] = props.ReviewTasksTable!.TableName;
            stackValues[LambdaEnvironment.AccountId] = Account;
            stackValues[LambdaEnvironment.ReviewLabelersGroup] = PrivateWorkforce.LabelersGroupName;
        }

        Dictionary<string, string> EnvironmentOf(LambdaFunctionContract contract)
        {
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var name in contract.RequiredFor(builtIn))
            {
                env[name] = stackValues.TryGetValue(name, out var value)
                    ? value
                    : throw new InvalidOperationException($"{contract.Name} requires {name}, which the labeling stack does not set");
            }

            foreach (var (name, value) in config.LambdaEnvironment.Where(p => contract.Optional.Contains(p.Key, StringComparer.Ordinal)))
            {
                env[name] = value;
            }

            return env;
        }

        var logGroups = new Dictionary<string, ILogGroup>(StringComparer.Ordinal);
        LambdaFunction NewFunction(LambdaFunctionContract contract, string description, IQueue? asyncFailures = null)
        {
            var name = contract.Name;
            var logGroup = new LogGroup(this, name + "Logs", new Amazon.CDK.AWS.Logs.LogGroupProps
            {
                Retention = retention,
                RemovalPolicy = keepOrDelete,
            });
            logGroups[name] = logGroup;
            return new LambdaFunction(this, name, new FunctionProps
            {
                Description = description,
                Runtime = DotNet10,
                Handler = contract.Handler,
                Code = code,
                Architecture = config.Lambda.Architecture == "arm64" ? Architecture.ARM_64 : Architecture.X86_64,
                MemorySize = config.Lambda.MemoryMb,
                Timeout = Duration.Seconds(config.Lambda.TimeoutOf(name)),
                Environment = EnvironmentOf(contract),
                LogGroup = logGroup,
                Tracing = Tracing.ACTIVE,
                // Asynchronously invoked functions keep the events they failed on.
                DeadLetterQueue = asyncFailures,
                RetryAttempts = asyncFailures is null ? null : 2,
            });
        }

        // --- Ingest: S3 → SQS → Lambda -----------------------------------------------------------
        var ingestFn = NewFunction(LambdaFunctions.Ingest, "Registers uploaded images and their review sidecars as pending items");
        var ingestDlq = new Queue(this, "IngestDeadLetterQueue", new QueueProps
        {
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
            RetentionPeriod = Duration.Days(14),
        });
        var ingestQueue = new Queue(this, "IngestQueue", new QueueProps
        {
            // SQS-managed SSE: S3 can publish to it without a key policy on the data key.
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
            // AWS recommends at least six times the function timeout so retries do not overlap.
            VisibilityTimeout = Duration.Seconds(6 * config.Lambda.TimeoutOf(LambdaFunctions.Ingest.Name)),
            RetentionPeriod = Duration.Days(4),
            DeadLetterQueue = new DeadLetterQueue { Queue = ingestDlq, MaxReceiveCount = 5 },
        });
        // The bucket is imported by name here so the notification lives in this stack; attaching it
        // to the storage stack's bucket object would make storage depend on labeling (a cycle).
        var incomingForEvents = Bucket.FromBucketAttributes(this, "IncomingBucketForEvents", new BucketAttributes
        {
            BucketArn = props.IncomingBucket.BucketArn,
            BucketName = props.IncomingBucket.BucketName,
        });
        incomingForEvents.AddEventNotification(EventType.OBJECT_CREATED, new SqsDestination(ingestQueue),
            new NotificationKeyFilter { Prefix = ObjectKeyLayout.IncomingPrefix });
        ingestFn.AddEventSource(new SqsEventSource(ingestQueue, new SqsEventSourceProps
        {
            BatchSize = 10,
            MaxBatchingWindow = Duration.Seconds(5),
            ReportBatchItemFailures = true,
        }));
        props.IncomingBucket.GrantRead(ingestFn, ObjectKeyLayout.IncomingPrefix + "*");
        props.PendingItemsTable.GrantReadWriteData(ingestFn);

        // --- Async failures (EventBridge delivery and function errors) land here ------------------
        var eventsDlq = new Queue(this, "EventTargetsDeadLetterQueue", new QueueProps
        {
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
            RetentionPeriod = Duration.Days(14),
        });

        // --- Batcher: scheduled, one at a time ---------------------------------------------------
        var batchFn = NewFunction(LambdaFunctions.Batch, "Claims pending items and starts Ground Truth bounding-box jobs", eventsDlq);
        // One batcher at a time keeps the budget forecast and the claim order simple; the store is
        // still race-safe if two ever overlap.
        ((CfnFunction)batchFn.Node.DefaultChild!).ReservedConcurrentExecutions = 1;
        props.PendingItemsTable.GrantReadWriteData(batchFn);
        // Job inputs only: the batcher builds manifests from the table and never reads images.
        props.LabelingDataBucket.GrantReadWrite(batchFn, LabelingConventions.JobInputPrefix + "*");
        batchFn.AddToRolePolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "StartLabelingJobs",
            Actions = ["sagemaker:CreateLabelingJob", "sagemaker:DescribeLabelingJob", "sagemaker:AddTags"],
            Resources = [Arn(this, "sagemaker", "labeling-job", "*", ArnFormat.SLASH_RESOURCE_NAME)],
        }));
        batchFn.AddToRolePolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "PassGroundTruthRole",
            Actions = ["iam:PassRole"],
            Resources = [gtRole.RoleArn],
            Conditions = new Dictionary<string, object>
            {
                ["StringEquals"] = new Dictionary<string, object> { ["iam:PassedToService"] = "sagemaker.amazonaws.com" },
            },
        }));
        var schedule = new Rule(this, "BatchSchedule", new RuleProps
        {
            Description = "Runs the batcher that turns pending items into Ground Truth jobs",
            Schedule = Schedule.Rate(Duration.Minutes(config.Batch.ScheduleMinutes)),
        });
        schedule.AddTarget(Target(batchFn, eventsDlq));

        // --- Merge: GT job state change → SQS → dataset --------------------------------------------
        var mergeFn = NewFunction(LambdaFunctions.Merge, "Merges Ground Truth output and automatic labels into the dataset");
        // The merge streams a job of up to 100,000 objects and spools its shard to /tmp before the upload.
        ((CfnFunction)mergeFn.Node.DefaultChild!).EphemeralStorage = new CfnFunction.EphemeralStorageProperty { Size = config.Lambda.MergeEphemeralStorageMb };
        props.PendingItemsTable.GrantReadWriteData(mergeFn);
        props.LabelingDataBucket.GrantRead(mergeFn, LabelingConventions.JobOutputPrefix + "*");
        props.LabelingDataBucket.GrantRead(mergeFn, LabelingConventions.JobInputPrefix + "*");
        props.LabelingDataBucket.GrantReadWrite(mergeFn, LabelingConventions.DatasetPrefix + "*");
        // Devices upload their auto-label batches to the incoming bucket under auto-labels/{thing}/.
        props.IncomingBucket.GrantRead(mergeFn, LabelingConventions.AutoLabelsPrefix + "*");
        props.LabelingDataBucket.GrantRead(mergeFn, LabelingConventions.AutoLabelsPrefix + "*");
        mergeFn.AddToRolePolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "ReadLabelingJobs",
            Actions = ["sagemaker:DescribeLabelingJob"],
            Resources = [Arn(this, "sagemaker", "labeling-job", "*", ArnFormat.SLASH_RESOURCE_NAME)],
        }));
        var (mergeQueue, mergeDlq) = AddMergeQueue(config, mergeFn, eventsDlq);

        // --- Built-in backend: the batcher creates and the merge describes built-in jobs -------------------
        var functions = new List<IFunction> { ingestFn, batchFn, mergeFn };
        if (builtIn)
        {
            var tasks = props.ReviewTasksTable!;
            tasks.GrantReadWriteData(batchFn);
            tasks.GrantReadData(mergeFn);
            stackValues[LambdaEnvironment.MergeQueueUrl] = mergeQueue.QueueUrl;

            // The review API: tasks and leases, presigned links to the incoming images, the job output when the
            // last task is submitted, and the finished job's state-change event onto the merge queue.
            var apiFn = NewFunction(LambdaFunctions.ReviewApi, "Review API of the built-in labeling backend (HTTP API, Cognito JWT)");
            // The sweep completes jobs whose availability ended; scheduled like the batcher.
            var sweepFn = NewFunction(LambdaFunctions.ReviewSweep, "Completes built-in labeling jobs whose tasks are done or whose time is up", eventsDlq);
            foreach (var fn in new[] { apiFn, sweepFn })
            {
                tasks.GrantReadWriteData(fn);
                props.LabelingDataBucket.GrantPut(fn, LabelingConventions.JobOutputPrefix + "*");
                mergeQueue.GrantSendMessages(fn);
            }

            // Presigned image links are authorized as the API's role: GetObject on the incoming images and the
            // key's Decrypt, nothing else (no listing: a link names one object the API took from the task).
            apiFn.AddToRolePolicy(new PolicyStatement(new PolicyStatementProps
            {
                Sid = "ReadReviewImages",
                Actions = ["s3:GetObject"],
                Resources = [props.IncomingBucket.ArnForObjects(ObjectKeyLayout.IncomingPrefix + "*")],
            }));
            props.DataKey.GrantDecrypt(apiFn);
            var sweepSchedule = new Rule(this, "ReviewSweepSchedule", new RuleProps
            {
                Description = "Completes built-in labeling jobs whose tasks are all done or whose availability ended",
                Schedule = Schedule.Rate(Duration.Minutes(config.Batch.ScheduleMinutes)),
            });
            sweepSchedule.AddTarget(Target(sweepFn, eventsDlq));

            Review = new ReviewApp(this, "Review", new ReviewAppProps
            {
                ApiFunction = apiFn,
                UserPool = workforce!.UserPool,
                UserPoolDomain = workforce.Domain,
                ImageBucket = props.IncomingBucket,
                PagePath = props.ReviewPagePath,
                DeploymentLogGroup = new LogGroup(this, "ReviewPageDeploymentLogs", new Amazon.CDK.AWS.Logs.LogGroupProps
                {
                    Retention = retention,
                    RemovalPolicy = keepOrDelete,
                }),
            });
            ReviewApiFunction = apiFn;
            ReviewSweepFunction = sweepFn;
            functions.Add(apiFn);
            functions.Add(sweepFn);
        }

        var mergeLogs = logGroups["MergeFunction"];
        IngestFunction = ingestFn;
        BatchFunction = batchFn;
        MergeFunction = mergeFn;
        IngestQueue = ingestQueue;
        IngestDeadLetterQueue = ingestDlq;
        EventTargetsDeadLetterQueue = eventsDlq;
        MergeQueue = mergeQueue;
        MergeDeadLetterQueue = mergeDlq;
        WorkteamArn = workteamArn;

        var monitoring = new LabelingMonitoring(this, "Monitoring", new LabelingMonitoringProps
        {
            Config = config,
            Functions = [.. functions],
            DeadLetterQueues = [ingestDlq, eventsDlq, mergeDlq],
            IngestQueue = ingestQueue,
        });
        Fleet = new FleetMonitoring(this, "Fleet", new FleetMonitoringProps
        {
            Config = config, NotificationBucket = incomingForEvents, IncomingBucket = props.IncomingBucket, DataKey = props.DataKey, Code = code,
            AsyncFailures = eventsDlq, AlarmTopic = monitoring.AlarmTopic, Dashboard = monitoring.Dashboard,
        });

        new CfnOutput(this, "WorkteamArnOutput", new CfnOutputProps { Value = workteamArn });
        new CfnOutput(this, "GroundTruthRoleArn", new CfnOutputProps { Value = gtRole.RoleArn });
    }

    /// <summary>The review page and API (labeling.backend builtin only).</summary>
    public ReviewApp? Review { get; }

    /// <summary>The review API Lambda (labeling.backend builtin only).</summary>
    public IFunction? ReviewApiFunction { get; }

    /// <summary>The scheduled sweep completing built-in jobs (labeling.backend builtin only).</summary>
    public IFunction? ReviewSweepFunction { get; }

    /// <summary>The fleet view (heartbeat and check Lambdas, fleet table, fleet alarms).</summary>
    public FleetMonitoring Fleet { get; }

    /// <summary>Lambda registering uploads.</summary>
    public IFunction IngestFunction { get; }

    /// <summary>Lambda starting Ground Truth jobs.</summary>
    public IFunction BatchFunction { get; }

    /// <summary>Lambda merging finished jobs into the dataset.</summary>
    public IFunction MergeFunction { get; }

    /// <summary>Queue of S3 object-created events under incoming/.</summary>
    public IQueue IngestQueue { get; }

    /// <summary>Ingest events that failed five times.</summary>
    public IQueue IngestDeadLetterQueue { get; }

    /// <summary>EventBridge deliveries (schedule, job state) that the Lambdas could not take.</summary>
    public IQueue EventTargetsDeadLetterQueue { get; }

    /// <summary>State-change events of this project's labeling jobs, waiting for the merge.</summary>
    public IQueue MergeQueue { get; }

    /// <summary>State-change events the merge could not finish within <see cref="MergeRedeliveryWindow"/>.</summary>
    public IQueue MergeDeadLetterQueue { get; }

    /// <summary>Role Ground Truth assumes for the jobs.</summary>
    public IRole GroundTruthRole { get; }

    /// <summary>Workteam the jobs go to (created or imported).</summary>
    public string WorkteamArn { get; }

    internal static RetentionDays LogRetention(int days) => days switch
    {
        1 => RetentionDays.ONE_DAY,
        3 => RetentionDays.THREE_DAYS,
        5 => RetentionDays.FIVE_DAYS,
        7 => RetentionDays.ONE_WEEK,
        14 => RetentionDays.TWO_WEEKS,
        30 => RetentionDays.ONE_MONTH,
        60 => RetentionDays.TWO_MONTHS,
        90 => RetentionDays.THREE_MONTHS,
        120 => RetentionDays.FOUR_MONTHS,
        150 => RetentionDays.FIVE_MONTHS,
        180 => RetentionDays.SIX_MONTHS,
        365 => RetentionDays.ONE_YEAR,
        400 => RetentionDays.THIRTEEN_MONTHS,
        545 => RetentionDays.EIGHTEEN_MONTHS,
        731 => RetentionDays.TWO_YEARS,
        1096 => RetentionDays.THREE_YEARS,
        1827 => RetentionDays.FIVE_YEARS,
        2192 => RetentionDays.SIX_YEARS,
        2557 => RetentionDays.SEVEN_YEARS,
        2922 => RetentionDays.EIGHT_YEARS,
        3288 => RetentionDays.NINE_YEARS,
        3653 => RetentionDays.TEN_YEARS,
        _ => throw new ConfigurationException($"logRetentionDays {days} is not a CloudWatch Logs retention value"),
    };

    /// <summary>
    /// The package must be published for the functions' architecture: a portable publish ships every
    /// platform's native libraries, and a package for the other architecture fails at its first native call.
    /// </summary>
    public static void CheckPackageArchitecture(string packageFolder, EnvironmentConfig config)
    {
        var rid = config.Lambda.Architecture == "arm64" ? "linux-arm64" : "linux-x64";
        var depsFile = Path.Combine(packageFolder, LambdaFunctions.HandlerAssembly + ".deps.json");
        var fix = $"run 'scripts/publish-lambdas.sh --env {config.Name}' (publishes for {rid})";
        if (!File.Exists(depsFile))
        {
            throw new ConfigurationException($"Lambda code folder '{packageFolder}' has no {Path.GetFileName(depsFile)}: it is not a publish of lambdas/EdgeLabeling.Lambdas; {fix}");
        }

        var target = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(depsFile))?["runtimeTarget"]?["name"]?.ToString() ?? "";
        if (!target.EndsWith("/" + rid, StringComparison.Ordinal))
        {
            throw new ConfigurationException(
                $"the Lambda package in '{packageFolder}' targets '{target}', but lambda.architecture '{config.Lambda.Architecture}' needs {rid}; {fix}");
        }
    }

    /// <summary>
    /// How long a state-change event keeps coming back before it goes to the merge DLQ: longer than Ground
    /// Truth's output lag (minutes) and than the merge's own wait for a stopped or failed job's reported
    /// output (MergeOptions.OutputWaitLimit, 2 h), after which such an event settles instead of failing.
    /// </summary>
    public static readonly TimeSpan MergeRedeliveryWindow = TimeSpan.FromHours(6);

    /// <summary>Deliveries that span <see cref="MergeRedeliveryWindow"/> when each waits one visibility timeout.</summary>
    public static int MergeMaxReceiveCount(double visibilityTimeoutSeconds) =>
        (int)Math.Ceiling(MergeRedeliveryWindow.TotalSeconds / visibilityTimeoutSeconds) + 1;

    /// <summary>
    /// The job state-change events go to an SQS queue, not straight to the merge Lambda: an asynchronous
    /// invocation is retried only twice (about 1 and 2 minutes later), and Ground Truth's output can appear
    /// minutes after the event. From the queue the merge consumes one event per invocation with
    /// ReportBatchItemFailures; an event whose output is not readable yet is reported as failed and comes back
    /// after the visibility timeout, for <see cref="MergeRedeliveryWindow"/>, then lands in the DLQ,
    /// which has an alarm. The rule matches only job ARNs starting with this project's job name prefix, so
    /// other labeling jobs in the account never reach the merge.
    /// </summary>
    private (IQueue Queue, IQueue DeadLetters) AddMergeQueue(EnvironmentConfig config, LambdaFunction mergeFn, IQueue eventDeliveryFailures)
    {
        var mergeTimeout = mergeFn.Timeout?.ToSeconds() ?? config.Lambda.TimeoutSeconds;
        // AWS recommends at least six times the function timeout, so a slow merge is never delivered twice at once.
        var visibility = 6 * mergeTimeout;
        var dlq = new Queue(this, "MergeDeadLetterQueue", new QueueProps
        {
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
            RetentionPeriod = Duration.Days(14),
        });
        var queue = new Queue(this, "MergeQueue", new QueueProps
        {
            // SQS-managed SSE: EventBridge can send to it without a key policy on the data key.
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
            VisibilityTimeout = Duration.Seconds(visibility),
            RetentionPeriod = Duration.Days(4),
            DeadLetterQueue = new DeadLetterQueue { Queue = dlq, MaxReceiveCount = MergeMaxReceiveCount(visibility) },
        });
        var rule = new Rule(this, "LabelingJobStateRule", new RuleProps
        {
            Description = "This project's Ground Truth labeling job finished: queue it for the merge (duplicates are expected and harmless)",
            EventPattern = new EventPattern
            {
                Source = ["aws.sagemaker"],
                DetailType = ["SageMaker Ground Truth Labeling Job State Change"],
                // resources[0] is the job ARN; the batcher names every job "<prefix>-<batch id>".
                Resources = Match.Prefix(FormatArn(new ArnComponents
                {
                    Service = "sagemaker",
                    Resource = "labeling-job",
                    ResourceName = config.Batch.JobNamePrefix + "-",
                    ArnFormat = ArnFormat.SLASH_RESOURCE_NAME,
                })),
                // Stopped jobs are included so their items go back to pending.
                Detail = new Dictionary<string, object> { ["LabelingJobStatus"] = JobStatusesHandled.ToArray() },
            },
        });
        rule.AddTarget(new SqsQueue(queue, new SqsQueueProps
        {
            DeadLetterQueue = eventDeliveryFailures,
            RetryAttempts = 4,
            MaxEventAge = Duration.Hours(6),
        }));
        mergeFn.AddEventSource(new SqsEventSource(queue, new SqsEventSourceProps
        {
            // One job per invocation: each merge gets the whole function timeout the visibility timeout is sized from.
            BatchSize = 1,
            ReportBatchItemFailures = true,
        }));
        return (queue, dlq);
    }

    private static string Arn(Stack stack, string service, string resource, string resourceName, ArnFormat format) =>
        stack.FormatArn(new ArnComponents { Service = service, Resource = resource, ResourceName = resourceName, ArnFormat = format });

    // EventBridge invokes Lambdas asynchronously: bounded retries, then the event goes to a DLQ
    // instead of vanishing.
    private static Amazon.CDK.AWS.Events.Targets.LambdaFunction Target(IFunction fn, IQueue dlq) =>
        new(fn, new LambdaFunctionProps
        {
            DeadLetterQueue = dlq,
            RetryAttempts = 4,
            MaxEventAge = Duration.Hours(6),
        });
}
