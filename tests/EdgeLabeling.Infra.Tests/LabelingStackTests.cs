using System.Globalization;
using System.Text.Json.Nodes;
using Amazon.CDK.Assertions;
using EdgeLabeling.Contracts;
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

        foreach (var function in LambdaFunctions.DeployedWith(config.Labeling.IsBuiltIn))
        {
            synth.Environments[env].Labeling.HasResourceProperties("AWS::Lambda::Function", Match.ObjectLike(Obj(
                ("Handler", function.Handler),
                ("Runtime", "dotnet10"),
                ("Architectures", new[] { config.Lambda.Architecture }),
                ("MemorySize", config.Lambda.MemoryMb),
                ("Timeout", config.Lambda.TimeoutOf(function.Name)),
                ("TracingConfig", Obj(("Mode", "Active"))))));
        }
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void MergeFunction_HasItsOwnTimeoutAndTmpSize(string env)
    {
        var config = synth.Environments[env].Config;
        var merge = Function(env, LabelingStack.Handlers.Merge).Props;

        Assert.Equal(config.Lambda.TimeoutOf(LambdaFunctions.Merge.Name), merge["Timeout"]!.GetValue<int>());
        // A job of 100,000 objects must fit: the merge gets Lambda's maximum in every environment.
        Assert.Equal(900, merge["Timeout"]!.GetValue<int>());
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
        // The batcher builds manifests from the table and never reads the incoming bucket, so it does not get it.
        Assert.False(variables.ContainsKey("INCOMING_BUCKET"));
        Assert.Contains("IncomingBucket", SecurityRules.Flatten(Function(env, LabelingStack.Handlers.Ingest).Props["Environment"]!["Variables"]!["INCOMING_BUCKET"]));
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
    public void Dev_WorkteamCreate_DeclaresNoWorkforceBecauseTheFirstWorkteamCreatesIt()
    {
        // SageMaker API reference (Workforce) / CloudFormation AWS::SageMaker::Workforce: the private workforce
        // "is automatically created when you create your first private work team". Declaring one as well
        // would fail in a region that already has it (one per account and region).
        Assert.Empty(SecurityRules.Resources(Raw("dev"), "AWS::SageMaker::Workforce"));
        var team = SecurityRules.Resources(Raw("dev"), "AWS::SageMaker::Workteam").Single().Resource["Properties"]!;
        var cognito = team["MemberDefinitions"]!.AsArray().Single()!["CognitoMemberDefinition"]!;
        Assert.StartsWith("<Ref:", SecurityRules.Flatten(cognito["CognitoUserPool"]), StringComparison.Ordinal);
        Assert.StartsWith("<Ref:", SecurityRules.Flatten(cognito["CognitoClientId"]), StringComparison.Ordinal);
    }

    [Fact]
    public void Dev_GroundTruthAppClient_LeavesOAuthAndCallbackUrlsOutOfTheTemplate()
    {
        // The workteam's client (the review page has its own public client, see ReviewAppTests).
        var client = SecurityRules.Resources(Raw("dev"), "AWS::Cognito::UserPoolClient").Single(c => c.Id.Contains("GroundTruthClient", StringComparison.Ordinal)).Resource["Properties"]!.AsObject();

        // CloudFormation must never write the callback/sign-out URLs (nor the flows they belong to): an
        // UpdateUserPoolClient resets whatever it leaves out, so these stay with SageMaker / the operator.
        foreach (var managedElsewhere in new[] { "CallbackURLs", "LogoutURLs", "DefaultRedirectURI", "AllowedOAuthFlows", "AllowedOAuthScopes", "AllowedOAuthFlowsUserPoolClient" })
        {
            Assert.False(client.ContainsKey(managedElsewhere), $"the app client template sets {managedElsewhere}");
        }

        // Any other change to the client triggers that reset too, so its property set is pinned: changing it
        // is a deliberate decision (docs/deploy.md, private workforce).
        Assert.Equal(["GenerateSecret", "PreventUserExistenceErrors", "SupportedIdentityProviders", "UserPoolId"], client.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.True(client["GenerateSecret"]!.GetValue<bool>());
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
        Assert.Equal(6 * synth.Environments[env].Config.Lambda.TimeoutOf(LambdaFunctions.Ingest.Name), ingest["VisibilityTimeout"]!.GetValue<int>());
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

    private (string Id, JsonObject Props) Queue(string env, string idPrefix) =>
        SecurityRules.Resources(Raw(env), "AWS::SQS::Queue")
            .Where(q => q.Id.StartsWith(idPrefix, StringComparison.Ordinal))
            .Select(q => (q.Id, q.Resource["Properties"]!.AsObject()))
            .Single();

    [Theory]
    [MemberData(nameof(Envs))]
    public void JobStateRule_MatchesOnlyThisProjectsJobsAndQueuesThemForTheMerge(string env)
    {
        var config = synth.Environments[env].Config;
        var (queueId, _) = Queue(env, "MergeQueue");
        var rule = Assert.Single(SecurityRules.Resources(Raw(env), "AWS::Events::Rule"), r => r.Id.StartsWith("LabelingJobStateRule", StringComparison.Ordinal)).Resource["Properties"]!;
        var pattern = rule["EventPattern"]!;

        Assert.Equal("""["aws.sagemaker"]""", pattern["source"]!.ToJsonString());
        Assert.Equal("""["SageMaker Ground Truth Labeling Job State Change"]""", pattern["detail-type"]!.ToJsonString());
        Assert.Equal("""{"LabelingJobStatus":["Completed","Failed","Stopped"]}""", pattern["detail"]!.ToJsonString());
        // A prefix filter on resources[0], the job ARN: other teams' labeling jobs in the account never match.
        var prefix = SecurityRules.Flatten(Assert.Single(pattern["resources"]!.AsArray())!["prefix"]);
        Assert.EndsWith($":sagemaker:{config.Region}:{config.Account}:labeling-job/{config.Batch.JobNamePrefix}-", prefix);
        var target = Assert.Single(rule["Targets"]!.AsArray())!;
        Assert.Equal($"<GetAtt:{queueId}.Arn>", SecurityRules.Flatten(target["Arn"]));
        Assert.StartsWith("<GetAtt:EventTargetsDeadLetterQueue", SecurityRules.Flatten(target["DeadLetterConfig"]!["Arn"]));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void MergeQueue_RedeliversLongEnoughForLateOutputThenDeadLetters(string env)
    {
        var (mergeId, mergeProps) = Function(env, LabelingStack.Handlers.Merge);
        var (queueId, queue) = Queue(env, "MergeQueue");
        var (dlqId, _) = Queue(env, "MergeDeadLetterQueue");
        var timeout = mergeProps["Timeout"]!.GetValue<int>();

        var visibility = queue["VisibilityTimeout"]!.GetValue<int>();
        Assert.Equal(6 * timeout, visibility);
        Assert.Equal("true", SecurityRules.Flatten(queue["SqsManagedSseEnabled"]));
        Assert.Equal($"<GetAtt:{dlqId}.Arn>", SecurityRules.Flatten(queue["RedrivePolicy"]!["deadLetterTargetArn"]));
        var receives = queue["RedrivePolicy"]!["maxReceiveCount"]!.GetValue<int>();
        // Redeliveries span the window, which outlasts the merge's wait for a stopped job's output, so such an
        // event settles instead of dead-lettering.
        Assert.True(TimeSpan.FromSeconds(visibility * (receives - 1)) >= LabelingStack.MergeRedeliveryWindow);
        Assert.True(LabelingStack.MergeRedeliveryWindow > new EdgeLabeling.Labeling.Merge.MergeOptions { DataBucket = "x" }.OutputWaitLimit);

        var mapping = Assert.Single(SecurityRules.Resources(Raw(env), "AWS::Lambda::EventSourceMapping"), m => SecurityRules.Flatten(m.Resource["Properties"]!["FunctionName"]) == $"<Ref:{mergeId}>").Resource["Properties"]!;
        Assert.Equal($"<GetAtt:{queueId}.Arn>", SecurityRules.Flatten(mapping["EventSourceArn"]));
        Assert.Equal("""["ReportBatchItemFailures"]""", mapping["FunctionResponseTypes"]!.ToJsonString());
        Assert.Equal(1, mapping["BatchSize"]!.GetValue<int>());
        // No longer invoked asynchronously: no async retry settings or DLQ of its own.
        Assert.Null(mergeProps["DeadLetterConfig"]);
        Assert.DoesNotContain(SecurityRules.Resources(Raw(env), "AWS::Lambda::EventInvokeConfig"), c => SecurityRules.Flatten(c.Resource["Properties"]!["FunctionName"]) == $"<Ref:{mergeId}>");
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void Functions_GetTheJobNamePrefixAndSetAsideLimitTheRuleAndAlarmsAssume(string env)
    {
        var config = synth.Environments[env].Config;
        // The batcher names the jobs; the merge (which sets items aside) and the batcher count returns.
        var batch = Function(env, LabelingStack.Handlers.Batch).Props["Environment"]!["Variables"]!.AsObject();
        var merge = Function(env, LabelingStack.Handlers.Merge).Props["Environment"]!["Variables"]!.AsObject();

        Assert.Equal(config.Batch.JobNamePrefix, batch["JOB_NAME_PREFIX"]!.GetValue<string>());
        Assert.Equal(config.Batch.SetAsideAfterReturns.ToString(CultureInfo.InvariantCulture), merge["SET_ASIDE_AFTER_RETURNS"]!.GetValue<string>());
        Assert.Equal(config.Batch.SetAsideAfterReturns.ToString(CultureInfo.InvariantCulture), batch["SET_ASIDE_AFTER_RETURNS"]!.GetValue<string>());
        var options = EdgeLabeling.Labeling.LabelingOptions.FromDictionary(new Dictionary<string, string>
        {
            ["JOB_NAME_PREFIX"] = batch["JOB_NAME_PREFIX"]!.GetValue<string>(),
            ["SET_ASIDE_AFTER_RETURNS"] = merge["SET_ASIDE_AFTER_RETURNS"]!.GetValue<string>(),
        });
        Assert.Equal(config.Batch.SetAsideAfterReturns, options.Batching.SetAsideAfterReturns);
        Assert.StartsWith(config.Batch.JobNamePrefix + "-", EdgeLabeling.Labeling.Jobs.JobNames.ForBatch(options.Batching.JobNamePrefix, "20261126t080000-0a1b2c3d"), StringComparison.Ordinal);
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
    public void GroundTruthRole_TrustsSageMakerWithoutTheUndocumentedSourceAccountCondition(string env)
    {
        var role = SecurityRules.Resources(Raw(env), "AWS::IAM::Role").Single(r => r.Id.StartsWith("GroundTruthExecutionRole", StringComparison.Ordinal));

        // Labeling jobs are not among the features SageMaker's confused-deputy page says send
        // aws:SourceAccount/aws:SourceArn, so a condition on them could refuse every job.
        var statement = Assert.Single(role.Resource["Properties"]!["AssumeRolePolicyDocument"]!["Statement"]!.AsArray())!;
        Assert.Equal("sagemaker.amazonaws.com", SecurityRules.Flatten(statement["Principal"]!["Service"]));
        Assert.Equal("sts:AssumeRole", SecurityRules.Flatten(statement["Action"]));
        Assert.Null(statement["Condition"]);
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void GroundTruthRole_HasTheDocumentedCloudWatchPermissions(string env)
    {
        var policy = SecurityRules.Resources(Raw(env), "AWS::IAM::Policy")
            .Single(p => SecurityRules.Flatten(p.Resource["Properties"]!["Roles"]).Contains("GroundTruthExecutionRole", StringComparison.Ordinal));
        var statements = policy.Resource["Properties"]!["PolicyDocument"]!["Statement"]!.AsArray().Select(s => s!).ToList();
        IEnumerable<string> Actions(JsonNode s) => s["Action"] is JsonArray a ? a.Select(SecurityRules.Flatten) : [SecurityRules.Flatten(s["Action"])];

        // sms-security-permission-execution-role: cloudwatch:PutMetricData plus four CloudWatch Logs actions.
        var metrics = Assert.Single(statements, s => Actions(s).Contains("cloudwatch:PutMetricData"));
        Assert.Equal("*", SecurityRules.Flatten(metrics["Resource"]));
        var granted = statements.SelectMany(Actions).ToHashSet(StringComparer.Ordinal);
        Assert.Superset(new HashSet<string>(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]), granted);
        var logs = Assert.Single(statements, s => Actions(s).Contains("logs:PutLogEvents"));
        Assert.EndsWith(":log-group:/aws/sagemaker/LabelingJobs*", SecurityRules.Flatten(logs["Resource"]));
    }

    [Fact]
    public void SecurityRules_AllowListPutMetricDataOnWildcardWithAReason()
    {
        var entry = Assert.Single(SecurityRules.WildcardResourceAllowList, e => e.Actions.Contains("cloudwatch:PutMetricData"));

        Assert.Equal(["cloudwatch:PutMetricData"], entry.Actions);
        Assert.Contains("sms-security-permission-execution-role", entry.Reason);
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

        Assert.Equal(3, alarms.Count(a => a["MetricName"]?.GetValue<string>() == "ApproximateNumberOfMessagesVisible" && a["Threshold"]!.GetValue<double>() == 1));
        Assert.Equal(1, Business(LabelingMetrics.JobCreationFailures)["Threshold"]!.GetValue<double>());
        Assert.Equal("""[{"Name":"Reason","Value":"no-label-in-output"}]""", Business(LabelingMetrics.ItemsSetAside)["Dimensions"]!.ToJsonString());
        // Ingest, batch, merge, and the fleet check (FleetMonitoring).
        // Ingest, batch, merge, fleet check; with the built-in backend also the review API and the sweep.
        Assert.Equal(synth.Environments[env].Config.Labeling.IsBuiltIn ? 6 : 4, alarms.Count(a => a["MetricName"]?.GetValue<string>() == "Errors" && a["Namespace"]!.GetValue<string>() == "AWS/Lambda"));
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
    public void ProductionPrecisionAlarms_OnePerConfiguredClass_FireBelowTheTargetLowerBound(string env)
    {
        var config = synth.Environments[env].Config;
        var alarms = SecurityRules.Resources(Raw(env), "AWS::CloudWatch::Alarm").Select(a => a.Resource["Properties"]!)
            .Where(a => a["MetricName"]?.GetValue<string>() == LabelingMetrics.ProductionPrecisionLowerBound).ToList();

        Assert.NotEmpty(config.ProductionPrecision.AlarmClasses);
        var dimensions = alarms.Select(a => Assert.Single(a["Dimensions"]!.AsArray())!).ToList();
        Assert.All(dimensions, d => Assert.Equal(LabelingMetrics.ClassDimension, d["Name"]!.GetValue<string>()));
        Assert.Equal(config.ProductionPrecision.AlarmClasses.Order(StringComparer.Ordinal), dimensions.Select(d => d["Value"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(alarms, a =>
        {
            Assert.Equal(LabelingMetrics.Namespace, a["Namespace"]!.GetValue<string>());
            Assert.Equal(config.Routing.TargetPrecision * 100, a["Threshold"]!.GetValue<double>(), 6);
            Assert.Equal("LessThanThreshold", a["ComparisonOperator"]!.GetValue<string>());
            Assert.Equal("Minimum", a["Statistic"]!.GetValue<string>());
            Assert.Equal(86400, a["Period"]!.GetValue<int>());
        });
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void MergeFunction_GetsTheProductionPrecisionWindowFromConfig(string env)
    {
        var config = synth.Environments[env].Config;
        var variables = Function(env, LabelingStack.Handlers.Merge).Props["Environment"]!["Variables"]!.AsObject();

        Assert.Equal(config.ProductionPrecision.WindowDays.ToString(System.Globalization.CultureInfo.InvariantCulture), variables["PRECISION_WINDOW_DAYS"]!.GetValue<string>());
        Assert.Equal(config.ProductionPrecision.MinAuditedBoxes.ToString(System.Globalization.CultureInfo.InvariantCulture), variables["PRECISION_MIN_BOXES"]!.GetValue<string>());
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
            w => w!["properties"]!["metrics"]?.AsArray().Any(m => m!.AsArray().Count > 1 && m[1]?.GetValue<string>() == LabelingMetrics.OldestPendingAgeMinutes) == true)!;

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
    public void LabelingMetrics_JobOutcomeAlarms_WatchMetricsTheCodeEmits()
    {
        Assert.Equal(BatchPlanner.JobCreationFailuresMetric, LabelingMetrics.JobCreationFailures);
        Assert.Equal(EdgeLabeling.Labeling.Merge.DatasetMerger.ItemsSetAsideMetric, LabelingMetrics.ItemsSetAside);
        Assert.Equal(EdgeLabeling.Labeling.Merge.ReturnReasons.NoLabelInOutput, LabelingMetrics.NoLabelInOutputReason);
        Assert.True(EdgeLabeling.Labeling.Merge.ReturnReasons.CountsAgainstItem(LabelingMetrics.NoLabelInOutputReason));
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

        // Ingest, batch, merge, fleet heartbeat, fleet check.
        // One per function (five; two more with the built-in backend) plus the page deployment's.
        Assert.Equal(synth.Environments[env].Config.Labeling.IsBuiltIn ? 8 : 5, groups.Count);
        Assert.All(groups, g => Assert.Equal(synth.Environments[env].Config.LogRetentionDays, g.Resource["Properties"]!["RetentionInDays"]!.GetValue<int>()));
    }

    [Theory]
    [InlineData("linux-x64", "targets '.NETCoreApp,Version=v10.0/linux-x64'")]
    [InlineData("", "needs linux-arm64")]
    public void LambdaPackage_ForAnotherArchitectureOrPortable_StopsSynthesis(string rid, string expected)
    {
        var folder = Directory.CreateDirectory(Path.Combine(synth.Assets.Root, "lambdas-" + Guid.NewGuid().ToString("N"))).FullName;
        File.WriteAllText(Path.Combine(folder, "EdgeLabeling.Lambdas.deps.json"), TestAssets.DepsJson(rid));

        var ex = Assert.Throws<EdgeLabeling.Infra.Configuration.ConfigurationException>(() =>
            LabelingStack.CheckPackageArchitecture(folder, synth.Environments["dev"].Config));

        Assert.Contains(expected, ex.Message);
        Assert.Contains("scripts/publish-lambdas.sh --env dev", ex.Message);
    }

    [Fact]
    public void LambdaPackage_WithoutDepsFile_IsNotAPublishAndStopsSynthesis()
    {
        var folder = Directory.CreateDirectory(Path.Combine(synth.Assets.Root, "lambdas-" + Guid.NewGuid().ToString("N"))).FullName;

        var ex = Assert.Throws<EdgeLabeling.Infra.Configuration.ConfigurationException>(() =>
            LabelingStack.CheckPackageArchitecture(folder, synth.Environments["dev"].Config));

        Assert.Contains("is not a publish of lambdas/EdgeLabeling.Lambdas", ex.Message);
    }
}
