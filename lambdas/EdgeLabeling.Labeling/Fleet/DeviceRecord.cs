using System.Text.Json.Serialization;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Labeling.Fleet;

/// <summary>
/// One device in the fleet table: its latest heartbeat, when the cloud received it, and how long its queue
/// has been above the lowest depth it had since (the "queue growing" clock).
/// </summary>
public sealed record DeviceRecord
{
    public required string ThingName { get; init; }

    /// <summary>When the cloud last received a heartbeat (S3 event time): the silent clock runs on the cloud's time, not the device's.</summary>
    public required DateTimeOffset LastSeenUtc { get; init; }

    /// <summary>The device's own time stamp of that heartbeat (used to ignore late, out-of-order deliveries).</summary>
    public required DateTimeOffset LastHeartbeatUtc { get; init; }

    public required FleetHeartbeat Heartbeat { get; init; }

    /// <summary>Lowest queue depth since <see cref="QueueLowUtc"/>; the queue is "growing" while it stays above it.</summary>
    public required int QueueLowItems { get; init; }

    public required DateTimeOffset QueueLowUtc { get; init; }

    public long Heartbeats { get; init; }

    /// <summary>
    /// The record after <paramref name="heartbeat"/>. The queue clock restarts whenever the depth comes back
    /// down to (or below) its low mark, so "growing for M hours" means: for M hours the queue has not once
    /// been as short as it was at the start of them — a device falling behind, whether its link is down or
    /// merely too slow. A single heartbeat with a deeper queue starts nothing by itself.
    /// </summary>
    public static DeviceRecord Apply(DeviceRecord? previous, FleetHeartbeat heartbeat, DateTimeOffset receivedUtc)
    {
        if (previous is not null && heartbeat.SentUtc <= previous.LastHeartbeatUtc)
        {
            return previous;
        }

        var queued = heartbeat.QueuedItems;
        var (low, lowUtc) = previous is null || queued <= previous.QueueLowItems
            ? (queued, receivedUtc)
            : (previous.QueueLowItems, previous.QueueLowUtc);
        return new DeviceRecord
        {
            ThingName = heartbeat.ThingName,
            LastSeenUtc = receivedUtc,
            LastHeartbeatUtc = heartbeat.SentUtc,
            Heartbeat = heartbeat,
            QueueLowItems = low,
            QueueLowUtc = lowUtc,
            Heartbeats = (previous?.Heartbeats ?? 0) + 1,
        };
    }

    public TimeSpan SilentFor(DateTimeOffset now) => now > LastSeenUtc ? now - LastSeenUtc : TimeSpan.Zero;

    /// <summary>How long the queue has stayed above its low mark, as of the last heartbeat; zero when it is at it.</summary>
    [JsonIgnore]
    public TimeSpan QueueGrowingFor => Heartbeat.QueuedItems > QueueLowItems && LastSeenUtc > QueueLowUtc ? LastSeenUtc - QueueLowUtc : TimeSpan.Zero;
}

/// <summary>Flag names shown by <c>edgelabel fleet status</c> and counted by the fleet check.</summary>
public static class FleetFlags
{
    public const string Silent = "silent";
    public const string QueueGrowing = "queue-growing";
    public const string LowDisk = "low-disk";

    public static IReadOnlyList<string> Of(DeviceRecord device, DateTimeOffset now, FleetThresholds thresholds)
    {
        var flags = new List<string>(3);
        if (device.SilentFor(now) > thresholds.Silent)
        {
            flags.Add(Silent);
        }

        if (device.QueueGrowingFor >= thresholds.QueueGrowing)
        {
            flags.Add(QueueGrowing);
        }

        if (device.Heartbeat.FreeDiskBytes is { } free && free < thresholds.MinFreeDiskBytes)
        {
            flags.Add(LowDisk);
        }

        return flags;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DeviceRecord))]
internal sealed partial class FleetStoreJsonContext : JsonSerializerContext;
