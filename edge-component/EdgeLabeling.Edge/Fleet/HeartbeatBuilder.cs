using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Status;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Edge.Fleet;

/// <summary>Turns the status snapshot the status file is written from into the fleet heartbeat; nothing is measured twice.</summary>
public static class HeartbeatBuilder
{
    public static FleetHeartbeat From(StatusReport status, string reason) => new()
    {
        Schema = FleetHeartbeat.CurrentSchema,
        ThingName = status.ThingName,
        SentUtc = status.TimeUtc,
        Reason = reason,
        QueueByLane = status.Queue.ToDictionary(l => l.Key, l => l.Value.Items, StringComparer.Ordinal),
        QueuedItems = status.QueuedItems,
        OldestQueuedAgeSeconds = status.OldestQueuedAgeSeconds,
        BytesSentToday = status.BytesUploadedToday,
        DailyQuotaBytes = status.DailyQuotaBytes,
        FreeDiskBytes = status.FreeDiskBytes,
        LastUploadUtc = status.LastUploadUtc,
        Online = status.Online,
        ModelSha256 = status.ModelSha256,
        RoutingVersion = status.RoutingVersion,
        ComponentVersion = status.ComponentVersion,
        ErrorsByKind = status.ErrorsByKind ?? new Dictionary<string, long>(StringComparer.Ordinal),
    };

    /// <summary>The gzip JSON body that goes to <see cref="FleetKeys.HeartbeatKey"/>.</summary>
    public static byte[] Encode(FleetHeartbeat heartbeat) => ObjectContent.Compress(FleetHeartbeatJson.ToUtf8(heartbeat));

    /// <summary>
    /// The parts of the state whose change is worth an early heartbeat: the component stopping, the link
    /// going down or up, intake backpressure and the daily quota. Queue depth is left out on purpose: it
    /// changes with every frame and is reported on the interval anyway.
    /// </summary>
    public static string StateOf(StatusReport status) =>
        $"{status.State}|online={status.Online}|backpressure={status.BackpressureReason ?? "none"}|quota-reached={status.DailyQuotaReached}";
}
