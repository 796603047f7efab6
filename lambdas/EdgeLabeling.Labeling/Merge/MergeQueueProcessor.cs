using System.Text;
using System.Text.Json;
using EdgeLabeling.Labeling.Events;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>What one SQS batch of state-change events did: the partial-batch response and each merge's result.</summary>
public sealed record MergeBatchResult(SqsBatchResponse Response, IReadOnlyList<MergeResult> Results);

/// <summary>
/// Merges the job state-change events EventBridge put into the merge queue (each SQS message body is one
/// EventBridge event). A message whose merge cannot finish yet (the output is not readable, a transient
/// S3, DynamoDB or SageMaker error) is reported in <c>batchItemFailures</c>, so SQS delivers it again after
/// the queue's visibility timeout while the rest of the batch is deleted; only after the queue's
/// maxReceiveCount does it reach the dead-letter queue. Events that can never be merged (not a job state
/// change) and events of other people's jobs are answered, not retried.
/// </summary>
public sealed class MergeQueueProcessor(DatasetMerger merger, ILabelingMetrics? metrics = null, ILogger<MergeQueueProcessor>? logger = null)
{
    /// <summary>EMF metric (dimension Reason): deliveries that will be retried (Reason output-not-ready or error).</summary>
    public const string DeferredMetric = "MergeEventsDeferred";

    private readonly ILogger _logger = logger ?? NullLogger<MergeQueueProcessor>.Instance;
    private readonly ILabelingMetrics _metrics = metrics ?? NullLabelingMetrics.Instance;

    /// <summary>Parses the Lambda SQS event and merges each message.</summary>
    /// <exception cref="FormatException">The payload is not an SQS event, or a message has no messageId (the whole batch is retried).</exception>
    public async Task<MergeBatchResult> ProcessAsync(ReadOnlyMemory<byte> sqsEventJson, CancellationToken cancellationToken = default)
    {
        SqsEvent? sqs;
        try
        {
            sqs = JsonSerializer.Deserialize(sqsEventJson.Span, LabelingJsonContext.Default.SqsEvent);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"merge-input-not-sqs: the merge handler takes the SQS event of its queue ({ex.Message})", ex);
        }

        if (sqs?.Records is null)
        {
            throw new FormatException("merge-input-not-sqs: the payload has no Records; the merge handler takes the SQS event of its queue");
        }

        return await ProcessAsync(sqs, cancellationToken).ConfigureAwait(false);
    }

    public async Task<MergeBatchResult> ProcessAsync(SqsEvent sqs, CancellationToken cancellationToken = default)
    {
        var failures = new List<SqsBatchItemFailure>();
        var results = new List<MergeResult>();
        foreach (var message in sqs.Records ?? [])
        {
            var id = message.MessageId is { Length: > 0 } m
                ? m
                : throw new FormatException("merge-input-not-sqs: a record has no messageId, so it cannot be reported for redelivery");
            try
            {
                results.Add(await merger.MergeAsync(Encoding.UTF8.GetBytes(message.Body ?? ""), cancellationToken).ConfigureAwait(false));
            }
            catch (JobOutputNotReadyException ex)
            {
                _logger.LogInformation("Message {MessageId}: {Detail}; it will be delivered again", id, ex.Message);
                _metrics.Emit(DeferredMetric, 1, "Count", new Dictionary<string, string> { ["Reason"] = "output-not-ready" }, new Dictionary<string, string> { ["Detail"] = ex.Message });
                failures.Add(new SqsBatchItemFailure { ItemIdentifier = id });
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _logger.LogWarning(ex, "Message {MessageId}: merge failed; it will be delivered again", id);
                _metrics.Emit(DeferredMetric, 1, "Count", new Dictionary<string, string> { ["Reason"] = "error" }, new Dictionary<string, string> { ["Detail"] = $"{ex.GetType().Name}: {ex.Message}" });
                failures.Add(new SqsBatchItemFailure { ItemIdentifier = id });
            }
        }

        return new MergeBatchResult(new SqsBatchResponse { BatchItemFailures = failures }, results);
    }
}
