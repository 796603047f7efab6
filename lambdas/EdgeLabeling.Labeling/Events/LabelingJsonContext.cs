using System.Text.Json.Serialization;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Labeling.SageMaker;

namespace EdgeLabeling.Labeling;

/// <summary>Source-generated serialization for every event, store payload and SageMaker shape of the labeling core.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SqsEvent))]
[JsonSerializable(typeof(S3EventNotification))]
[JsonSerializable(typeof(EventBridgeEvent))]
[JsonSerializable(typeof(LabelingJobStateDetail))]
[JsonSerializable(typeof(BatchTrigger))]
[JsonSerializable(typeof(SqsBatchResponse))]
[JsonSerializable(typeof(PendingPayload))]
[JsonSerializable(typeof(CreateLabelingJobRequest))]
[JsonSerializable(typeof(CreateLabelingJobResponse))]
[JsonSerializable(typeof(LabelingJobNameRequest))]
[JsonSerializable(typeof(DescribeLabelingJobResponse))]
[JsonSerializable(typeof(ListLabelingJobsRequest))]
[JsonSerializable(typeof(ListLabelingJobsResponse))]
[JsonSerializable(typeof(SageMakerErrorBody))]
[JsonSerializable(typeof(Batching.BatchRunReport))]
[JsonSerializable(typeof(Ingest.IngestReport))]
public partial class LabelingJsonContext : JsonSerializerContext;
