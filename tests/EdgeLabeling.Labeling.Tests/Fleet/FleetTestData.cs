using System.Text;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Tests.Fleet;

internal static class FleetTestData
{
    public const string Bucket = "incoming-bucket";

    public static FleetHeartbeat Heartbeat(string thing, DateTimeOffset sent, int queued = 0, long? freeDisk = 10L * 1024 * 1024 * 1024) => new()
    {
        Schema = FleetHeartbeat.CurrentSchema,
        ThingName = thing,
        SentUtc = sent,
        Reason = "interval",
        QueueByLane = new() { ["review"] = queued, ["auto-label-records"] = 0, ["auto-labeled-images"] = 0 },
        QueuedItems = queued,
        OldestQueuedAgeSeconds = queued > 0 ? 60 : null,
        BytesSentToday = 1234,
        DailyQuotaBytes = 0,
        FreeDiskBytes = freeDisk,
        LastUploadUtc = sent,
        Online = true,
        ModelSha256 = new string('a', 64),
        RoutingVersion = "routing-v1+0123456789ab",
        ComponentVersion = "1.2.3",
        ErrorsByKind = new() { ["network"] = 2 },
    };

    public static byte[] Gzip(FleetHeartbeat h) => ObjectContent.Compress(FleetHeartbeatJson.ToUtf8(h));

    public static byte[] Gzip(string json) => ObjectContent.Compress(Encoding.UTF8.GetBytes(json));

    public static S3EventNotification Event(string key, DateTimeOffset at, long size = 400, string bucket = Bucket) => new()
    {
        Records =
        [
            new S3EventRecord
            {
                EventName = "ObjectCreated:Put",
                EventTime = at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
                S3 = new S3Entity { Bucket = new S3BucketEntity { Name = bucket }, Object = new S3ObjectEntity { Key = S3KeyDecoder.Encode(key), Size = size } },
            },
        ],
    };
}
