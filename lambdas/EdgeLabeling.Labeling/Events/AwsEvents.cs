using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeLabeling.Labeling.Events;

/// <summary>The event Lambda receives from an SQS event source mapping.</summary>
public sealed record SqsEvent
{
    [JsonPropertyName("Records")] public List<SqsMessage>? Records { get; init; }
}

/// <summary>One SQS message; <see cref="Body"/> carries the S3 notification as a JSON string.</summary>
public sealed record SqsMessage
{
    [JsonPropertyName("messageId")] public string? MessageId { get; init; }
    [JsonPropertyName("receiptHandle")] public string? ReceiptHandle { get; init; }
    [JsonPropertyName("body")] public string? Body { get; init; }
    [JsonPropertyName("attributes")] public Dictionary<string, string>? Attributes { get; init; }
    [JsonPropertyName("md5OfBody")] public string? Md5OfBody { get; init; }
    [JsonPropertyName("eventSource")] public string? EventSource { get; init; }
    [JsonPropertyName("eventSourceARN")] public string? EventSourceArn { get; init; }
    [JsonPropertyName("awsRegion")] public string? AwsRegion { get; init; }
}

/// <summary>
/// An S3 event notification. Real notifications have <see cref="Records"/>; the configuration test
/// message (<c>"Event":"s3:TestEvent"</c>) has none, only the Service/Event/Time/Bucket fields.
/// </summary>
public sealed record S3EventNotification
{
    [JsonPropertyName("Records")] public List<S3EventRecord>? Records { get; init; }
    [JsonPropertyName("Service")] public string? Service { get; init; }
    [JsonPropertyName("Event")] public string? Event { get; init; }
    [JsonPropertyName("Time")] public string? Time { get; init; }
    [JsonPropertyName("Bucket")] public string? Bucket { get; init; }
    [JsonPropertyName("RequestId")] public string? RequestId { get; init; }
    [JsonPropertyName("HostId")] public string? HostId { get; init; }
}

public sealed record S3EventRecord
{
    [JsonPropertyName("eventVersion")] public string? EventVersion { get; init; }
    [JsonPropertyName("eventSource")] public string? EventSource { get; init; }
    [JsonPropertyName("awsRegion")] public string? AwsRegion { get; init; }
    [JsonPropertyName("eventTime")] public string? EventTime { get; init; }

    /// <summary>For example <c>ObjectCreated:Put</c> — without the <c>s3:</c> prefix used in configurations.</summary>
    [JsonPropertyName("eventName")] public string? EventName { get; init; }
    [JsonPropertyName("userIdentity")] public S3Identity? UserIdentity { get; init; }
    [JsonPropertyName("requestParameters")] public Dictionary<string, string>? RequestParameters { get; init; }
    [JsonPropertyName("responseElements")] public Dictionary<string, string>? ResponseElements { get; init; }
    [JsonPropertyName("s3")] public S3Entity? S3 { get; init; }
}

public sealed record S3Identity
{
    [JsonPropertyName("principalId")] public string? PrincipalId { get; init; }
}

public sealed record S3Entity
{
    [JsonPropertyName("s3SchemaVersion")] public string? SchemaVersion { get; init; }
    [JsonPropertyName("configurationId")] public string? ConfigurationId { get; init; }
    [JsonPropertyName("bucket")] public S3BucketEntity? Bucket { get; init; }
    [JsonPropertyName("object")] public S3ObjectEntity? Object { get; init; }
}

public sealed record S3BucketEntity
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("ownerIdentity")] public S3Identity? OwnerIdentity { get; init; }
    [JsonPropertyName("arn")] public string? Arn { get; init; }
}

public sealed record S3ObjectEntity
{
    /// <summary>Form-URL-encoded key (<c>+</c> is a space); decode with <see cref="S3KeyDecoder"/>.</summary>
    [JsonPropertyName("key")] public string? Key { get; init; }
    [JsonPropertyName("size")] public long? Size { get; init; }
    [JsonPropertyName("eTag")] public string? ETag { get; init; }
    [JsonPropertyName("versionId")] public string? VersionId { get; init; }
    [JsonPropertyName("sequencer")] public string? Sequencer { get; init; }
}

/// <summary>An EventBridge event: the scheduled batch trigger or a Ground Truth job state change.</summary>
public sealed record EventBridgeEvent
{
    public const string ScheduledEventType = "Scheduled Event";
    public const string LabelingJobStateChangeType = "SageMaker Ground Truth Labeling Job State Change";
    public const string SageMakerSource = "aws.sagemaker";

    [JsonPropertyName("version")] public string? Version { get; init; }
    [JsonPropertyName("id")] public string? Id { get; init; }
    [JsonPropertyName("detail-type")] public string? DetailType { get; init; }
    [JsonPropertyName("source")] public string? Source { get; init; }
    [JsonPropertyName("account")] public string? Account { get; init; }
    [JsonPropertyName("time")] public DateTimeOffset? Time { get; init; }
    [JsonPropertyName("region")] public string? Region { get; init; }
    [JsonPropertyName("resources")] public List<string>? Resources { get; init; }
    [JsonPropertyName("detail")] public JsonElement? Detail { get; init; }

    /// <summary>The event as EventBridge delivers it to a target.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, LabelingJsonContext.Default.EventBridgeEvent);
}

/// <summary>The <c>detail</c> of a Ground Truth labeling job state change.</summary>
public sealed record LabelingJobStateDetail
{
    [JsonPropertyName("LabelingJobStatus")] public string? LabelingJobStatus { get; init; }
}

/// <summary>
/// What the batch handler accepts: a scheduled EventBridge event, or a direct invocation
/// (<c>{"flush": true}</c> plans even below the thresholds; <c>now</c> overrides the clock for replays).
/// </summary>
public sealed record BatchTrigger
{
    [JsonPropertyName("detail-type")] public string? DetailType { get; init; }
    [JsonPropertyName("source")] public string? Source { get; init; }
    [JsonPropertyName("time")] public DateTimeOffset? Time { get; init; }
    [JsonPropertyName("flush")] public bool Flush { get; init; }
    [JsonPropertyName("now")] public DateTimeOffset? Now { get; init; }
}

/// <summary>The SQS partial-batch response: only the listed messages are retried.</summary>
public sealed record SqsBatchResponse
{
    [JsonPropertyName("batchItemFailures")] public List<SqsBatchItemFailure> BatchItemFailures { get; init; } = [];
}

public sealed record SqsBatchItemFailure
{
    [JsonPropertyName("itemIdentifier")] public required string ItemIdentifier { get; init; }
}
