using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Ingest;

/// <summary>What happened to one S3 record (or to a message that held none).</summary>
public sealed record IngestOutcome(string? MessageId, string? Key, string Reason, string? Detail = null)
{
    /// <summary>True when the message must be retried (reported as a batch item failure).</summary>
    public bool Retry => Reason == IngestReasons.TransientFailure;
}

/// <summary>The result of one ingest invocation.</summary>
public sealed record IngestReport
{
    public required IReadOnlyList<IngestOutcome> Outcomes { get; init; }
    public required SqsBatchResponse Response { get; init; }

    public int Count(string reason) => Outcomes.Count(o => o.Reason == reason);
}

/// <summary>
/// Turns S3 ObjectCreated notifications (delivered through SQS) into pending items. A record that
/// can never succeed is dropped with a named reason; only transient failures (the object store or the
/// pending store erroring) make the SQS message fail so it is redelivered and eventually dead-lettered.
/// Every step is idempotent, so redelivery and S3's duplicate notifications are harmless.
/// </summary>
public sealed class IngestProcessor(IObjectStore objects, IPendingItemStore pending, LabelingOptions options, ILabelingMetrics metrics, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Processes an SQS batch; the response lists the messages to retry.</summary>
    public async Task<IngestReport> ProcessAsync(SqsEvent sqsEvent, CancellationToken cancellationToken = default)
    {
        var outcomes = new List<IngestOutcome>();
        var failures = new List<SqsBatchItemFailure>();
        foreach (var message in sqsEvent.Records ?? [])
        {
            var messageOutcomes = await ProcessMessageAsync(message, cancellationToken).ConfigureAwait(false);
            outcomes.AddRange(messageOutcomes);
            if (messageOutcomes.Any(o => o.Retry) && message.MessageId is { } id)
            {
                failures.Add(new SqsBatchItemFailure { ItemIdentifier = id });
            }
        }

        Report(outcomes);
        return new IngestReport { Outcomes = outcomes, Response = new SqsBatchResponse { BatchItemFailures = failures } };
    }

    /// <summary>Processes S3 notifications that did not come through SQS (the CLI, direct S3 → Lambda).</summary>
    public async Task<IReadOnlyList<IngestOutcome>> ProcessNotificationAsync(S3EventNotification notification, CancellationToken cancellationToken = default)
    {
        var outcomes = await ProcessNotificationCoreAsync(null, notification, cancellationToken).ConfigureAwait(false);
        Report(outcomes);
        return outcomes;
    }

    private async Task<List<IngestOutcome>> ProcessMessageAsync(SqsMessage message, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(message.Body))
        {
            return [new IngestOutcome(message.MessageId, null, IngestReasons.MalformedJson, "SQS message has no body")];
        }

        S3EventNotification? notification;
        try
        {
            notification = JsonSerializer.Deserialize(message.Body, LabelingJsonContext.Default.S3EventNotification);
        }
        catch (JsonException ex)
        {
            return [new IngestOutcome(message.MessageId, null, IngestReasons.MalformedJson, ex.Message)];
        }

        if (notification is null)
        {
            return [new IngestOutcome(message.MessageId, null, IngestReasons.MalformedJson, "body is JSON null")];
        }

        return await ProcessNotificationCoreAsync(message.MessageId, notification, ct).ConfigureAwait(false);
    }

    private async Task<List<IngestOutcome>> ProcessNotificationCoreAsync(string? messageId, S3EventNotification notification, CancellationToken ct)
    {
        if (notification.Event == "s3:TestEvent")
        {
            return [new IngestOutcome(messageId, null, IngestReasons.TestEvent, notification.Bucket)];
        }

        if (notification.Records is null)
        {
            return [new IngestOutcome(messageId, null, IngestReasons.UnknownEventType, notification.Event ?? "no Records and no Event")];
        }

        var list = new List<IngestOutcome>(notification.Records.Count);
        foreach (var record in notification.Records)
        {
            list.Add(await ProcessRecordAsync(messageId, record, ct).ConfigureAwait(false));
        }

        return list;
    }

    /// <summary>Ingests one S3 record. Never throws for bad input; store errors become <see cref="IngestReasons.TransientFailure"/>.</summary>
    public async Task<IngestOutcome> ProcessRecordAsync(string? messageId, S3EventRecord record, CancellationToken cancellationToken = default)
    {
        var rawKey = record.S3?.Object?.Key;
        if (record.EventSource is { } source && source != "aws:s3")
        {
            return new IngestOutcome(messageId, rawKey, IngestReasons.UnknownEventType, $"eventSource {source}");
        }

        if (record.EventName is null || !record.EventName.StartsWith("ObjectCreated:", StringComparison.Ordinal))
        {
            return new IngestOutcome(messageId, rawKey, IngestReasons.UnknownEventType, record.EventName ?? "no eventName");
        }

        var bucket = record.S3?.Bucket?.Name;
        if (string.IsNullOrEmpty(bucket))
        {
            return new IngestOutcome(messageId, rawKey, IngestReasons.MissingBucket);
        }

        if (options.IncomingBucket is { } expected && bucket != expected)
        {
            return new IngestOutcome(messageId, rawKey, IngestReasons.UnexpectedBucket, bucket);
        }

        if (!S3KeyDecoder.TryDecode(rawKey, out var key, out var decodeReason))
        {
            return new IngestOutcome(messageId, rawKey, decodeReason);
        }

        if (!ObjectKeyLayout.TryParse(key, out var parsed, out var layoutReason))
        {
            return new IngestOutcome(messageId, key, layoutReason == "empty-key" ? IngestReasons.MissingKey : layoutReason);
        }

        var now = _time.GetUtcNow();
        try
        {
            if (!parsed.IsSidecar)
            {
                if (record.S3?.Object?.Size is > GroundTruthInputLimits.MaxImageBytes)
                {
                    return new IngestOutcome(messageId, key, IngestReasons.ImageOverSizeLimit,
                        $"{record.S3.Object.Size} bytes, Ground Truth accepts at most {GroundTruthInputLimits.MaxImageBytes}");
                }

                var r = await pending.RegisterImageAsync(new ImageArrival(parsed.ImageKey, bucket, parsed.ThingName, now), cancellationToken).ConfigureAwait(false);
                return new IngestOutcome(messageId, key, ReasonOf(r, isImage: true));
            }

            // The event gives the stored size; gzip never stores more than a few bytes over the content, so a stored
            // size over the limit is an oversized sidecar whichever way it is encoded.
            if (record.S3?.Object?.Size is > ReviewRecord.MaxSidecarBytes)
            {
                return new IngestOutcome(messageId, key, IngestReasons.OversizedSidecar, $"{record.S3.Object.Size} bytes");
            }

            // The limit applies to the decoded JSON (sidecars arrive gzip-compressed), and reading stops just past
            // it, so a small compressed object that inflates to gigabytes is refused without being inflated.
            byte[]? bytes;
            try
            {
                bytes = await ObjectContent.ReadJsonBytesAsync(objects, bucket, key, ReviewRecord.MaxSidecarBytes, cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectTooLargeException)
            {
                return new IngestOutcome(messageId, key, IngestReasons.OversizedSidecar, $"decodes to over {ReviewRecord.MaxSidecarBytes} bytes");
            }
            catch (InvalidDataException ex)
            {
                // Starts like gzip but is not: a broken upload, never fixed by a retry.
                return new IngestOutcome(messageId, key, IngestReasons.MalformedSidecar, $"corrupt gzip: {ex.Message}");
            }

            if (bytes is null)
            {
                return new IngestOutcome(messageId, key, IngestReasons.SidecarNotFound);
            }

            ReviewRecord review;
            try
            {
                review = ReviewRecord.Parse(bytes);
            }
            catch (FormatException ex)
            {
                return new IngestOutcome(messageId, key, IngestReasons.MalformedSidecar, ex.Message);
            }

            if (review.ImageKey != parsed.ImageKey || review.ImageSha256 != parsed.Sha256)
            {
                return new IngestOutcome(messageId, key, IngestReasons.SidecarImageMismatch, $"sidecar names {review.ImageKey}");
            }

            if ((long)review.ImageSize.Width * review.ImageSize.Height is var pixels && pixels > GroundTruthInputLimits.MaxImagePixels)
            {
                return new IngestOutcome(messageId, key, IngestReasons.ImageOverPixelLimit,
                    $"{review.ImageSize.Width}x{review.ImageSize.Height} = {pixels} pixels, Ground Truth accepts at most {GroundTruthInputLimits.MaxImagePixels}");
            }

            var outcome = await pending.RegisterSidecarAsync(new SidecarArrival(parsed.ImageKey, bucket, parsed.ThingName, PendingPayload.From(review), now), cancellationToken).ConfigureAwait(false);
            return new IngestOutcome(messageId, key, ReasonOf(outcome, isImage: false));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new IngestOutcome(messageId, key, IngestReasons.TransientFailure, $"{ex.GetType().Name}: {ex.Message}");
        }
    }

    private static string ReasonOf(RegisterOutcome outcome, bool isImage) => outcome switch
    {
        RegisterOutcome.Completed => IngestReasons.Registered,
        RegisterOutcome.Duplicate => IngestReasons.DuplicateDelivery,
        _ => isImage ? IngestReasons.ImageWithoutSidecar : IngestReasons.SidecarWithoutImage,
    };

    private void Report(List<IngestOutcome> outcomes)
    {
        foreach (var group in outcomes.GroupBy(o => o.Reason))
        {
            metrics.Emit(LabelingMetricNames.IngestRecords, group.Count(), "Count", new Dictionary<string, string> { ["Reason"] = group.Key });
        }

        // Records that were dropped or must be retried are logged one by one, with the key, for the operator.
        foreach (var o in outcomes.Where(o => o.Reason is not (IngestReasons.Registered or IngestReasons.ImageWithoutSidecar or IngestReasons.SidecarWithoutImage or IngestReasons.DuplicateDelivery)))
        {
            metrics.Emit(LabelingMetricNames.IngestDropped, 1, "Count", new Dictionary<string, string> { ["Reason"] = o.Reason },
                new Dictionary<string, string> { ["Key"] = o.Key ?? "", ["MessageId"] = o.MessageId ?? "", ["Detail"] = o.Detail ?? "" });
            if (o.Reason is IngestReasons.ImageOverSizeLimit or IngestReasons.ImageOverPixelLimit)
            {
                metrics.Emit(LabelingMetricNames.ImagesSetAside, 1, "Count", new Dictionary<string, string> { ["Reason"] = o.Reason },
                    new Dictionary<string, string> { ["Key"] = o.Key ?? "", ["Detail"] = o.Detail ?? "" });
            }
        }
    }
}
