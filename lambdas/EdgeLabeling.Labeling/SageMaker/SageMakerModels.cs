using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeLabeling.Labeling.SageMaker;

// Shapes of the SageMaker labeling operations, member names exactly as on the wire (awsJson 1.1).

public sealed record CreateLabelingJobRequest
{
    public string? LabelingJobName { get; init; }
    public string? LabelAttributeName { get; init; }
    public LabelingJobInputConfig? InputConfig { get; init; }
    public LabelingJobOutputConfig? OutputConfig { get; init; }
    public string? RoleArn { get; init; }
    public string? LabelCategoryConfigS3Uri { get; init; }
    public LabelingJobStoppingConditions? StoppingConditions { get; init; }
    public JsonElement? LabelingJobAlgorithmsConfig { get; init; }
    public HumanTaskConfig? HumanTaskConfig { get; init; }
    public List<SageMakerTag>? Tags { get; init; }
}

public sealed record LabelingJobInputConfig
{
    public LabelingJobDataSource? DataSource { get; init; }
    public LabelingJobDataAttributes? DataAttributes { get; init; }
}

public sealed record LabelingJobDataSource
{
    public LabelingJobS3DataSource? S3DataSource { get; init; }
    public LabelingJobSnsDataSource? SnsDataSource { get; init; }
}

public sealed record LabelingJobS3DataSource
{
    public string? ManifestS3Uri { get; init; }
}

public sealed record LabelingJobSnsDataSource
{
    public string? SnsTopicArn { get; init; }
}

public sealed record LabelingJobDataAttributes
{
    public List<string>? ContentClassifiers { get; init; }
}

public sealed record LabelingJobOutputConfig
{
    public string? S3OutputPath { get; init; }
    public string? KmsKeyId { get; init; }
    public string? SnsTopicArn { get; init; }
}

public sealed record LabelingJobStoppingConditions
{
    public int? MaxHumanLabeledObjectCount { get; init; }
    public int? MaxPercentageOfInputDatasetLabeled { get; init; }
}

public sealed record HumanTaskConfig
{
    public string? WorkteamArn { get; init; }
    public UiConfig? UiConfig { get; init; }
    public string? PreHumanTaskLambdaArn { get; init; }
    public List<string>? TaskKeywords { get; init; }
    public string? TaskTitle { get; init; }
    public string? TaskDescription { get; init; }
    public int? NumberOfHumanWorkersPerDataObject { get; init; }
    public int? TaskTimeLimitInSeconds { get; init; }
    public int? TaskAvailabilityLifetimeInSeconds { get; init; }
    public int? MaxConcurrentTaskCount { get; init; }
    public AnnotationConsolidationConfig? AnnotationConsolidationConfig { get; init; }
    public JsonElement? PublicWorkforceTaskPrice { get; init; }
}

public sealed record UiConfig
{
    public string? UiTemplateS3Uri { get; init; }
    public string? HumanTaskUiArn { get; init; }
}

public sealed record AnnotationConsolidationConfig
{
    public string? AnnotationConsolidationLambdaArn { get; init; }
}

public sealed record SageMakerTag
{
    public required string Key { get; init; }
    public required string Value { get; init; }
}

public sealed record CreateLabelingJobResponse
{
    public string? LabelingJobArn { get; init; }
}

public sealed record LabelingJobNameRequest
{
    public required string LabelingJobName { get; init; }
}

public sealed record LabelCounters
{
    public int? TotalLabeled { get; init; }
    public int? HumanLabeled { get; init; }
    public int? MachineLabeled { get; init; }
    public int? FailedNonRetryableError { get; init; }
    public int? Unlabeled { get; init; }
}

public sealed record LabelingJobOutput
{
    public string? OutputDatasetS3Uri { get; init; }
    public string? FinalActiveLearningModelArn { get; init; }
}

