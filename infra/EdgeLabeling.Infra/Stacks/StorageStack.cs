using Amazon.CDK;
using Amazon.CDK.AWS.DynamoDB;
using Amazon.CDK.AWS.KMS;
using Amazon.CDK.AWS.S3;
using Constructs;
using EdgeLabeling.Infra.Configuration;

namespace EdgeLabeling.Infra.Stacks;

/// <summary>Inputs of <see cref="StorageStack"/>.</summary>
public sealed record StorageStackProps
{
    /// <summary>Environment settings (removal policy, retention, table keys).</summary>
    public required EnvironmentConfig Config { get; init; }

    /// <summary>Stack-level CloudFormation settings (env, termination protection).</summary>
    public required IStackProps StackProps { get; init; }
}

/// <summary>
/// The stateful half of EdgeLabeling: the KMS key, the incoming and labeling-data buckets, the
/// access-log bucket and the pending-item table. Its resources keep fixed logical ids (pinned by
/// tests) so that refactoring the CDK code can never replace a bucket or the table.
/// </summary>
public sealed class StorageStack : Stack
{
    /// <summary>Logical ids of the stateful resources; changing one replaces the resource on deploy.</summary>
    public static class LogicalIds
    {
        /// <summary>Customer-managed key for buckets and table.</summary>
        public const string DataKey = "DataKey";

        /// <summary>Device uploads (images, sidecars, auto-label batches).</summary>
        public const string IncomingBucket = "IncomingBucket";

        /// <summary>Job inputs/outputs and the merged dataset.</summary>
        public const string LabelingDataBucket = "LabelingDataBucket";

        /// <summary>S3 server access logs of the two data buckets.</summary>
        public const string AccessLogsBucket = "AccessLogsBucket";

        /// <summary>Bucket holding every released Greengrass component version's artifacts.</summary>
        public const string ComponentArtifactsBucket = "ComponentArtifactsBucket";

        /// <summary>Pending-item table.</summary>
        public const string PendingItemsTable = "PendingItemsTable";

        /// <summary>Jobs and tasks of the built-in labeling backend (labeling.backend builtin only).</summary>
        public const string ReviewTasksTable = "ReviewTasksTable";
    }

    /// <summary>The review task table's index of open tasks (DynamoDbReviewTaskStore.OpenIndex).</summary>
    public const string ReviewOpenIndexName = "open";

    /// <summary>Sparse status index: pending items, half pairs and open batches (keys only).</summary>
    public const string StatusIndexName = "gsi1";

    /// <summary>Items of one batch (all attributes).</summary>
    public const string BatchIndexName = "batch";

    /// <summary>
    /// The CORS rule Ground Truth requires on every bucket whose images workers open: any origin, GET,
    /// and the Access-Control-Allow-Origin header exposed (SageMaker developer guide, sms-cors-update).
    /// </summary>
    public static CorsRule GroundTruthImageCors { get; } = new()
    {
        AllowedOrigins = ["*"],
        AllowedMethods = [HttpMethods.GET],
        ExposedHeaders = ["Access-Control-Allow-Origin"],
    };

