namespace EdgeLabeling.Labeling.Fleet;

/// <summary>
/// The fleet metrics the code emits (EMF, namespace EdgeLabeling). The CDK fleet construct alarms on the
/// fleet-level counts; a test checks every alarmed name against what <see cref="FleetCheck"/> really emits.
/// </summary>
public static class FleetMetricNames
{
    /// <summary>Dimension of the per-device metrics.</summary>
    public const string ThingDimension = "ThingName";

    /// <summary>Dimension of <see cref="HeartbeatsRefused"/>.</summary>
    public const string ReasonDimension = "Reason";

    // Per heartbeat (FleetHeartbeatIngest), dimension ThingName.
    public const string DeviceQueuedItems = "DeviceQueuedItems";
    public const string DeviceOldestQueuedAgeSeconds = "DeviceOldestQueuedAgeSeconds";
    public const string DeviceFreeDiskBytes = "DeviceFreeDiskBytes";

    // Per heartbeat, no dimensions / Reason.
    public const string HeartbeatsReceived = "HeartbeatsReceived";
    public const string HeartbeatsRefused = "HeartbeatsRefused";

    // Per scheduled check (FleetCheck): DeviceSilentHours per device, the rest fleet-wide without dimensions.
    public const string DeviceSilentHours = "DeviceSilentHours";
    public const string FleetDevices = "FleetDevices";
    public const string SilentDevices = "SilentDevices";
    public const string QueueGrowingDevices = "QueueGrowingDevices";
    public const string LowDiskDevices = "LowDiskDevices";
}

/// <summary>Why a heartbeat object was accepted or refused (logs and the Reason dimension of HeartbeatsRefused).</summary>
public static class HeartbeatReasons
{
    public const string Accepted = "accepted";
    public const string Stale = "older-than-stored";
    public const string TestEvent = "s3-test-event";
    public const string UnknownEventType = "unknown-event-type";
    public const string MissingKey = "missing-key";
    public const string UnexpectedBucket = "unexpected-bucket";
    public const string UndecodableKey = "undecodable-key";
    public const string NotAHeartbeatKey = "not-a-heartbeat-key";
    public const string ObjectMissing = "object-missing";
    public const string Oversized = "oversized";
    public const string MalformedGzip = "malformed-gzip";
    public const string MalformedJson = "malformed-json";
    public const string UnknownSchema = "unknown-schema";
    public const string ThingMismatch = "thing-mismatch";
    public const string ImplausibleValues = "implausible-values";
    public const string SentInFuture = "sent-time-in-future";
}
