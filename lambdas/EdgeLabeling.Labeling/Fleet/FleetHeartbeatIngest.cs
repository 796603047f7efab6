using System.Globalization;
using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Fleet;

/// <summary>One S3 record's fate.</summary>
public sealed record HeartbeatOutcome(string Key, string Reason, string? ThingName = null, string? Detail = null)
{
    public bool Accepted => Reason is HeartbeatReasons.Accepted or HeartbeatReasons.Stale;
}

/// <summary>
/// Turns S3 notifications for <c>status/{thing}/heartbeat.json</c> into fleet-table updates and per-device
/// metrics. A heartbeat is refused, with a named reason, when it is malformed, oversized, of an unknown
/// schema, or claims another device than the key it was written to (the key is what IAM scoped to the
/// device's own thing name; the body is not trusted over it). Store and S3 failures are thrown so the
/// invocation is retried.
/// </summary>
public sealed class FleetHeartbeatIngest(IObjectStore store, IFleetStore fleet, LabelingOptions options, ILabelingMetrics metrics, TimeProvider time)
{
    /// <summary>Compressed objects above this are not even read (a real heartbeat is well under 1 KB).</summary>
    public const long MaxObjectBytes = 8 * 1024;

    /// <summary>Largest clock lead accepted: S3 itself refuses requests signed more than 15 minutes off.</summary>
    public static readonly TimeSpan MaxClockLead = TimeSpan.FromHours(1);

    public async Task<IReadOnlyList<HeartbeatOutcome>> ProcessAsync(S3EventNotification notification, CancellationToken cancellationToken = default)
    {
        if (notification.Records is null)
        {
            var outcome = new HeartbeatOutcome("", notification.Event == "s3:TestEvent" ? HeartbeatReasons.TestEvent : HeartbeatReasons.UnknownEventType);
            Refused(outcome);
            return [outcome];
        }

        var outcomes = new List<HeartbeatOutcome>(notification.Records.Count);
        foreach (var record in notification.Records)
        {
            var outcome = await ProcessRecordAsync(record, cancellationToken).ConfigureAwait(false);
            if (outcome.Accepted)
            {
                metrics.Emit(FleetMetricNames.HeartbeatsReceived, 1, "Count");
            }
            else
            {
                Refused(outcome);
            }

            outcomes.Add(outcome);
        }

        return outcomes;
    }

    private void Refused(HeartbeatOutcome o) =>
        metrics.Emit(FleetMetricNames.HeartbeatsRefused, 1, "Count",
            new Dictionary<string, string> { [FleetMetricNames.ReasonDimension] = o.Reason },
            new Dictionary<string, string> { ["Key"] = o.Key, ["Detail"] = o.Detail ?? "" });

