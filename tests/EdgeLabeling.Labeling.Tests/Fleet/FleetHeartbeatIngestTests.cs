using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Labeling.Fleet;
using EdgeLabeling.Labeling.Tests.Support;
using EdgeLabeling.Storage;
using static EdgeLabeling.Labeling.Tests.Fleet.FleetTestData;

namespace EdgeLabeling.Labeling.Tests.Fleet;

public sealed class FleetHeartbeatIngestTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 8, 0, 0, TimeSpan.Zero);
    private readonly TempDir _dir = new();
    private readonly FileSystemObjectStore _store;
    private readonly SqliteFleetStore _fleet;
    private readonly RecordingMetrics _metrics = new();
    private readonly FleetHeartbeatIngest _ingest;

    public FleetHeartbeatIngestTests()
    {
        _store = new FileSystemObjectStore(_dir.File("store"));
        _fleet = new SqliteFleetStore(_dir.File("fleet.db"));
        _ingest = new FleetHeartbeatIngest(_store, _fleet, new LabelingOptions { IncomingBucket = Bucket }, _metrics, new ManualTime(T0));
    }

    public void Dispose() => _dir.Dispose();

    private async Task<HeartbeatOutcome> PutAndIngestAsync(string key, byte[] body, long? eventSize = null)
    {
        await _store.PutAsync(Bucket, key, new MemoryStream(body), "application/json");
        return (await _ingest.ProcessAsync(Event(key, T0, eventSize ?? body.Length))).Single();
    }

    [Fact]
    public async Task ProcessAsync_ValidGzipHeartbeat_StoresDeviceAndEmitsPerDeviceMetrics()
    {
        var outcome = await PutAndIngestAsync(FleetKeys.HeartbeatKey("cam-1"), Gzip(Heartbeat("cam-1", T0.AddSeconds(-5), queued: 7, freeDisk: 5_000_000)));

        Assert.Equal(HeartbeatReasons.Accepted, outcome.Reason);
        var device = Assert.Single(await _fleet.ListAsync());
        Assert.Equal("cam-1", device.ThingName);
        Assert.Equal(T0, device.LastSeenUtc);
        Assert.Equal(7, device.Heartbeat.QueuedItems);
        Assert.Equal("1.2.3", device.Heartbeat.ComponentVersion);
        Assert.Equal(7, _metrics.Sum(FleetMetricNames.DeviceQueuedItems, FleetMetricNames.ThingDimension, "cam-1"));
        Assert.Equal(5_000_000, _metrics.Sum(FleetMetricNames.DeviceFreeDiskBytes, FleetMetricNames.ThingDimension, "cam-1"));
        Assert.Equal(1, _metrics.Sum(FleetMetricNames.HeartbeatsReceived));
    }

    [Fact]
    public async Task ProcessAsync_PlainJsonHeartbeat_IsAcceptedToo()
    {
        var outcome = await PutAndIngestAsync(FleetKeys.HeartbeatKey("cam-1"), FleetHeartbeatJson.ToUtf8(Heartbeat("cam-1", T0)));

        Assert.Equal(HeartbeatReasons.Accepted, outcome.Reason);
    }

    public static TheoryData<string, string> Malformed => new()
    {
        { "{\"schema\":1,\"thingName\":\"cam-1\"", HeartbeatReasons.MalformedJson },
        { "[1,2,3]", HeartbeatReasons.MalformedJson },
        { "{\"schema\":1,\"thingName\":\"cam-1\"}", HeartbeatReasons.MalformedJson },
        { "{\"schema\":2,\"thingName\":\"cam-1\",\"somethingNew\":true}", HeartbeatReasons.UnknownSchema },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task ProcessAsync_MalformedBody_IsRefusedWithNamedReasonAndNothingStored(string json, string reason)
    {
        var outcome = await PutAndIngestAsync(FleetKeys.HeartbeatKey("cam-1"), Gzip(json));

        Assert.Equal(reason, outcome.Reason);
        Assert.Empty(await _fleet.ListAsync());
        Assert.Equal(1, _metrics.Sum(FleetMetricNames.HeartbeatsRefused, FleetMetricNames.ReasonDimension, reason));
    }

    [Fact]
    public async Task ProcessAsync_BrokenGzip_IsRefusedAsMalformedGzip()
    {
        // The gzip magic, then bytes that are no valid gzip header or deflate stream.
        byte[] broken = [0x1f, 0x8b, .. Enumerable.Repeat((byte)0xff, 40)];

        var outcome = await PutAndIngestAsync(FleetKeys.HeartbeatKey("cam-1"), broken);

        Assert.Equal(HeartbeatReasons.MalformedGzip, outcome.Reason);
    }

    [Fact]
    public async Task ProcessAsync_ObjectLargerThanLimit_IsRefusedUnread()
    {
        var outcome = await PutAndIngestAsync(FleetKeys.HeartbeatKey("cam-1"), Gzip(Heartbeat("cam-1", T0)), eventSize: FleetHeartbeatIngest.MaxObjectBytes + 1);

        Assert.Equal(HeartbeatReasons.Oversized, outcome.Reason);
        Assert.Empty(await _fleet.ListAsync());
    }

    [Fact]
    public async Task ProcessAsync_GzipBombThatInflatesPastTheLimit_IsRefusedAsOversized()
    {
        // ~100 KB of padding compresses to well under the object limit but inflates past the decoded limit.
        var padded = Heartbeat("cam-1", T0) with { ErrorsByKind = new() { [new string('x', 100_000)] = 1 } };
        var body = Gzip(padded);
        Assert.True(body.Length < FleetHeartbeatIngest.MaxObjectBytes);

        var outcome = await PutAndIngestAsync(FleetKeys.HeartbeatKey("cam-1"), body);

        Assert.Equal(HeartbeatReasons.Oversized, outcome.Reason);
    }

    [Fact]
    public async Task ProcessAsync_BodyClaimsAnotherDevice_IsRefusedAsThingMismatch()
    {
        var outcome = await PutAndIngestAsync(FleetKeys.HeartbeatKey("cam-1"), Gzip(Heartbeat("cam-2", T0)));

        Assert.Equal(HeartbeatReasons.ThingMismatch, outcome.Reason);
        Assert.Contains("cam-2", outcome.Detail);
        Assert.Empty(await _fleet.ListAsync());
    }

    [Theory]
    [InlineData("status/cam-1/other.json")]
    [InlineData("status/cam-1/sub/heartbeat.json")]
    [InlineData("incoming/cam-1/heartbeat.json")]
    [InlineData("status/bad thing/heartbeat.json")]
    public async Task ProcessAsync_KeyOutsideTheHeartbeatLayout_IsRefusedAsNotAHeartbeatKey(string key)
    {
        var outcome = await PutAndIngestAsync(key, Gzip(Heartbeat("cam-1", T0)));

        Assert.Equal(HeartbeatReasons.NotAHeartbeatKey, outcome.Reason);
    }

    [Fact]
    public async Task ProcessAsync_OtherBucket_IsRefusedAsUnexpectedBucket()
    {
        var key = FleetKeys.HeartbeatKey("cam-1");
        await _store.PutAsync("elsewhere", key, new MemoryStream(Gzip(Heartbeat("cam-1", T0))), "application/json");

        var outcome = (await _ingest.ProcessAsync(Event(key, T0, bucket: "elsewhere"))).Single();

        Assert.Equal(HeartbeatReasons.UnexpectedBucket, outcome.Reason);
    }

    [Fact]
    public async Task ProcessAsync_NegativeQueueOrLanesNotSummingUp_IsRefusedAsImplausible()
    {
        var negative = Heartbeat("cam-1", T0) with { QueuedItems = -1, QueueByLane = new() { ["review"] = -1 } };
        var mismatch = Heartbeat("cam-2", T0) with { QueuedItems = 5 };

        Assert.Equal(HeartbeatReasons.ImplausibleValues, (await PutAndIngestAsync(FleetKeys.HeartbeatKey("cam-1"), Gzip(negative))).Reason);
        Assert.Equal(HeartbeatReasons.ImplausibleValues, (await PutAndIngestAsync(FleetKeys.HeartbeatKey("cam-2"), Gzip(mismatch))).Reason);
    }

    [Fact]
    public async Task ProcessAsync_SentFarInTheFuture_IsRefused()
    {
        var outcome = await PutAndIngestAsync(FleetKeys.HeartbeatKey("cam-1"), Gzip(Heartbeat("cam-1", T0.AddDays(30))));

        Assert.Equal(HeartbeatReasons.SentInFuture, outcome.Reason);
    }

    [Fact]
    public async Task ProcessAsync_OlderHeartbeatDeliveredLate_DoesNotReplaceTheNewerOne()
    {
        var key = FleetKeys.HeartbeatKey("cam-1");
        await PutAndIngestAsync(key, Gzip(Heartbeat("cam-1", T0, queued: 3)));

        var late = await PutAndIngestAsync(key, Gzip(Heartbeat("cam-1", T0.AddMinutes(-10), queued: 99)));

        Assert.Equal(HeartbeatReasons.Stale, late.Reason);
        Assert.Equal(3, Assert.Single(await _fleet.ListAsync()).Heartbeat.QueuedItems);
    }

    [Fact]
    public async Task ProcessAsync_ObjectGoneBeforeRead_IsRefusedAsObjectMissing()
    {
        var outcome = (await _ingest.ProcessAsync(Event(FleetKeys.HeartbeatKey("cam-1"), T0))).Single();

        Assert.Equal(HeartbeatReasons.ObjectMissing, outcome.Reason);
    }

    [Fact]
    public async Task ProcessAsync_S3TestEvent_IsNamedNotStored()
    {
        var outcome = (await _ingest.ProcessAsync(new S3EventNotification { Event = "s3:TestEvent", Service = "Amazon S3" })).Single();

        Assert.Equal(HeartbeatReasons.TestEvent, outcome.Reason);
    }
}