public sealed record DescribeLabelingJobResponse
{
    public string? LabelingJobStatus { get; init; }
    public LabelCounters? LabelCounters { get; init; }
    public string? FailureReason { get; init; }
    [JsonConverter(typeof(EpochSecondsConverter))] public DateTimeOffset? CreationTime { get; init; }
    [JsonConverter(typeof(EpochSecondsConverter))] public DateTimeOffset? LastModifiedTime { get; init; }
    public string? JobReferenceCode { get; init; }
    public string? LabelingJobName { get; init; }
    public string? LabelingJobArn { get; init; }
    public string? LabelAttributeName { get; init; }
    public LabelingJobInputConfig? InputConfig { get; init; }
    public LabelingJobOutputConfig? OutputConfig { get; init; }
    public string? RoleArn { get; init; }
    public string? LabelCategoryConfigS3Uri { get; init; }
    public LabelingJobStoppingConditions? StoppingConditions { get; init; }
    public HumanTaskConfig? HumanTaskConfig { get; init; }
    public List<SageMakerTag>? Tags { get; init; }
    public LabelingJobOutput? LabelingJobOutput { get; init; }
}

public sealed record ListLabelingJobsRequest
{
    [JsonConverter(typeof(EpochSecondsConverter))] public DateTimeOffset? CreationTimeAfter { get; init; }
    [JsonConverter(typeof(EpochSecondsConverter))] public DateTimeOffset? CreationTimeBefore { get; init; }
    [JsonConverter(typeof(EpochSecondsConverter))] public DateTimeOffset? LastModifiedTimeAfter { get; init; }
    [JsonConverter(typeof(EpochSecondsConverter))] public DateTimeOffset? LastModifiedTimeBefore { get; init; }
    public int? MaxResults { get; init; }
    public string? NextToken { get; init; }
    public string? NameContains { get; init; }

    /// <summary>Name | CreationTime | Status.</summary>
    public string? SortBy { get; init; }

    /// <summary>Ascending (the service default) | Descending.</summary>
    public string? SortOrder { get; init; }

    /// <summary>Initializing | InProgress | Completed | Failed | Stopping | Stopped.</summary>
    public string? StatusEquals { get; init; }
}

public sealed record LabelingJobSummary
{
    public string? LabelingJobName { get; init; }
    public string? LabelingJobArn { get; init; }
    [JsonConverter(typeof(EpochSecondsConverter))] public DateTimeOffset? CreationTime { get; init; }
    [JsonConverter(typeof(EpochSecondsConverter))] public DateTimeOffset? LastModifiedTime { get; init; }
    public string? LabelingJobStatus { get; init; }
    public LabelCounters? LabelCounters { get; init; }
    public string? WorkteamArn { get; init; }
    public string? PreHumanTaskLambdaArn { get; init; }
    public string? AnnotationConsolidationLambdaArn { get; init; }
    public string? FailureReason { get; init; }
    public LabelingJobOutput? LabelingJobOutput { get; init; }
    public LabelingJobInputConfig? InputConfig { get; init; }
}

public sealed record ListLabelingJobsResponse
{
    public List<LabelingJobSummary>? LabelingJobSummaryList { get; init; }
    public string? NextToken { get; init; }
}

/// <summary>The awsJson 1.1 error body: <c>{"__type": "...#Code", "Message": "..."}</c>.</summary>
public sealed record SageMakerErrorBody
{
    [JsonPropertyName("__type")] public string? Type { get; init; }
    [JsonPropertyName("Message")] public string? Message { get; init; }
    [JsonPropertyName("message")] public string? LowerMessage { get; init; }
}

/// <summary>The json protocol sends timestamps as epoch seconds (a JSON number, possibly fractional).</summary>
public sealed class EpochSecondsConverter : JsonConverter<DateTimeOffset?>
{
    public override DateTimeOffset? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        return reader.TokenType switch
        {
            JsonTokenType.Null => null,
            JsonTokenType.Number => DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(reader.GetDouble() * 1000)),
            // Some tools (and the docs' examples) print ISO strings; accept them rather than fail a describe.
            JsonTokenType.String => DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
            _ => throw new JsonException($"timestamp must be epoch seconds, got {reader.TokenType}"),
        };
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset? value, JsonSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNullValue();
            return;
        }

        writer.WriteNumberValue(value.Value.ToUnixTimeMilliseconds() / 1000m);
    }
}