    private async Task<HeartbeatOutcome> ProcessRecordAsync(S3EventRecord record, CancellationToken ct)
    {
        if (record.EventName is null || !record.EventName.StartsWith("ObjectCreated:", StringComparison.Ordinal))
        {
            return new HeartbeatOutcome(record.S3?.Object?.Key ?? "", HeartbeatReasons.UnknownEventType, Detail: record.EventName);
        }

        var bucket = record.S3?.Bucket?.Name;
        if (!S3KeyDecoder.TryDecode(record.S3?.Object?.Key, out var key, out var keyReason))
        {
            return new HeartbeatOutcome(record.S3?.Object?.Key ?? "", keyReason == IngestReasons.MissingKey ? HeartbeatReasons.MissingKey : HeartbeatReasons.UndecodableKey, Detail: keyReason);
        }

        if (bucket is null || (options.IncomingBucket is { } expected && !string.Equals(bucket, expected, StringComparison.Ordinal)))
        {
            return new HeartbeatOutcome(key, HeartbeatReasons.UnexpectedBucket, Detail: bucket);
        }

        if (!FleetKeys.TryParseHeartbeatKey(key, out var keyThing))
        {
            return new HeartbeatOutcome(key, HeartbeatReasons.NotAHeartbeatKey);
        }

        if (record.S3?.Object?.Size is > MaxObjectBytes)
        {
            return new HeartbeatOutcome(key, HeartbeatReasons.Oversized, keyThing, $"{record.S3.Object.Size} bytes, at most {MaxObjectBytes}");
        }

        byte[]? json;
        try
        {
            json = await ObjectContent.ReadJsonBytesAsync(store, bucket, key, FleetHeartbeat.MaxDecodedBytes, ct).ConfigureAwait(false);
        }
        catch (ObjectTooLargeException)
        {
            return new HeartbeatOutcome(key, HeartbeatReasons.Oversized, keyThing, $"more than {FleetHeartbeat.MaxDecodedBytes} bytes decoded");
        }
        catch (InvalidDataException ex)
        {
            return new HeartbeatOutcome(key, HeartbeatReasons.MalformedGzip, keyThing, ex.Message);
        }

        if (json is null)
        {
            return new HeartbeatOutcome(key, HeartbeatReasons.ObjectMissing, keyThing);
        }

        FleetHeartbeat? heartbeat;
        try
        {
            heartbeat = FleetHeartbeatJson.FromUtf8(json);
        }
        catch (JsonException ex)
        {
            // An unknown schema may not even parse as this one; name it when the version says so.
            return new HeartbeatOutcome(key, SchemaOf(json) is { } s && s != FleetHeartbeat.CurrentSchema ? HeartbeatReasons.UnknownSchema : HeartbeatReasons.MalformedJson, keyThing, ex.Message);
        }

        if (heartbeat is null)
        {
            return new HeartbeatOutcome(key, HeartbeatReasons.MalformedJson, keyThing, "null");
        }

        if (heartbeat.Schema != FleetHeartbeat.CurrentSchema)
        {
            return new HeartbeatOutcome(key, HeartbeatReasons.UnknownSchema, keyThing, $"schema {heartbeat.Schema}, this version reads {FleetHeartbeat.CurrentSchema}");
        }

        if (!string.Equals(heartbeat.ThingName, keyThing, StringComparison.Ordinal))
        {
            return new HeartbeatOutcome(key, HeartbeatReasons.ThingMismatch, keyThing, $"body says '{heartbeat.ThingName}'");
        }

        if (Implausible(heartbeat) is { } problem)
        {
            return new HeartbeatOutcome(key, HeartbeatReasons.ImplausibleValues, keyThing, problem);
        }

        var received = ReceivedAt(record);
        if (heartbeat.SentUtc > received + MaxClockLead)
        {
            return new HeartbeatOutcome(key, HeartbeatReasons.SentInFuture, keyThing, $"sent {heartbeat.SentUtc:O}, received {received:O}");
        }

        var stored = await fleet.ApplyAsync(heartbeat, received, ct).ConfigureAwait(false);
        if (stored.LastHeartbeatUtc != heartbeat.SentUtc)
        {
            return new HeartbeatOutcome(key, HeartbeatReasons.Stale, keyThing);
        }

        var thing = new Dictionary<string, string> { [FleetMetricNames.ThingDimension] = keyThing };
        metrics.Emit(FleetMetricNames.DeviceQueuedItems, heartbeat.QueuedItems, "Count", thing);
        metrics.Emit(FleetMetricNames.DeviceOldestQueuedAgeSeconds, heartbeat.OldestQueuedAgeSeconds ?? 0, "Seconds", thing);
        if (heartbeat.FreeDiskBytes is { } free)
        {
            metrics.Emit(FleetMetricNames.DeviceFreeDiskBytes, free, "Bytes", thing);
        }

        return new HeartbeatOutcome(key, HeartbeatReasons.Accepted, keyThing);
    }

    private static string? Implausible(FleetHeartbeat h)
    {
        if (h.QueuedItems < 0 || h.QueueByLane.Values.Any(v => v < 0))
        {
            return "negative queue depth";
        }

        if (h.QueueByLane.Count > 0 && h.QueueByLane.Values.Sum(v => (long)v) != h.QueuedItems)
        {
            return $"queuedItems {h.QueuedItems} is not the sum of the lanes ({h.QueueByLane.Values.Sum(v => (long)v)})";
        }

        if (h.BytesSentToday < 0 || h.DailyQuotaBytes < 0 || h.FreeDiskBytes < 0 || h.OldestQueuedAgeSeconds < 0)
        {
            return "negative byte count or age";
        }

        return h.ErrorsByKind.Values.Any(v => v < 0) ? "negative error count" : null;
    }

    private DateTimeOffset ReceivedAt(S3EventRecord record) =>
        DateTimeOffset.TryParse(record.EventTime, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : time.GetUtcNow();

    private static int? SchemaOf(byte[] json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("schema", out var s) && s.TryGetInt32(out var v) ? v : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
