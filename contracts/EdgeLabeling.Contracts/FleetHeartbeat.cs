using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace EdgeLabeling.Contracts;

/// <summary>
/// The small health report a device uploads every few minutes and when its state changes, as gzip JSON
/// (<c>Content-Encoding: gzip</c>) to <c>status/{thingName}/heartbeat.json</c> in the incoming bucket.
/// One fixed key per device: a new heartbeat replaces the last one, so a device that was offline sends its
/// current state, never a backlog.
/// </summary>
public sealed record FleetHeartbeat
{
    /// <summary>Version of this shape; the cloud refuses versions it does not know.</summary>
    public const int CurrentSchema = 1;

    /// <summary>Largest decoded heartbeat the cloud reads; a real one is well under 2 KB.</summary>
    public const int MaxDecodedBytes = 16 * 1024;

    public required int Schema { get; init; }
    public required string ThingName { get; init; }
    public required DateTimeOffset SentUtc { get; init; }

    /// <summary>Why it was sent: <c>start</c>, <c>interval</c>, <c>state-change</c> or <c>stop</c>.</summary>
    public required string Reason { get; init; }

    /// <summary>Items queued per lane (review, auto-label-records, auto-labeled-images).</summary>
    public required Dictionary<string, int> QueueByLane { get; init; }

    public required int QueuedItems { get; init; }

    /// <summary>Age of the oldest queued item in seconds; null when the queue is empty.</summary>
    public double? OldestQueuedAgeSeconds { get; init; }

    /// <summary>Bytes uploaded this UTC day (heartbeats included).</summary>
    public required long BytesSentToday { get; init; }

    /// <summary>The daily upload quota in bytes; 0 means none.</summary>
    public required long DailyQuotaBytes { get; init; }

    /// <summary>Free bytes on the file system of the work directory; null when it could not be read.</summary>
    public long? FreeDiskBytes { get; init; }

    public DateTimeOffset? LastUploadUtc { get; init; }
    public required bool Online { get; init; }

    /// <summary>Lower-case hex SHA-256 of the model file the device runs.</summary>
    public string? ModelSha256 { get; init; }

    /// <summary>The routing rules and thresholds in force (policy version + hash of the settings).</summary>
    public string? RoutingVersion { get; init; }

    public string? ComponentVersion { get; init; }

    /// <summary>Upload failures since the component started, by kind (network, access-denied, ...).</summary>
    public required Dictionary<string, long> ErrorsByKind { get; init; }
}

/// <summary>Where heartbeats live in the incoming bucket.</summary>
public static partial class FleetKeys
{
    public const string StatusPrefix = "status/";
    public const string HeartbeatFileName = "heartbeat.json";

    [GeneratedRegex("^status/(?<thing>[a-zA-Z0-9:_-]{1,128})/heartbeat\\.json$")]
    private static partial Regex HeartbeatKeyRegex();

    public static string HeartbeatKey(string thingName) =>
        ObjectKeyLayout.IsValidThingName(thingName)
            ? StatusPrefix + thingName + "/" + HeartbeatFileName
            : throw new ArgumentException($"thing name '{thingName}' must be 1-128 of letters, digits, ':', '_' or '-'", nameof(thingName));

    /// <summary>The thing name a heartbeat key belongs to; false for any other key.</summary>
    public static bool TryParseHeartbeatKey(string key, out string thingName)
    {
        var m = HeartbeatKeyRegex().Match(key ?? "");
        thingName = m.Success ? m.Groups["thing"].Value : "";
        return m.Success;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(FleetHeartbeat))]
public sealed partial class FleetJsonContext : JsonSerializerContext;

/// <summary>Serializes heartbeats the one way both sides agree on.</summary>
public static class FleetHeartbeatJson
{
    public static byte[] ToUtf8(FleetHeartbeat heartbeat) => JsonSerializer.SerializeToUtf8Bytes(heartbeat, FleetJsonContext.Default.FleetHeartbeat);

    /// <exception cref="JsonException">Not JSON of this shape (a required member missing included).</exception>
    public static FleetHeartbeat? FromUtf8(ReadOnlySpan<byte> json) => JsonSerializer.Deserialize(json, FleetJsonContext.Default.FleetHeartbeat);
}
