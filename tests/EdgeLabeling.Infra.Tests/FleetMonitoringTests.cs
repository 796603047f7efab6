using System.Text.Json.Nodes;
using Amazon.CDK.Assertions;
using EdgeLabeling.Contracts;
using EdgeLabeling.Infra.Stacks;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Fleet;

namespace EdgeLabeling.Infra.Tests;

[Collection(SynthCollection.Name)]
public sealed class FleetMonitoringTests(SynthFixture synth)
{
    public static TheoryData<string> Envs => new(SynthFixture.EnvironmentNames);

    private JsonObject Raw(string env) => synth.Environments[env].RawTemplates[$"EdgeLabeling-{env}-Labeling"];

    private static Dictionary<string, object> Obj(params (string Key, object Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    private (string Id, JsonObject Props) Function(string env, string handler) =>
        SecurityRules.Resources(Raw(env), "AWS::Lambda::Function")
            .Where(f => f.Resource["Properties"]!["Handler"]?.GetValue<string>() == handler)
            .Select(f => (f.Id, f.Resource["Properties"]!.AsObject()))
            .Single();

    private IEnumerable<JsonObject> FleetAlarms(string env) =>
        SecurityRules.Resources(Raw(env), "AWS::CloudWatch::Alarm")
            .Where(a => a.Id.StartsWith("Fleet", StringComparison.Ordinal))
            .Select(a => a.Resource["Properties"]!.AsObject());

    [Theory]
    [MemberData(nameof(Envs))]
    public void FleetFunctions_RunDotnet10WithFleetThresholdsFromConfig(string env)
    {
        var config = synth.Environments[env].Config;
        foreach (var handler in new[] { LambdaFunctions.FleetHeartbeat.Handler, LambdaFunctions.FleetCheck.Handler })
        {
            var (_, props) = Function(env, handler);
            Assert.Equal("dotnet10", props["Runtime"]!.GetValue<string>());
            var variables = props["Environment"]!["Variables"]!.AsObject();
            Assert.Equal(config.FleetHealth.SilentHours.ToString(System.Globalization.CultureInfo.InvariantCulture), variables["FLEET_SILENT_HOURS"]!.GetValue<string>());
            Assert.Equal(config.FleetHealth.QueueGrowingHours.ToString(System.Globalization.CultureInfo.InvariantCulture), variables["FLEET_QUEUE_GROWING_HOURS"]!.GetValue<string>());
            Assert.Equal((config.FleetHealth.MinFreeDiskMegabytes * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture), variables["FLEET_MIN_FREE_DISK_BYTES"]!.GetValue<string>());
            Assert.Contains("FleetTable", SecurityRules.Flatten(variables["FLEET_TABLE_NAME"]));
            // Nothing of the labeling settings: the fleet functions use neither the pending table nor the data bucket.
            Assert.Equal(LambdaFunctions.FleetHeartbeat.Required.Order(StringComparer.Ordinal), variables.Select(p => p.Key).Order(StringComparer.Ordinal));
        }
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void IncomingBucket_SendsOnlyHeartbeatKeysToTheHeartbeatFunction_AndImagesStillOnlyToTheIngestQueue(string env)
    {
        var (heartbeatId, _) = Function(env, LambdaFunctions.FleetHeartbeat.Handler);
        var notifications = SecurityRules.Resources(Raw(env), "Custom::S3BucketNotifications").Single().Resource["Properties"]!["NotificationConfiguration"]!;

        var lambda = notifications["LambdaFunctionConfigurations"]!.AsArray().Single()!;
        Assert.Equal(["s3:ObjectCreated:*"], lambda["Events"]!.AsArray().Select(e => e!.GetValue<string>()));
        var rules = lambda["Filter"]!["Key"]!["FilterRules"]!.AsArray()
            .ToDictionary(r => r!["Name"]!.GetValue<string>().ToLowerInvariant(), r => r!["Value"]!.GetValue<string>());
        Assert.Equal(FleetKeys.StatusPrefix, rules["prefix"]);
        Assert.Equal("/" + FleetKeys.HeartbeatFileName, rules["suffix"]);
        Assert.StartsWith($"<GetAtt:{heartbeatId}", SecurityRules.Flatten(lambda["LambdaFunctionArn"]));

        // status/ objects never reach the image ingest: its only filter is the incoming/ prefix.
        var queue = notifications["QueueConfigurations"]!.AsArray().Single()!;
        var queueRules = queue["Filter"]!["Key"]!["FilterRules"]!.AsArray();
        Assert.Equal(ObjectKeyLayout.IncomingPrefix, queueRules.Single()!["Value"]!.GetValue<string>());
        Assert.False(FleetKeys.HeartbeatKey("cam-1").StartsWith(ObjectKeyLayout.IncomingPrefix, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void HeartbeatFunction_ReadsOnlyStatusObjects_AndCheckOnlyReadsTheTable(string env)
    {
        var (_, heartbeatProps) = Function(env, LambdaFunctions.FleetHeartbeat.Handler);
        var (_, checkProps) = Function(env, LambdaFunctions.FleetCheck.Handler);
        var policies = SecurityRules.Resources(Raw(env), "AWS::IAM::Policy").Select(p => p.Resource["Properties"]!).ToList();
        JsonNode PolicyOf(JsonObject fn)
        {
            var roleId = fn["Role"]!["Fn::GetAtt"]![0]!.GetValue<string>();
            return policies.Single(p => SecurityRules.Flatten(p["Roles"]).Contains($"<Ref:{roleId}>", StringComparison.Ordinal));
        }

        var heartbeatStatements = PolicyOf(heartbeatProps)["PolicyDocument"]!["Statement"]!.AsArray();
        var s3Reads = heartbeatStatements.Where(s => SecurityRules.Flatten(s!["Action"]).Contains("s3:GetObject", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(s3Reads);
        Assert.All(s3Reads, s => Assert.All((s!["Resource"] as JsonArray ?? [s["Resource"]]).Select(SecurityRules.Flatten).Where(r => r.Contains("/", StringComparison.Ordinal)),
            r => Assert.EndsWith("/status/*", r)));

        var checkActions = PolicyOf(checkProps)["PolicyDocument"]!["Statement"]!.AsArray().Select(s => SecurityRules.Flatten(s!["Action"])).ToList();
        Assert.DoesNotContain(checkActions, a => a.Contains("dynamodb:PutItem", StringComparison.Ordinal) || a.Contains("s3:", StringComparison.Ordinal));
        Assert.Contains(checkActions, a => a.Contains("dynamodb:Scan", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void FleetTable_IsKeyedByThingAndEncryptedWithTheDataKey(string env)
    {
        var definition = DynamoDbFleetStore.TableDefinition("t");
        synth.Environments[env].Labeling.HasResourceProperties("AWS::DynamoDB::Table", Match.ObjectLike(Obj(
            ("KeySchema", new[] { Obj(("AttributeName", definition.KeySchema.Single().AttributeName), ("KeyType", "HASH")) }),
            ("BillingMode", "PAY_PER_REQUEST"),
            ("SSESpecification", Match.ObjectLike(Obj(("SSEEnabled", true), ("SSEType", "KMS")))))));
        Assert.Equal(FleetMonitoring.TablePartitionKey, definition.KeySchema.Single().AttributeName);
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void FleetAlarms_SilentQueueGrowingAndLowDisk_AlarmOnTheFleetCounts(string env)
    {
        var period = synth.Environments[env].Config.FleetHealth.CheckMinutes * 60;
        foreach (var metric in new[] { FleetMetricNames.SilentDevices, FleetMetricNames.QueueGrowingDevices, FleetMetricNames.LowDiskDevices })
        {
            synth.Environments[env].Labeling.HasResourceProperties("AWS::CloudWatch::Alarm", Match.ObjectLike(Obj(
                ("Namespace", LabelingMetrics.Namespace),
                ("MetricName", metric),
                ("Statistic", "Maximum"),
                ("Period", period),
                ("Threshold", 1),
                ("ComparisonOperator", "GreaterThanOrEqualToThreshold"),
                ("AlarmActions", Match.AnyValue()))));
        }

        var (checkId, _) = Function(env, LambdaFunctions.FleetCheck.Handler);
        synth.Environments[env].Labeling.HasResourceProperties("AWS::Events::Rule", Match.ObjectLike(Obj(
            ("ScheduleExpression", $"rate({synth.Environments[env].Config.FleetHealth.CheckMinutes} minutes)"),
            ("Targets", Match.ArrayWith([Match.ObjectLike(Obj(("Arn", Obj(("Fn::GetAtt", new[] { checkId, "Arn" })))))])))));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public async Task FleetAlarms_EveryAlarmedMetric_IsOneTheFleetCodeEmits(string env)
    {
        var emitted = await EmittedMetricNamesAsync();
        var alarmed = FleetAlarms(env).Where(a => a["Namespace"]?.GetValue<string>() == LabelingMetrics.Namespace).ToList();

        Assert.Equal(3, alarmed.Count);
        foreach (var alarm in alarmed)
        {
            var name = alarm["MetricName"]!.GetValue<string>();
            Assert.Contains(name, emitted.Keys);
            // Same dimensions too: CloudWatch treats another dimension set as another metric.
            Assert.Null(alarm["Dimensions"]);
            Assert.Contains(emitted[name], d => d.Length == 0);
        }

        // The dashboard's per-device searches use names and the dimension the code emits as well.
        foreach (var name in new[] { FleetMetricNames.DeviceQueuedItems, FleetMetricNames.DeviceFreeDiskBytes, FleetMetricNames.DeviceSilentHours })
        {
            Assert.Contains(emitted[name], d => d.SequenceEqual([FleetMetricNames.ThingDimension]));
        }
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void DevicePolicy_MayOnlyPutItsOwnHeartbeatKey(string env)
    {
        var raw = synth.Environments[env].RawTemplates[$"EdgeLabeling-{env}-EdgeFleet"];
        var statement = SecurityRules.Resources(raw, "AWS::IAM::Policy")
            .SelectMany(p => p.Resource["Properties"]!["PolicyDocument"]!["Statement"]!.AsArray())
            .Single(s => s!["Sid"]?.GetValue<string>() == "SendOwnHeartbeat")!;

        Assert.Equal("s3:PutObject", SecurityRules.Flatten(statement["Action"]));
        Assert.EndsWith("/status/${credentials-iot:ThingName}/heartbeat.json", SecurityRules.Flatten(statement["Resource"]));
        Assert.Empty(SecurityRules.DevicePoliciesScopedByThingName("fleet", raw));
    }

    /// <summary>Runs the real heartbeat ingest and fleet check and records each metric name with its dimension names.</summary>
    private static async Task<Dictionary<string, List<string[]>>> EmittedMetricNamesAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "fleet-metrics-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var store = new EdgeLabeling.Storage.FileSystemObjectStore(dir);
            var heartbeat = new FleetHeartbeat
            {
                Schema = FleetHeartbeat.CurrentSchema, ThingName = "cam-1", SentUtc = DateTimeOffset.UtcNow, Reason = "interval",
                QueueByLane = new() { ["review"] = 2 }, QueuedItems = 2, BytesSentToday = 10, DailyQuotaBytes = 0, FreeDiskBytes = 1_000_000,
                Online = true, ErrorsByKind = [],
            };
            await store.PutAsync("incoming", FleetKeys.HeartbeatKey("cam-1"), new MemoryStream(EdgeLabeling.Storage.ObjectContent.Compress(FleetHeartbeatJson.ToUtf8(heartbeat))), "application/json");
            var metrics = new RecordingMetrics();
            var fleet = new SqliteFleetStore(Path.Combine(dir, "fleet.db"));
            var ingest = new FleetHeartbeatIngest(store, fleet, new LabelingOptions { IncomingBucket = "incoming" }, metrics, TimeProvider.System);
            var outcomes = await ingest.ProcessAsync(new EdgeLabeling.Labeling.Events.S3EventNotification
            {
                Records = [new() { EventName = "ObjectCreated:Put", S3 = new() { Bucket = new() { Name = "incoming" }, Object = new() { Key = FleetKeys.HeartbeatKey("cam-1"), Size = 300 } } }],
            });
            Assert.Equal(HeartbeatReasons.Accepted, outcomes.Single().Reason);
            await new FleetCheck(fleet, new FleetOptions(), metrics, TimeProvider.System).RunAsync();
            return metrics.Names;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private sealed class RecordingMetrics : ILabelingMetrics
    {
        public Dictionary<string, List<string[]>> Names { get; } = new(StringComparer.Ordinal);

        public void Emit(string name, double value, string unit, IReadOnlyDictionary<string, string>? dimensions = null, IReadOnlyDictionary<string, string>? properties = null)
        {
            if (!Names.TryGetValue(name, out var list))
            {
                Names[name] = list = [];
            }

            list.Add(dimensions?.Keys.ToArray() ?? []);
        }
    }
}
