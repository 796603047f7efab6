using System.Globalization;
using Amazon.CDK;
using Amazon.CDK.AWS.CloudWatch;
using Amazon.CDK.AWS.CloudWatch.Actions;
using Amazon.CDK.AWS.DynamoDB;
using Amazon.CDK.AWS.Events;
using Amazon.CDK.AWS.KMS;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Logs;
using Amazon.CDK.AWS.S3;
using Amazon.CDK.AWS.S3.Notifications;
using Amazon.CDK.AWS.SNS;
using Amazon.CDK.AWS.SQS;
using Constructs;
using EdgeLabeling.Contracts;
using EdgeLabeling.Infra.Configuration;
using LambdaFunction = Amazon.CDK.AWS.Lambda.Function;

namespace EdgeLabeling.Infra.Stacks;

/// <summary>Inputs of <see cref="FleetMonitoring"/>.</summary>
public sealed record FleetMonitoringProps
{
    /// <summary>Environment settings (fleetHealth, Lambda compute, log retention).</summary>
    public required EnvironmentConfig Config { get; init; }

    /// <summary>The incoming bucket as the labeling stack imports it for notifications (one notification owner per stack).</summary>
    public required IBucket NotificationBucket { get; init; }

    /// <summary>The incoming bucket, for the read grant on status/.</summary>
    public required IBucket IncomingBucket { get; init; }

    /// <summary>Key encrypting the fleet table (the environment's data key).</summary>
    public required IKey DataKey { get; init; }

    /// <summary>The published EdgeLabeling.Lambdas code.</summary>
    public required Code Code { get; init; }

    /// <summary>Where asynchronous invocations that failed every retry end up.</summary>
    public required IQueue AsyncFailures { get; init; }

    /// <summary>Topic the fleet alarms notify.</summary>
    public required ITopic AlarmTopic { get; init; }

    /// <summary>Dashboard that gets the fleet section.</summary>
    public required Dashboard Dashboard { get; init; }
}

/// <summary>
/// The fleet view: heartbeats (S3 <c>status/</c> → Lambda) folded into a fleet table, a scheduled check
/// that turns the table into fleet-wide counts, alarms on those counts and a dashboard section.
/// </summary>
public sealed class FleetMonitoring : Construct
{
    /// <summary>Partition key of the fleet table (DynamoDbFleetStore.PartitionKey).</summary>
    public const string TablePartitionKey = "thing";

