using Amazon.CDK;
using Amazon.CDK.AWS.CloudWatch;
using Amazon.CDK.AWS.CloudWatch.Actions;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Logs;
using Amazon.CDK.AWS.SNS;
using Amazon.CDK.AWS.SNS.Subscriptions;
using Amazon.CDK.AWS.SQS;
using Constructs;
using EdgeLabeling.Infra.Configuration;

namespace EdgeLabeling.Infra.Stacks;

/// <summary>Inputs of <see cref="LabelingMonitoring"/>.</summary>
public sealed record LabelingMonitoringProps
{
    /// <summary>Environment settings (budget and waiting limits).</summary>
    public required EnvironmentConfig Config { get; init; }

    /// <summary>Functions whose errors and durations are watched.</summary>
    public required IReadOnlyList<IFunction> Functions { get; init; }

    /// <summary>Queues that must stay empty.</summary>
    public required IReadOnlyList<IQueue> DeadLetterQueues { get; init; }

    /// <summary>The S3 event queue (backlog age).</summary>
    public required IQueue IngestQueue { get; init; }
}

/// <summary>
/// Alarms for "labeling stalled" (dead letters, failed jobs, items waiting too long, budget used up,
/// Lambda errors) and a one-screen dashboard. Business metrics come from the EMF lines the labeling
/// Lambdas log in namespace <see cref="LabelingMetrics.Namespace"/>.
/// </summary>
public sealed class LabelingMonitoring : Construct
{
    /// <summary>Creates alarms and dashboard.</summary>
    public LabelingMonitoring(Construct scope, string id, LabelingMonitoringProps props)
        : base(scope, id)
    {
        var config = props.Config;
        var alarms = new List<Alarm>();

        foreach (var dlq in props.DeadLetterQueues)
        {
            var name = ((Construct)dlq).Node.Id;
            alarms.Add(dlq.MetricApproximateNumberOfMessagesVisible(new MetricOptions { Period = Duration.Minutes(5), Statistic = "Maximum" })
                .CreateAlarm(this, name + "NotEmpty", new CreateAlarmOptions
                {
                    AlarmDescription = $"{name} holds messages: events were not processed; inspect and redrive",
                    Threshold = 1,
                    EvaluationPeriods = 1,
                    ComparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    TreatMissingData = TreatMissingData.NOT_BREACHING,
                }));
        }

        alarms.Add(props.IngestQueue.MetricApproximateAgeOfOldestMessage(new MetricOptions { Period = Duration.Minutes(5), Statistic = "Maximum" })
            .CreateAlarm(this, "IngestBacklogOld", new CreateAlarmOptions
            {
                AlarmDescription = "S3 events have waited over an hour for the ingest Lambda",
                Threshold = 3600,
                EvaluationPeriods = 2,
                TreatMissingData = TreatMissingData.NOT_BREACHING,
            }));

        foreach (var fn in props.Functions)
        {
            var name = ((Construct)fn).Node.Id;
            alarms.Add(fn.MetricErrors(new MetricOptions { Period = Duration.Minutes(15), Statistic = "Sum" })
                .CreateAlarm(this, name + "Errors", new CreateAlarmOptions
                {
                    AlarmDescription = $"{name} reported errors",
                    Threshold = 3,
                    EvaluationPeriods = 1,
                    ComparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    TreatMissingData = TreatMissingData.NOT_BREACHING,
                }));
        }

        var jobsFailed = Business(LabelingMetrics.JobsFailed, "Sum", Duration.Hours(1));
        alarms.Add(jobsFailed.CreateAlarm(this, "LabelingJobsFailed", new CreateAlarmOptions
        {
            AlarmDescription = "A Ground Truth labeling job failed; its items were released back to pending",
            Threshold = 1,
            EvaluationPeriods = 1,
            ComparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            TreatMissingData = TreatMissingData.NOT_BREACHING,
        }));

        // The batcher reports the age of the oldest pending item on every run (every batch.scheduleMinutes,
        // at most 30 in the shipped configs), so the hourly maximum has a datapoint each hour while it
        // runs. Age, not count: a steady trickle of fresh items keeps the backlog non-empty without
        // anyone waiting long, and one stuck item among a drained backlog waits as long as a full one.
        // A released item keeps its original pending time, so failing jobs cannot reset the clock.
        // Missing data (no batcher run) is left to the BatchFunctionErrors alarm.
        var oldestAge = Business(LabelingMetrics.OldestPendingAgeMinutes, "Maximum", Duration.Hours(1));
        alarms.Add(oldestAge.CreateAlarm(this, "ItemsWaitingTooLong", new CreateAlarmOptions
        {
            AlarmDescription = $"An item has waited for people over {config.Budget.MaxWaitingHours} h (budget used up, workteam idle, jobs failing or batcher stuck)",
            Threshold = config.Budget.MaxWaitingHours * 60,
            EvaluationPeriods = 1,
            ComparisonOperator = ComparisonOperator.GREATER_THAN_THRESHOLD,
            TreatMissingData = TreatMissingData.NOT_BREACHING,
        }));

        var blocked = Business(LabelingMetrics.BudgetBlockedItems, "Maximum", Duration.Hours(1),
            (LabelingMetrics.ReasonDimension, LabelingMetrics.BudgetExhaustedReason));
        alarms.Add(blocked.CreateAlarm(this, "BudgetExhausted", new CreateAlarmOptions
        {
            AlarmDescription = $"The monthly labeling budget ({config.Budget.MonthlyUsd} USD) is used up; items keep waiting",
            Threshold = 1,
            EvaluationPeriods = 1,
            ComparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            TreatMissingData = TreatMissingData.NOT_BREACHING,
        }));

        var deferred = Business(LabelingMetrics.BatchRuns, "Sum", Duration.Hours(1),
            (LabelingMetrics.DecisionDimension, LabelingMetrics.DeferredDecision));
        alarms.Add(deferred.CreateAlarm(this, "BatcherDeferring", new CreateAlarmOptions
        {
            AlarmDescription = "The batcher keeps hitting errors (S3, SageMaker or the table) and defers its batch",
            Threshold = 3,
            EvaluationPeriods = 1,
            ComparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            TreatMissingData = TreatMissingData.NOT_BREACHING,
        }));

        AddJobOutcomeAlarms(alarms);
        AddProductionPrecisionAlarms(alarms, config);
        Alarms = alarms;

        // Not KMS-encrypted on purpose: CloudWatch cannot publish to a topic under the AWS-managed SNS
        // key, and alarm notifications carry metric names and thresholds, no labeling data.
        var topic = new Topic(this, "AlarmTopic", new TopicProps
        {
            DisplayName = $"EdgeLabeling {config.Name} alarms",
            EnforceSSL = true,
        });
        // Adding a statement also materializes the topic policy, which is where EnforceSSL puts its deny.
        topic.AddToResourcePolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "CloudWatchAlarmsOfThisAccount",
            Principals = [new ServicePrincipal("cloudwatch.amazonaws.com")],
            Actions = ["sns:Publish"],
            Resources = [topic.TopicArn],
            Conditions = new Dictionary<string, object>
            {
                ["StringEquals"] = new Dictionary<string, object> { ["aws:SourceAccount"] = Stack.Of(this).Account },
            },
        }));
        foreach (var email in config.AlarmEmails)
        {
            topic.AddSubscription(new EmailSubscription(email));
        }

        foreach (var alarm in alarms)
        {
            alarm.AddAlarmAction(new SnsAction(topic));
        }

        AlarmTopic = topic;

        var dashboard = new Dashboard(this, "Dashboard", new DashboardProps
        {
            DashboardName = $"EdgeLabeling-{config.Name}",
            DefaultInterval = Duration.Days(1),
        });
        dashboard.AddWidgets(
            new GraphWidget(new GraphWidgetProps
            {
                Title = "Items waiting for people / jobs started",
                Left = [Business(LabelingMetrics.PendingItems, "Maximum", Duration.Minutes(15))],
                Right = [Business(LabelingMetrics.JobsCreated, "Sum", Duration.Hours(1))],
                Width = 8,
            }),
            new GraphWidget(new GraphWidgetProps
            {
                Title = "Oldest pending item age (minutes)",
                Left = [Business(LabelingMetrics.OldestPendingAgeMinutes, "Maximum", Duration.Minutes(15))],
                LeftAnnotations = [new HorizontalAnnotation { Value = config.Budget.MaxWaitingHours * 60, Label = "alarm" }],
                Width = 8,
            }),
            new GraphWidget(new GraphWidgetProps
            {
                Title = "Jobs failed / items blocked by budget / deferred runs",
                Left = [jobsFailed, blocked, deferred],
                Width = 8,
            }));
        dashboard.AddWidgets(
            new GraphWidget(new GraphWidgetProps
            {
                Title = "Lambda errors",
                Left = props.Functions.Select(f => (IMetric)f.MetricErrors(new MetricOptions { Period = Duration.Minutes(15) })).ToArray(),
                Width = 12,
            }),
            new GraphWidget(new GraphWidgetProps
            {
                Title = "Dead letters",
                Left = props.DeadLetterQueues.Select(q => (IMetric)q.MetricApproximateNumberOfMessagesVisible()).ToArray(),
                Width = 12,
            }));
        dashboard.AddWidgets(new AlarmStatusWidget(new AlarmStatusWidgetProps { Title = "Alarms", Alarms = alarms.Cast<IAlarm>().ToArray(), Width = 24 }));
        Dashboard = dashboard;
    }

    /// <summary>The one-screen dashboard (other constructs add their sections).</summary>
    public Dashboard Dashboard { get; }

    /// <summary>Every alarm created.</summary>
    public IReadOnlyList<Alarm> Alarms { get; }

    /// <summary>Topic every alarm notifies; subscribe people or chat integrations to it.</summary>
    public ITopic AlarmTopic { get; }

    /// <summary>Job creation failing (the batcher is backing off) and items set aside for an operator.</summary>
    private void AddJobOutcomeAlarms(List<Alarm> alarms)
    {
        alarms.Add(Business(LabelingMetrics.JobCreationFailures, "Sum", Duration.Hours(1)).CreateAlarm(this, "JobCreationFailing", new CreateAlarmOptions
        {
            AlarmDescription = "Ground Truth jobs cannot be created or fail at their start (execution role, CORS, workteam); the batcher backs off until fixed",
            Threshold = 1,
            EvaluationPeriods = 1,
            ComparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            TreatMissingData = TreatMissingData.NOT_BREACHING,
        }));
        alarms.Add(Business(LabelingMetrics.ItemsSetAside, "Sum", Duration.Hours(1), (LabelingMetrics.ReasonDimension, LabelingMetrics.NoLabelInOutputReason))
            .CreateAlarm(this, "ItemsSetAside", new CreateAlarmOptions
            {
                AlarmDescription = "Items came back unlabeled too often and were set aside; list them with 'edgelabel pending --stuck'",
                Threshold = 1,
                EvaluationPeriods = 1,
                ComparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                TreatMissingData = TreatMissingData.NOT_BREACHING,
            }));
    }

    /// <summary>
    /// One alarm per configured class on the Wilson lower bound of its production precision (the merge emits it after
    /// every job, for classes with enough audited boxes in the window). Per class rather than one Metrics Insights
    /// alarm over all classes: the alarm's name says which class drifted, its threshold is a plain static one, and
    /// the count is bounded by the classes of a job (at most 50). A SEARCH expression cannot back an alarm at all.
    /// Daily minimum: one low merge in the day is enough; no merge that day is not a breach (missing data).
    /// </summary>
    private void AddProductionPrecisionAlarms(List<Alarm> alarms, EnvironmentConfig config)
    {
        var target = config.Routing.TargetPrecision;
        foreach (var (className, index) in config.ProductionPrecision.AlarmClasses.Select((c, i) => (c, i)))
        {
            var metric = Business(LabelingMetrics.ProductionPrecisionLowerBound, "Minimum", Duration.Days(1), (LabelingMetrics.ClassDimension, className));
            alarms.Add(metric.CreateAlarm(this, $"ProductionPrecisionLow{index}", new CreateAlarmOptions
            {
                AlarmDescription = $"Production precision of class '{className}' may be below the target {target:P1}: the Wilson lower bound over the last " +
                    $"{config.ProductionPrecision.WindowDays} days of audits fell under it (new parts, a moved camera, dirt on a lens). " +
                    "See which device and model with 'edgelabel retune --dataset …'.",
                Threshold = Math.Round(target * 100, 4),
                EvaluationPeriods = 1,
                ComparisonOperator = ComparisonOperator.LESS_THAN_THRESHOLD,
                TreatMissingData = TreatMissingData.NOT_BREACHING,
            }));
        }
    }

    private static Metric Business(string name, string statistic, Duration period, (string Name, string Value)? dimension = null) => new(new MetricProps
    {
        Namespace = LabelingMetrics.Namespace,
        MetricName = name,
        Statistic = statistic,
        Period = period,
        DimensionsMap = dimension is { } d ? new Dictionary<string, string> { [d.Name] = d.Value } : null,
    });
}
