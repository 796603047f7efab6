using System.Text.Json.Nodes;
using Amazon.CDK.Assertions;
using EdgeLabeling.Infra.Stacks;
using EdgeLabeling.Labeling.Pending;

namespace EdgeLabeling.Infra.Tests;

[Collection(SynthCollection.Name)]
public sealed class StorageStackTests(SynthFixture synth)
{
    public static TheoryData<string> Envs => new(SynthFixture.EnvironmentNames);

    // Pinned on purpose: a changed logical id makes CloudFormation replace (delete) the resource.
    private static readonly (string Id, string Type)[] Stateful =
    [
        ("DataKey", "AWS::KMS::Key"),
        ("IncomingBucket", "AWS::S3::Bucket"),
        ("LabelingDataBucket", "AWS::S3::Bucket"),
        ("AccessLogsBucket", "AWS::S3::Bucket"),
        ("ComponentArtifactsBucket", "AWS::S3::Bucket"),
        ("PendingItemsTable", "AWS::DynamoDB::Table"),
    ];

    private JsonObject Raw(string env) => synth.Environments[env].RawTemplates[$"EdgeLabeling-{env}-Storage"];

    [Theory]
    [MemberData(nameof(Envs))]
    public void StatefulResources_KeepTheirPinnedLogicalIds(string env)
    {
        var resources = Raw(env)["Resources"]!.AsObject();

        foreach (var (id, type) in Stateful)
        {
            Assert.True(resources.ContainsKey(id), $"{env}: logical id {id} changed; CloudFormation would replace the resource");
            Assert.Equal(type, resources[id]!["Type"]!.GetValue<string>());
        }

        Assert.Equal(StorageStack.LogicalIds.IncomingBucket, "IncomingBucket");
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void ComponentArtifactsBucket_IsVersionedAndNeverExpiresCurrentArtifacts(string env)
    {
        var bucket = Raw(env)["Resources"]![StorageStack.LogicalIds.ComponentArtifactsBucket]!["Properties"]!;

        Assert.Equal("Enabled", bucket["VersioningConfiguration"]!["Status"]!.GetValue<string>());
        Assert.Equal("AES256", bucket["BucketEncryption"]!["ServerSideEncryptionConfiguration"]![0]!["ServerSideEncryptionByDefault"]!["SSEAlgorithm"]!.GetValue<string>());
        // Every released version must stay downloadable: only replaced (noncurrent) copies expire.
        var rules = bucket["LifecycleConfiguration"]!["Rules"]!.AsArray();
        Assert.All(rules, r => Assert.Null(r!["ExpirationInDays"]));
        Assert.All(rules, r => Assert.NotNull(r!["NoncurrentVersionExpiration"]));
    }

    [Fact]
    public void Prod_StatefulResources_AreRetainedAndProtected()
    {
        var resources = Raw("prod")["Resources"]!.AsObject();

        foreach (var (id, _) in Stateful)
        {
            Assert.Equal("Retain", resources[id]!["DeletionPolicy"]!.GetValue<string>());
            Assert.Equal("Retain", resources[id]!["UpdateReplacePolicy"]!.GetValue<string>());
        }

        Assert.True(synth.Environments["prod"].Stacks.Storage.TerminationProtection);
        Assert.True(synth.Environments["prod"].Stacks.Labeling.TerminationProtection);
        Assert.True(synth.Environments["prod"].Stacks.EdgeFleet.TerminationProtection);
        synth.Environments["prod"].Storage.HasResourceProperties("AWS::DynamoDB::Table", Match.ObjectLike(new Dictionary<string, object> { ["DeletionProtectionEnabled"] = true }));
        synth.Environments["prod"].Storage.ResourceCountIs("Custom::S3AutoDeleteObjects", 0);
    }

    [Fact]
    public void Dev_StatefulResources_AreDestroyedWithTheStack()
    {
        var resources = Raw("dev")["Resources"]!.AsObject();

        foreach (var (id, _) in Stateful)
        {
            Assert.Equal("Delete", resources[id]!["DeletionPolicy"]!.GetValue<string>());
        }

        Assert.False(synth.Environments["dev"].Stacks.Storage.TerminationProtection);
        synth.Environments["dev"].Storage.ResourceCountIs("Custom::S3AutoDeleteObjects", 4);
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void DataKey_RotatesAutomatically(string env)
    {
        synth.Environments[env].Storage.HasResourceProperties("AWS::KMS::Key", Match.ObjectLike(new Dictionary<string, object> { ["EnableKeyRotation"] = true }));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void DataBuckets_AreKmsEncryptedVersionedAndLogged(string env)
    {
        var resources = Raw(env)["Resources"]!.AsObject();

        foreach (var id in new[] { "IncomingBucket", "LabelingDataBucket" })
        {
            var props = resources[id]!["Properties"]!;
            var sse = props["BucketEncryption"]!["ServerSideEncryptionConfiguration"]![0]!;
            Assert.Equal("aws:kms", sse["ServerSideEncryptionByDefault"]!["SSEAlgorithm"]!.GetValue<string>());
            Assert.Equal("<GetAtt:DataKey.Arn>", SecurityRules.Flatten(sse["ServerSideEncryptionByDefault"]!["KMSMasterKeyID"]));
            Assert.True(sse["BucketKeyEnabled"]!.GetValue<bool>());
            Assert.Equal("Enabled", props["VersioningConfiguration"]!["Status"]!.GetValue<string>());
            Assert.Equal("<Ref:AccessLogsBucket>", SecurityRules.Flatten(props["LoggingConfiguration"]!["DestinationBucketName"]));
        }

        // S3 cannot deliver server access logs into an SSE-KMS bucket.
        var logsSse = resources["AccessLogsBucket"]!["Properties"]!["BucketEncryption"]!["ServerSideEncryptionConfiguration"]![0]!;
        Assert.Equal("AES256", logsSse["ServerSideEncryptionByDefault"]!["SSEAlgorithm"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void IncomingBucket_MovesUploadsToInfrequentAccessAfter30Days(string env)
    {
        var rules = Raw(env)["Resources"]!["IncomingBucket"]!["Properties"]!["LifecycleConfiguration"]!["Rules"]!.AsArray();

        var transition = rules.Single(r => r!["Prefix"]?.GetValue<string>() == "incoming/")!;
        Assert.Equal("STANDARD_IA", transition["Transitions"]![0]!["StorageClass"]!.GetValue<string>());
        Assert.Equal(30, transition["Transitions"]![0]!["TransitionInDays"]!.GetValue<int>());
        var noncurrent = rules.Single(r => r!["NoncurrentVersionExpiration"] is not null)!;
        Assert.Equal(synth.Environments[env].Config.NoncurrentVersionExpirationDays, noncurrent["NoncurrentVersionExpiration"]!["NoncurrentDays"]!.GetValue<int>());
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void IncomingBucket_CorsIsExactlyTheRuleGroundTruthDocuments(string env)
    {
        var rules = Raw(env)["Resources"]!["IncomingBucket"]!["Properties"]!["CorsConfiguration"]!["CorsRules"]!.AsArray();

        // Exactly one rule and nothing else in it: an extra origin guess or a missing exposed header
        // both fail here (sms-cors-update: origins *, method GET, expose Access-Control-Allow-Origin).
        var rule = Assert.Single(rules)!.AsObject();
        Assert.Equal(["AllowedMethods", "AllowedOrigins", "ExposedHeaders"], rule.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(["*"], rule["AllowedOrigins"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["GET"], rule["AllowedMethods"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["Access-Control-Allow-Origin"], rule["ExposedHeaders"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void Buckets_GroundTruthReadsImagesFrom_HaveTheDocumentedCorsRuleAndStayPrivate(string env)
    {
        // Workers open the images the manifests' source-refs point at: the incoming bucket. Whatever
        // bucket carries a CORS rule must carry the documented one and still block public access.
        var withCors = SecurityRules.Resources(Raw(env), "AWS::S3::Bucket")
            .Where(b => b.Resource["Properties"]?["CorsConfiguration"] is not null)
            .ToList();

        Assert.Contains(withCors, b => b.Id == StorageStack.LogicalIds.IncomingBucket);
        Assert.All(withCors, b =>
        {
            var props = b.Resource["Properties"]!;
            var rule = Assert.Single(props["CorsConfiguration"]!["CorsRules"]!.AsArray())!.AsObject();
            var flattened = rule.OrderBy(p => p.Key, StringComparer.Ordinal)
                .Select(p => $"{p.Key}={string.Join(",", p.Value!.AsArray().Select(n => n!.GetValue<string>()))}");
            Assert.Equal(["AllowedMethods=GET", "AllowedOrigins=*", "ExposedHeaders=Access-Control-Allow-Origin"], flattened);
            Assert.True(props["PublicAccessBlockConfiguration"]!["RestrictPublicBuckets"]!.GetValue<bool>());
        });
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void PendingItemsTable_HasConfiguredKeysPitrAndCustomerKey(string env)
    {
        var config = synth.Environments[env].Config;
        var props = Raw(env)["Resources"]!["PendingItemsTable"]!["Properties"]!;

        var keys = props["KeySchema"]!.AsArray().Select(k => (k!["AttributeName"]!.GetValue<string>(), k["KeyType"]!.GetValue<string>())).ToList();
        (string, string)[] expected = config.Table.SortKey is { } sk
            ? [(config.Table.PartitionKey, "HASH"), (sk, "RANGE")]
            : [(config.Table.PartitionKey, "HASH")];
        Assert.Equal(expected, keys);
        Assert.True(props["PointInTimeRecoverySpecification"]!["PointInTimeRecoveryEnabled"]!.GetValue<bool>());
        Assert.Equal("KMS", props["SSESpecification"]!["SSEType"]!.GetValue<string>());
        Assert.Equal("<GetAtt:DataKey.Arn>", SecurityRules.Flatten(props["SSESpecification"]!["KMSMasterKeyId"]));
        Assert.Equal("PAY_PER_REQUEST", props["BillingMode"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Envs))]
    public void PendingItemsTable_HasTheIndexesTheDynamoDbStoreQueries(string env)
    {
        var indexes = Raw(env)["Resources"]!["PendingItemsTable"]!["Properties"]!["GlobalSecondaryIndexes"]!.AsArray()
            .ToDictionary(i => i!["IndexName"]!.GetValue<string>(), i => i!);

        // The names the labeling core's DynamoDB adapter uses in its queries.
        Assert.Equal([DynamoDbPendingStore.StatusIndex, DynamoDbPendingStore.BatchIndex], indexes.Keys.Order(StringComparer.Ordinal).Reverse());
        var status = indexes[DynamoDbPendingStore.StatusIndex];
        Assert.Equal(["gsi1pk:HASH", "gsi1sk:RANGE"], status["KeySchema"]!.AsArray().Select(k => $"{k!["AttributeName"]}:{k["KeyType"]}"));
        Assert.Equal("KEYS_ONLY", status["Projection"]!["ProjectionType"]!.GetValue<string>());
        var batch = indexes[DynamoDbPendingStore.BatchIndex];
        Assert.Equal(["itemBatchId:HASH"], batch["KeySchema"]!.AsArray().Select(k => $"{k!["AttributeName"]}:{k["KeyType"]}"));
        Assert.Equal("ALL", batch["Projection"]!["ProjectionType"]!.GetValue<string>());
    }
}