    /// <summary>Creates the fleet resources.</summary>
    public FleetMonitoring(Construct scope, string id, FleetMonitoringProps props)
        : base(scope, id)
    {
        var config = props.Config;
        var health = config.FleetHealth;
        var keepOrDelete = config.DestroyOnRemoval ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

        // Only the latest heartbeat per device lives here and the next heartbeats rebuild it, so the table
        // sits with the compute it serves rather than in the storage stack.
        var table = new Table(this, "FleetTable", new TableProps
        {
            PartitionKey = new Amazon.CDK.AWS.DynamoDB.Attribute { Name = TablePartitionKey, Type = AttributeType.STRING },
            BillingMode = BillingMode.PAY_PER_REQUEST,
            Encryption = TableEncryption.CUSTOMER_MANAGED,
            EncryptionKey = props.DataKey,
            RemovalPolicy = RemovalPolicy.DESTROY,
        });

        // Exactly the contract's variables (LambdaFunctions.Fleet): the fleet functions never see the labeling settings.
        var environment = new Dictionary<string, string>
        {
            [LambdaEnvironment.FleetTableName] = table.TableName,
            [LambdaEnvironment.FleetSilentHours] = health.SilentHours.ToString(CultureInfo.InvariantCulture),
            [LambdaEnvironment.FleetQueueGrowingHours] = health.QueueGrowingHours.ToString(CultureInfo.InvariantCulture),
            [LambdaEnvironment.FleetMinFreeDiskBytes] = (health.MinFreeDiskMegabytes * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
        };

        LambdaFunction NewFunction(LambdaFunctionContract contract, string description) => new(this, contract.Name, new FunctionProps
        {
            Description = description,
            Runtime = LabelingStack.DotNet10,
            Handler = contract.Handler,
            Code = props.Code,
            Architecture = config.Lambda.Architecture == "arm64" ? Architecture.ARM_64 : Architecture.X86_64,
            MemorySize = config.Lambda.MemoryMb,
            Timeout = Duration.Seconds(config.Lambda.TimeoutOf(contract.Name)),
            Environment = environment,
            LogGroup = new LogGroup(this, contract.Name + "Logs", new LogGroupProps { Retention = LabelingStack.LogRetention(config.LogRetentionDays), RemovalPolicy = keepOrDelete }),
            Tracing = Tracing.ACTIVE,
            DeadLetterQueue = props.AsyncFailures,
            RetryAttempts = 2,
        });

        // S3 invokes the function directly (asynchronously, with retries): a lost heartbeat is replaced by the
        // next one within minutes, so the ingest queue's ordering and redrive are not needed here.
        var heartbeatFn = NewFunction(LambdaFunctions.FleetHeartbeat, "Folds device heartbeats (status/) into the fleet table and per-device metrics");
        props.NotificationBucket.AddEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(heartbeatFn),
            new NotificationKeyFilter { Prefix = FleetKeys.StatusPrefix, Suffix = "/" + FleetKeys.HeartbeatFileName });
        props.IncomingBucket.GrantRead(heartbeatFn, FleetKeys.StatusPrefix + "*");
        table.GrantReadWriteData(heartbeatFn);

        var checkFn = NewFunction(LambdaFunctions.FleetCheck, "Counts silent, falling-behind and low-disk devices for the fleet alarms");
        table.GrantReadData(checkFn);
        var schedule = new Rule(this, "FleetCheckSchedule", new RuleProps
        {
            Description = "Runs the fleet check that emits the silent / queue-growing / low-disk device counts",
            Schedule = Schedule.Rate(Duration.Minutes(health.CheckMinutes)),
        });
        schedule.AddTarget(new Amazon.CDK.AWS.Events.Targets.LambdaFunction(checkFn, new Amazon.CDK.AWS.Events.Targets.LambdaFunctionProps
        {
            DeadLetterQueue = props.AsyncFailures,
            RetryAttempts = 2,
            MaxEventAge = Duration.Hours(1),
        }));

        var period = Duration.Minutes(health.CheckMinutes);
        Metric Fleet(string name) => new(new MetricProps { Namespace = LabelingMetrics.Namespace, MetricName = name, Statistic = "Maximum", Period = period });
        Alarm CountAlarm(string id, string metric, string description) =>
            Fleet(metric).CreateAlarm(this, id, new CreateAlarmOptions
            {
                AlarmDescription = description,
                Threshold = 1,
                EvaluationPeriods = 1,
                ComparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                TreatMissingData = TreatMissingData.NOT_BREACHING,
            });

        var alarms = new List<Alarm>
        {
            CountAlarm("DeviceSilent", FleetMetricNames.SilentDevices,
                $"A device has sent no heartbeat for over {health.SilentHours} h (offline, powered off or the component stopped); `edgelabel fleet status` names it"),
            CountAlarm("DeviceQueueGrowing", FleetMetricNames.QueueGrowingDevices,
                $"A device's upload queue has kept growing for {health.QueueGrowingHours} h (link down, too slow, or its daily quota too small)"),
            CountAlarm("DeviceLowDisk", FleetMetricNames.LowDiskDevices,
                $"A device has less than {health.MinFreeDiskMegabytes} MB free disk; intake will stop (backpressure) when it reaches MinFreeDiskBytes"),
        };
        // The counts come from the check: if it stops running, no alarm above could fire.
        alarms.Add(checkFn.MetricErrors(new MetricOptions { Period = Duration.Hours(1), Statistic = "Sum" }).CreateAlarm(this, "FleetCheckErrors", new CreateAlarmOptions
        {
            AlarmDescription = "The fleet check fails: silent / queue / disk alarms cannot fire until it runs again",
            Threshold = 2,
            EvaluationPeriods = 1,
            ComparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            TreatMissingData = TreatMissingData.NOT_BREACHING,
        }));
        foreach (var alarm in alarms)
        {
            alarm.AddAlarmAction(new SnsAction(props.AlarmTopic));
        }

        IMetric PerDevice(string name, string statistic, string label) => new MathExpression(new MathExpressionProps
        {
            // SEARCH finds every device's series without knowing the thing names at deploy time.
            Expression = $"SEARCH('{{{LabelingMetrics.Namespace},{FleetMetricNames.ThingDimension}}} MetricName=\"{name}\"', '{statistic}', {(int)period.ToSeconds()})",
            Label = label,
            Period = period,
        });
        props.Dashboard.AddWidgets(new TextWidget(new TextWidgetProps
        {
            Markdown = $"## Fleet\nSilent after {health.SilentHours} h, queue growing after {health.QueueGrowingHours} h, low disk below {health.MinFreeDiskMegabytes} MB. Details per device: `edgelabel fleet status`.",
            Width = 24,
            Height = 2,
        }));
        props.Dashboard.AddWidgets(
            new GraphWidget(new GraphWidgetProps
            {
                Title = "Devices: all / silent / queue growing / low disk",
                Left = [Fleet(FleetMetricNames.FleetDevices), Fleet(FleetMetricNames.SilentDevices), Fleet(FleetMetricNames.QueueGrowingDevices), Fleet(FleetMetricNames.LowDiskDevices)],
                Width = 8,
            }),
            new GraphWidget(new GraphWidgetProps { Title = "Queue depth per device", Left = [PerDevice(FleetMetricNames.DeviceQueuedItems, "Maximum", "queued")], Width = 8 }),
            new GraphWidget(new GraphWidgetProps
            {
                Title = "Hours since last heartbeat per device",
                Left = [PerDevice(FleetMetricNames.DeviceSilentHours, "Maximum", "silent h")],
                LeftAnnotations = [new HorizontalAnnotation { Value = health.SilentHours, Label = "silent" }],
                Width = 8,
            }));
        props.Dashboard.AddWidgets(
            new GraphWidget(new GraphWidgetProps
            {
                Title = "Free disk per device (bytes)",
                Left = [PerDevice(FleetMetricNames.DeviceFreeDiskBytes, "Minimum", "free")],
                LeftAnnotations = [new HorizontalAnnotation { Value = health.MinFreeDiskMegabytes * 1024.0 * 1024.0, Label = "low disk" }],
                Width = 12,
            }),
            new GraphWidget(new GraphWidgetProps
            {
                Title = "Heartbeats received / refused",
                Left =
                [
                    new Metric(new MetricProps { Namespace = LabelingMetrics.Namespace, MetricName = FleetMetricNames.HeartbeatsReceived, Statistic = "Sum", Period = period }),
                    new MathExpression(new MathExpressionProps
                    {
                        Expression = $"SEARCH('{{{LabelingMetrics.Namespace},{FleetMetricNames.ReasonDimension}}} MetricName=\"{FleetMetricNames.HeartbeatsRefused}\"', 'Sum', {(int)period.ToSeconds()})",
                        Label = "refused",
                        Period = period,
                    }),
                ],
                Width = 12,
            }),
            new AlarmStatusWidget(new AlarmStatusWidgetProps { Title = "Fleet alarms", Alarms = alarms.Cast<IAlarm>().ToArray(), Width = 24 }));

        FleetTable = table;
        HeartbeatFunction = heartbeatFn;
        CheckFunction = checkFn;
        Alarms = alarms;
    }

    /// <summary>The fleet table (latest heartbeat per device).</summary>
    public ITable FleetTable { get; }

    /// <summary>Lambda folding heartbeats into the table.</summary>
    public IFunction HeartbeatFunction { get; }

    /// <summary>Scheduled Lambda emitting the fleet-wide counts.</summary>
    public IFunction CheckFunction { get; }

    /// <summary>Fleet alarms.</summary>
    public IReadOnlyList<Alarm> Alarms { get; }
}