    /// <summary>Creates the stack.</summary>
    public StorageStack(Construct scope, string id, StorageStackProps props)
        : base(scope, id, props.StackProps)
    {
        var config = props.Config;
        var removal = config.DestroyOnRemoval ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

        var key = new Key(this, "DataKey", new KeyProps
        {
            Description = $"EdgeLabeling {config.Name}: images, labels and pending items",
            EnableKeyRotation = true,
            RemovalPolicy = removal,
            // A pending deletion window gives a chance to cancel an accidental key deletion.
            PendingWindow = Duration.Days(config.DestroyOnRemoval ? 7 : 30),
        });
        Pin(key, LogicalIds.DataKey);
        DataKey = key;

        // Server access logs cannot be delivered to an SSE-KMS bucket, so this one uses S3-managed keys.
        var logs = new Bucket(this, "AccessLogsBucket", new BucketProps
        {
            Encryption = BucketEncryption.S3_MANAGED,
            BlockPublicAccess = BlockPublicAccess.BLOCK_ALL,
            EnforceSSL = true,
            Versioned = true,
            ObjectOwnership = ObjectOwnership.BUCKET_OWNER_ENFORCED,
            RemovalPolicy = removal,
            AutoDeleteObjects = config.DestroyOnRemoval,
            LifecycleRules =
            [
                new LifecycleRule
                {
                    Id = "expire-access-logs",
                    Expiration = Duration.Days(365),
                    NoncurrentVersionExpiration = Duration.Days(config.NoncurrentVersionExpirationDays),
                },
            ],
        });
        Pin(logs, LogicalIds.AccessLogsBucket);
        AccessLogsBucket = logs;

        var incoming = new Bucket(this, "IncomingBucket", new BucketProps
        {
            Encryption = BucketEncryption.KMS,
            EncryptionKey = key,
            // Bucket keys cut KMS request costs for ~20K small images by caching a data key per bucket.
            BucketKeyEnabled = true,
            BlockPublicAccess = BlockPublicAccess.BLOCK_ALL,
            EnforceSSL = true,
            Versioned = true,
            ObjectOwnership = ObjectOwnership.BUCKET_OWNER_ENFORCED,
            ServerAccessLogsBucket = logs,
            ServerAccessLogsPrefix = "incoming/",
            RemovalPolicy = removal,
            AutoDeleteObjects = config.DestroyOnRemoval,
            // Workers' browsers load the review images from this bucket with presigned URLs (the bucket
            // stays private). Ground Truth documents exactly this rule ("CORS Requirement for Input Image
            // Data"); the worker page's origin is not documented, so a narrower origin is a guess.
            Cors = [GroundTruthImageCors],
            LifecycleRules =
            [
                new LifecycleRule
                {
                    Id = "incoming-to-infrequent-access",
                    Prefix = "incoming/",
                    Transitions =
                    [
                        new Transition
                        {
                            StorageClass = StorageClass.INFREQUENT_ACCESS,
                            TransitionAfter = Duration.Days(config.IncomingInfrequentAccessDays),
                        },
                    ],
                },
                new LifecycleRule
                {
                    Id = "expire-noncurrent-versions",
                    NoncurrentVersionExpiration = Duration.Days(config.NoncurrentVersionExpirationDays),
                    AbortIncompleteMultipartUploadAfter = Duration.Days(7),
                },
            ],
        });
        Pin(incoming, LogicalIds.IncomingBucket);
        IncomingBucket = incoming;

        var data = new Bucket(this, "LabelingDataBucket", new BucketProps
        {
            Encryption = BucketEncryption.KMS,
            EncryptionKey = key,
            BucketKeyEnabled = true,
            BlockPublicAccess = BlockPublicAccess.BLOCK_ALL,
            EnforceSSL = true,
            Versioned = true,
            ObjectOwnership = ObjectOwnership.BUCKET_OWNER_ENFORCED,
            ServerAccessLogsBucket = logs,
            ServerAccessLogsPrefix = "labeling-data/",
            RemovalPolicy = removal,
            AutoDeleteObjects = config.DestroyOnRemoval,
            LifecycleRules =
            [
                new LifecycleRule
                {
                    Id = "expire-noncurrent-versions",
                    NoncurrentVersionExpiration = Duration.Days(config.NoncurrentVersionExpirationDays),
                    AbortIncompleteMultipartUploadAfter = Duration.Days(7),
                },
            ],
        });
        Pin(data, LogicalIds.LabelingDataBucket);
        LabelingDataBucket = data;

        var table = new Table(this, "PendingItemsTable", new TableProps
        {
            PartitionKey = new Amazon.CDK.AWS.DynamoDB.Attribute { Name = config.Table.PartitionKey, Type = AttributeType.STRING },
            SortKey = config.Table.SortKey is { } sortKey ? new Amazon.CDK.AWS.DynamoDB.Attribute { Name = sortKey, Type = AttributeType.STRING } : null,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            Encryption = TableEncryption.CUSTOMER_MANAGED,
            EncryptionKey = key,
            PointInTimeRecovery = true,
            DeletionProtection = !config.DestroyOnRemoval,
            RemovalPolicy = removal,
        });
        // The two indexes the DynamoDB pending store queries (DynamoDbPendingStore.StatusIndex/BatchIndex).
        table.AddGlobalSecondaryIndex(new GlobalSecondaryIndexProps
        {
            IndexName = StatusIndexName,
            PartitionKey = new Amazon.CDK.AWS.DynamoDB.Attribute { Name = "gsi1pk", Type = AttributeType.STRING },
            SortKey = new Amazon.CDK.AWS.DynamoDB.Attribute { Name = "gsi1sk", Type = AttributeType.STRING },
            ProjectionType = ProjectionType.KEYS_ONLY,
        });
        table.AddGlobalSecondaryIndex(new GlobalSecondaryIndexProps
        {
            IndexName = BatchIndexName,
            PartitionKey = new Amazon.CDK.AWS.DynamoDB.Attribute { Name = "itemBatchId", Type = AttributeType.STRING },
            ProjectionType = ProjectionType.ALL,
        });
        Pin(table, LogicalIds.PendingItemsTable);
        PendingItemsTable = table;

        // Component artifacts live here rather than in the CDK asset bucket: every released version must stay
        // downloadable (a new device in a fleet held on an older version, a rollback), and the asset bucket is
        // for CDK to clean up. Versioned, so an artifact overwritten by mistake can be restored.
        var artifacts = new Bucket(this, "ComponentArtifactsBucket", new BucketProps
        {
            // S3-managed keys: the nucleus downloads with the token-exchange role, which then needs no KMS grant.
            Encryption = BucketEncryption.S3_MANAGED,
            BlockPublicAccess = BlockPublicAccess.BLOCK_ALL,
            EnforceSSL = true,
            Versioned = true,
            ObjectOwnership = ObjectOwnership.BUCKET_OWNER_ENFORCED,
            ServerAccessLogsBucket = logs,
            ServerAccessLogsPrefix = "component-artifacts/",
            RemovalPolicy = removal,
            AutoDeleteObjects = config.DestroyOnRemoval,
            LifecycleRules =
            [
                new LifecycleRule
                {
                    // Only replaced (noncurrent) copies expire; current artifacts stay for as long as the bucket does.
                    Id = "expire-replaced-artifacts",
                    NoncurrentVersionExpiration = Duration.Days(config.NoncurrentVersionExpirationDays),
                },
            ],
        });
        Pin(artifacts, LogicalIds.ComponentArtifactsBucket);
        ComponentArtifactsBucket = artifacts;

        if (config.Labeling.IsBuiltIn)
        {
            // The schema DynamoDbReviewTaskStore uses (its TableDefinition): pk/sk, and the sparse "open" index of
            // tasks still pending or leased, keyed by job and lease expiry, projecting the lease owner.
            var reviewTable = new Table(this, "ReviewTasksTable", new TableProps
            {
                PartitionKey = new Amazon.CDK.AWS.DynamoDB.Attribute { Name = "pk", Type = AttributeType.STRING },
                SortKey = new Amazon.CDK.AWS.DynamoDB.Attribute { Name = "sk", Type = AttributeType.STRING },
                BillingMode = BillingMode.PAY_PER_REQUEST,
                Encryption = TableEncryption.CUSTOMER_MANAGED,
                EncryptionKey = key,
                PointInTimeRecovery = true,
                DeletionProtection = !config.DestroyOnRemoval,
                RemovalPolicy = removal,
            });
            reviewTable.AddGlobalSecondaryIndex(new GlobalSecondaryIndexProps
            {
                IndexName = ReviewOpenIndexName,
                PartitionKey = new Amazon.CDK.AWS.DynamoDB.Attribute { Name = "openJob", Type = AttributeType.STRING },
                SortKey = new Amazon.CDK.AWS.DynamoDB.Attribute { Name = "openAt", Type = AttributeType.NUMBER },
                ProjectionType = ProjectionType.INCLUDE,
                NonKeyAttributes = ["owner"],
            });
            Pin(reviewTable, LogicalIds.ReviewTasksTable);
            ReviewTasksTable = reviewTable;
            new CfnOutput(this, "ReviewTasksTableName", new CfnOutputProps { Value = reviewTable.TableName });
        }

        new CfnOutput(this, "IncomingBucketName", new CfnOutputProps { Value = incoming.BucketName });
        new CfnOutput(this, "LabelingDataBucketName", new CfnOutputProps { Value = data.BucketName });
        new CfnOutput(this, "PendingItemsTableName", new CfnOutputProps { Value = table.TableName });
    }

    /// <summary>Key encrypting both data buckets and the table.</summary>
    public IKey DataKey { get; }

    /// <summary>Bucket the devices upload to (incoming/ and auto-labels/).</summary>
    public IBucket IncomingBucket { get; }

    /// <summary>Bucket for job inputs, job outputs and the merged dataset.</summary>
    public IBucket LabelingDataBucket { get; }

    /// <summary>Bucket with the Greengrass component artifacts, under <c>components/&lt;name&gt;/&lt;version&gt;/</c>.</summary>
    public IBucket ComponentArtifactsBucket { get; }

    /// <summary>Bucket receiving S3 server access logs.</summary>
    public IBucket AccessLogsBucket { get; }

    /// <summary>Pending-item table of the labeling core.</summary>
    public ITable PendingItemsTable { get; }

    /// <summary>Jobs and tasks of the built-in backend; null unless labeling.backend is builtin.</summary>
    public ITable? ReviewTasksTable { get; }

    private static void Pin(Construct construct, string logicalId)
    {
        ((CfnResource)construct.Node.DefaultChild!).OverrideLogicalId(logicalId);
    }
}
