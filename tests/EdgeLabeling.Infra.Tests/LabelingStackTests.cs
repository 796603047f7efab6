using System.Globalization;
using System.Text.Json.Nodes;
using Amazon.CDK.Assertions;
using EdgeLabeling.Infra.Stacks;
using EdgeLabeling.Labeling.Batching;

namespace EdgeLabeling.Infra.Tests;

[Collection(SynthCollection.Name)]
public sealed class LabelingStackTests(SynthFixture synth)
{
    public static TheoryData<string> Envs => new(SynthFixture.EnvironmentNames);

    private JsonObject Raw(string env) => synth.Environments[env].RawTemplates[$"EdgeLabeling-{env}-Labeling"];

    private static Dictionary<string, object> Obj(params (string Key, object Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    private (string Id, JsonObject Props) Function(string env, string handler) =>
        SecurityRules.Resources(Raw(env), "AWS::Lambda::Function")
            .Where(f => f.Resource["Properties"]!["Handler"]?.GetValue<string>() == handler)
            .Select(f => (f.Id, f.Resource["Properties"]!.AsObject()))
            .Single();

    [Theory]
    [MemberData(nameof(Envs))]
    public void Functions_RunDotnet10WithConfiguredCompute(string env)
    {
        var config = synth.Environments[env].Config;

        foreach (var handler in new[] { LabelingStack.Handlers.Ingest, LabelingStack.Handlers.Batch, LabelingStack.Handlers.Merge })
        {
            synth.Environments[env].Labeling.HasResourceProperties("AWS::Lambda::Function", Match.ObjectLike(Obj(
                ("Handler", handler),
                ("Runtime", "dotnet10"),
                ("Architectures", new[] { config.Lambda.Architecture }),
                ("MemorySize", config.Lambda.MemoryMb),
                ("Timeout", handler == LabelingStack.Handlers.Merge ? config.Lambda.MergeTimeoutSeconds : config.Lambda.TimeoutSeconds),
                ("TracingConfig", Obj(("Mode", "Active"))))));
        }
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void MergeFunction_HasItsOwnTimeoutAndTmpSize(string env)
    {
        var config = synth.Environments[env].Config;
        var merge = Function(env, LabelingStack.Handlers.Merge).Props;

        Assert.Equal(config.Lambda.MergeTimeoutSeconds, merge["Timeout"]!.GetValue<int>());
        Assert.Equal(config.Lambda.MergeEphemeralStorageMb, merge["EphemeralStorage"]!["Size"]!.GetValue<int>());
        // Only the merge spools a job's shard; the other functions keep Lambda's default /tmp.
        Assert.Null(Function(env, LabelingStack.Handlers.Batch).Props["EphemeralStorage"]);
        Assert.InRange(config.Lambda.MergeEphemeralStorageMb, 512, 10240);
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void Functions_GetTheLabelingSettingsAsEnvironment(string env)
    {
        var config = synth.Environments[env].Config;
        var variables = Function(env, LabelingStack.Handlers.Batch).Props["Environment"]!["Variables"]!.AsObject();

        Assert.Equal(config.Batch.MinItems.ToString(CultureInfo.InvariantCulture), variables["BATCH_MIN_ITEMS"]!.GetValue<string>());
        Assert.Equal(config.Batch.MaxAgeMinutes.ToString(CultureInfo.InvariantCulture), variables["BATCH_MAX_AGE_MINUTES"]!.GetValue<string>());
        Assert.Equal(config.Budget.MonthlyUsd.ToString(CultureInfo.InvariantCulture), variables["MONTHLY_BUDGET_USD"]!.GetValue<string>());
        Assert.Equal(config.LabelAttribute, variables["LABEL_ATTRIBUTE"]!.GetValue<string>());
        Assert.Contains("IncomingBucket", SecurityRules.Flatten(variables["INCOMING_BUCKET"]));
        Assert.Contains("LabelingDataBucket", SecurityRules.Flatten(variables["DATA_BUCKET"]));
        Assert.Contains("PendingItemsTable", SecurityRules.Flatten(variables["TABLE_NAME"]));
        Assert.Contains("DataKey", SecurityRules.Flatten(variables["KMS_KEY_ID"]));
        Assert.StartsWith("<GetAtt:GroundTruthExecutionRole", SecurityRules.Flatten(variables["GT_ROLE_ARN"]));
    }

    [Fact]
    public void Dev_WorkteamCreate_BuildsCognitoPoolAndWorkteam()
    {
        var labeling = synth.Environments["dev"].Labeling;

        labeling.ResourceCountIs("AWS::SageMaker::Workteam", 1);
        labeling.ResourceCountIs("AWS::Cognito::UserPool", 1);
        labeling.HasResourceProperties("AWS::Cognito::UserPool", Match.ObjectLike(Obj(("AdminCreateUserConfig", Obj(("AllowAdminCreateUserOnly", true))))));
        var workteam = SecurityRules.Resources(Raw("dev"), "AWS::SageMaker::Workteam").Single().Id;
        Assert.Equal($"<Ref:{workteam}>", SecurityRules.Flatten(Function("dev", LabelingStack.Handlers.Batch).Props["Environment"]!["Variables"]!["WORKTEAM_ARN"]));
    }

    [Fact]
    public void Prod_WorkteamArn_IsImportedNotCreated()
    {
        var labeling = synth.Environments["prod"].Labeling;

        labeling.ResourceCountIs("AWS::SageMaker::Workteam", 0);
        labeling.ResourceCountIs("AWS::Cognito::UserPool", 0);
        Assert.Equal(synth.Environments["prod"].Config.Workteam, Function("prod", LabelingStack.Handlers.Batch).Props["Environment"]!["Variables"]!["WORKTEAM_ARN"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void IngestQueue_IsEncryptedWithDeadLetterQueue(string env)
    {
        var queues = SecurityRules.Resources(Raw(env), "AWS::SQS::Queue").ToList();

        Assert.All(queues, q => Assert.True(q.Resource["Properties"]!["SqsManagedSseEnabled"]!.GetValue<bool>(), $"{q.Id} is not encrypted"));
        var ingest = queues.Single(q => q.Id.StartsWith("IngestQueue", StringComparison.Ordinal)).Resource["Properties"]!;
        Assert.Equal(5, ingest["RedrivePolicy"]!["maxReceiveCount"]!.GetValue<int>());
        Assert.StartsWith("<GetAtt:IngestDeadLetterQueue", SecurityRules.Flatten(ingest["RedrivePolicy"]!["deadLetterTargetArn"]));
        Assert.Equal(6 * synth.Environments[env].Config.Lambda.TimeoutSeconds, ingest["VisibilityTimeout"]!.GetValue<int>());
        // enforceSSL: every queue policy denies non-TLS access.
        var policies = SecurityRules.Resources(Raw(env), "AWS::SQS::QueuePolicy").Select(p => p.Resource.ToJsonString()).ToList();
        Assert.Equal(queues.Count, policies.Count(p => p.Contains("aws:SecureTransport", StringComparison.Ordinal)));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void IngestFunction_ConsumesQueueWithPartialBatchFailures(string env)
    {
        var (fnId, _) = Function(env, LabelingStack.Handlers.Ingest);

        synth.Environments[env].Labeling.HasResourceProperties("AWS::Lambda::EventSourceMapping", Match.ObjectLike(Obj(
            ("FunctionName", Obj(("Ref", fnId))),
            ("FunctionResponseTypes", new[] { "ReportBatchItemFailures" }),
            ("BatchSize", 10))));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void IncomingBucket_NotifiesQueueForObjectsUnderIncoming(string env)
    {
        var notifications = SecurityRules.Resources(Raw(env), "Custom::S3BucketNotifications").Single().Resource["Properties"]!;

        var config = notifications["NotificationConfiguration"]!["QueueConfigurations"]!.AsArray().Single()!;
        Assert.Equal(["s3:ObjectCreated:*"], config["Events"]!.AsArray().Select(e => e!.GetValue<string>()));
        var rule = config["Filter"]!["Key"]!["FilterRules"]!.AsArray().Single()!;
        Assert.Equal(("prefix", "incoming/"), (rule["Name"]!.GetValue<string>().ToLowerInvariant(), rule["Value"]!.GetValue<string>()));
        Assert.StartsWith("<GetAtt:IngestQueue", SecurityRules.Flatten(config["QueueArn"]));
        Assert.Contains("IncomingBucket", SecurityRules.Flatten(notifications["BucketName"]));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void JobStateRule_MatchesGroundTruthStateChangesAndTargetsMerge(string env)
    {
        var (mergeId, _) = Function(env, LabelingStack.Handlers.Merge);

        synth.Environments[env].Labeling.HasResourceProperties("AWS::Events::Rule", Match.ObjectLike(Obj(
            ("EventPattern", Obj(
                ("source", new[] { "aws.sagemaker" }),
                ("detail-type", new[] { "SageMaker Ground Truth Labeling Job State Change" }),
                ("detail", Obj(("LabelingJobStatus", new[] { "Completed", "Failed", "Stopped" }))))),
            ("Targets", Match.ArrayWith([Match.ObjectLike(Obj(("Arn", Obj(("Fn::GetAtt", new[] { mergeId, "Arn" })))))])))));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void BatchSchedule_RunsTheSingleBatcherAtTheConfiguredRate(string env)
    {
        var (batchId, props) = Function(env, LabelingStack.Handlers.Batch);

        synth.Environments[env].Labeling.HasResourceProperties("AWS::Events::Rule", Match.ObjectLike(Obj(
            ("ScheduleExpression", $"rate({synth.Environments[env].Config.Batch.ScheduleMinutes} minutes)"),
            ("Targets", Match.ArrayWith([Match.ObjectLike(Obj(("Arn", Obj(("Fn::GetAtt", new[] { batchId, "Arn" })))))])))));
        Assert.Equal(1, props["ReservedConcurrentExecutions"]!.GetValue<int>());
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void PassRole_IsGrantedOnlyToTheBatcherOnlyForTheGroundTruthRole(string env)
    {
        var (_, batchProps) = Function(env, LabelingStack.Handlers.Batch);
        var batchRole = SecurityRules.Flatten(batchProps["Role"]);

        var passRoles = SecurityRules.Resources(Raw(env), "AWS::IAM::Policy")
            .SelectMany(p => p.Resource["Properties"]!["PolicyDocument"]!["Statement"]!.AsArray()
                .Where(s => SecurityRules.Flatten(s!["Action"]).Contains("iam:PassRole", StringComparison.Ordinal))
                .Select(s => (Roles: SecurityRules.Flatten(p.Resource["Properties"]!["Roles"]), Statement: s!)))
            .ToList();

        var grant = Assert.Single(passRoles);
        Assert.Equal(batchRole.Replace("GetAtt:", "Ref:", StringComparison.Ordinal).Replace(".Arn", "", StringComparison.Ordinal), grant.Roles);
        Assert.StartsWith("<GetAtt:GroundTruthExecutionRole", SecurityRules.Flatten(grant.Statement["Resource"]));
        Assert.Equal("sagemaker.amazonaws.com", SecurityRules.Flatten(grant.Statement["Condition"]!["StringEquals"]!["iam:PassedToService"]));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void GroundTruthRole_IsAssumedBySageMakerOfThisAccountOnly(string env)
    {
        synth.Environments[env].Labeling.HasResourceProperties("AWS::IAM::Role", Match.ObjectLike(Obj(
            ("AssumeRolePolicyDocument", Match.ObjectLike(Obj(
                ("Statement", new object[]
                {
                    Match.ObjectLike(Obj(
                        ("Principal", Obj(("Service", "sagemaker.amazonaws.com"))),
                        ("Condition", Obj(("StringEquals", Obj(("aws:SourceAccount", synth.Environments[env].Config.Account))))))),
                })))))));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void GroundTruthRole_ReadsInputsAndImagesAndWritesOnlyJobOutput(string env)
    {
        var policy = SecurityRules.Resources(Raw(env), "AWS::IAM::Policy")
            .Single(p => SecurityRules.Flatten(p.Resource["Properties"]!["Roles"]).Contains("GroundTruthExecutionRole", StringComparison.Ordinal));
        var statements = policy.Resource["Properties"]!["PolicyDocument"]!["Statement"]!.AsArray();

        var writes = statements.Where(s => SecurityRules.Flatten(s!["Action"]).Contains("s3:PutObject", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(writes);
        Assert.All(writes, s => Assert.All(s!["Resource"]!.AsArray().Select(SecurityRules.Flatten).Where(r => r.EndsWith('*')),
            r => Assert.EndsWith("/jobs/output/*", r)));
        var reads = statements.Where(s => SecurityRules.Flatten(s!["Action"]).Contains("s3:GetObject", StringComparison.Ordinal))
            .SelectMany(s => s!["Resource"]!.AsArray().Select(SecurityRules.Flatten)).ToList();
        Assert.Contains(reads, r => r.EndsWith("/incoming/*", StringComparison.Ordinal));
        Assert.Contains(reads, r => r.EndsWith("/jobs/input/*", StringComparison.Ordinal));
        Assert.Contains(statements, s => SecurityRules.Flatten(s!["Action"]).Contains("kms:Decrypt", StringComparison.Ordinal)
            && SecurityRules.Flatten(s["Action"]).Contains("kms:GenerateDataKey", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void Alarms_CoverDeadLettersJobFailuresAndWaitingItems(string env)
    {
        var config = synth.Environments[env].Config;
        var alarms = SecurityRules.Resources(Raw(env), "AWS::CloudWatch::Alarm").Select(a => a.Resource["Properties"]!).ToList();
        JsonNode Business(string metric) => Assert.Single(alarms, a => a["Namespace"]?.GetValue<string>() == LabelingMetrics.Namespace && a["MetricName"]!.GetValue<string>() == metric);

        Assert.Equal(2, alarms.Count(a => a["MetricName"]?.GetValue<string>() == "ApproximateNumberOfMessagesVisible" && a["Threshold"]!.GetValue<double>() == 1));
        Assert.Equal(3, alarms.Count(a => a["MetricName"]?.GetValue<string>() == "Errors" && a["Namespace"]!.GetValue<string>() == "AWS/Lambda"));
        Assert.Equal(1, Business(LabelingMetrics.JobsFailed)["Threshold"]!.GetValue<double>());
        var waiting = Business(LabelingMetrics.OldestPendingAgeMinutes);
        Assert.Equal("Maximum", waiting["Statistic"]!.GetValue<string>());
        Assert.Equal(3600, waiting["Period"]!.GetValue<int>());
        Assert.Equal(config.Budget.MaxWaitingHours * 60, waiting["Threshold"]!.GetValue<double>());
        Assert.Equal("GreaterThanThreshold", waiting["ComparisonOperator"]!.GetValue<string>());
        Assert.Equal(1, waiting["EvaluationPeriods"]!.GetValue<int>());
        Assert.Null(waiting["Dimensions"]);
        Assert.DoesNotContain(alarms, a => a["MetricName"]?.GetValue<string>() == LabelingMetrics.PendingItems);
        var budget = Business(LabelingMetrics.BudgetBlockedItems);
        Assert.Equal("""[{"Name":"Reason","Value":"budget-exhausted"}]""", budget["Dimensions"]!.ToJsonString());
        var deferred = Business(LabelingMetrics.BatchRuns);
        Assert.Equal("""[{"Name":"Decision","Value":"deferred-after-error"}]""", deferred["Dimensions"]!.ToJsonString());
        Assert.All(alarms, a => Assert.Equal("notBreaching", a["TreatMissingData"]!.GetValue<string>()));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void ItemsWaitingTooLongAlarm_KeepsItsConstructIdAndWatchesTheAge(string env)
    {
        var alarm = Assert.Single(SecurityRules.Resources(Raw(env), "AWS::CloudWatch::Alarm"), a => a.Id.Contains("ItemsWaitingTooLong", StringComparison.Ordinal));

        Assert.Equal(LabelingMetrics.OldestPendingAgeMinutes, alarm.Resource["Properties"]!["MetricName"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void Dashboard_GraphsTheOldestPendingAgeAgainstTheAlarmLine(string env)
    {
        var config = synth.Environments[env].Config;
        var body = SecurityRules.Flatten(SecurityRules.Resources(Raw(env), "AWS::CloudWatch::Dashboard").Single().Resource["Properties"]!["DashboardBody"]);

        var widget = Assert.Single(JsonNode.Parse(body)!["widgets"]!.AsArray(),
            w => w!["properties"]!["metrics"]?.AsArray().Any(m => m![1]?.GetValue<string>() == LabelingMetrics.OldestPendingAgeMinutes) == true)!;

        var metric = Assert.Single(widget["properties"]!["metrics"]!.AsArray())!;
        Assert.Equal(LabelingMetrics.Namespace, metric[0]!.GetValue<string>());
        var line = Assert.Single(widget["properties"]!["annotations"]!["horizontal"]!.AsArray())!;
        Assert.Equal(config.Budget.MaxWaitingHours * 60, line["value"]!.GetValue<double>());
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void Alarms_AllNotifyTheTlsOnlyAlarmTopic(string env)
    {
        var topic = SecurityRules.Resources(Raw(env), "AWS::SNS::Topic").Single().Id;
        var alarms = SecurityRules.Resources(Raw(env), "AWS::CloudWatch::Alarm").ToList();

        Assert.All(alarms, a => Assert.Equal([$"<Ref:{topic}>"], a.Resource["Properties"]!["AlarmActions"]!.AsArray().Select(SecurityRules.Flatten)));
        var policy = SecurityRules.Resources(Raw(env), "AWS::SNS::TopicPolicy").Single().Resource.ToJsonString();
        Assert.Contains("aws:SecureTransport", policy);
    }

    [Fact]
    public void AlarmEmails_EachBecomesAnEmailSubscription()
    {
        var withEmails = SynthesizedEnvironment.Create("dev", synth.Assets, context =>
            context["environments"]!["dev"]!["alarmEmails"] = new JsonArray("ops@example.com", "ml@example.com"));

        var subscriptions = SecurityRules.Resources(withEmails.RawTemplates["EdgeLabeling-dev-Labeling"], "AWS::SNS::Subscription")
            .Select(s => (s.Resource["Properties"]!["Protocol"]!.GetValue<string>(), s.Resource["Properties"]!["Endpoint"]!.GetValue<string>()))
            .Order()
            .ToList();
        Assert.Equal([("email", "ml@example.com"), ("email", "ops@example.com")], subscriptions);
    }

    [Fact]
    public void LabelingMetrics_DimensionValues_MatchTheBatchPlannerDecisions()
    {
        Assert.Equal(BatchDecisions.Deferred, LabelingMetrics.DeferredDecision);
        Assert.Equal(BatchDecisions.BudgetExhausted, LabelingMetrics.BudgetExhaustedReason);
        Assert.Equal(BatchPlanner.OldestPendingAgeMetric, LabelingMetrics.OldestPendingAgeMinutes);
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void JobsFailedAlarm_WatchesTheMergesEmfMetricNotALogPhrase(string env)
    {
        // The merge emits the metric itself (EMF), so no metric filter depends on the wording of a log line.
        Assert.Equal(EdgeLabeling.Labeling.Merge.DatasetMerger.JobsFailedMetric, LabelingMetrics.JobsFailed);
        synth.Environments[env].Labeling.ResourceCountIs("AWS::Logs::MetricFilter", 0);
        synth.Environments[env].Labeling.HasResourceProperties("AWS::CloudWatch::Alarm", Match.ObjectLike(Obj(
            ("MetricName", LabelingMetrics.JobsFailed), ("Namespace", LabelingMetrics.Namespace), ("Statistic", "Sum"), ("Threshold", 1))));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void Dashboard_IsNamedAfterTheEnvironment(string env)
    {
        synth.Environments[env].Labeling.HasResourceProperties("AWS::CloudWatch::Dashboard", Match.ObjectLike(Obj(("DashboardName", $"EdgeLabeling-{env}"))));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void LogGroups_UseConfiguredRetention(string env)
    {
        var groups = SecurityRules.Resources(Raw(env), "AWS::Logs::LogGroup").ToList();

        Assert.Equal(3, groups.Count);
        Assert.All(groups, g => Assert.Equal(synth.Environments[env].Config.LogRetentionDays, g.Resource["Properties"]!["RetentionInDays"]!.GetValue<int>()));
    }
}
