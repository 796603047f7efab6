using EdgeLabeling.Contracts;
using EdgeLabeling.Edge;
using EdgeLabeling.Edge.Fleet;
using EdgeLabeling.Edge.Queue;
using EdgeLabeling.Edge.Status;
using EdgeLabeling.Edge.Upload;
using EdgeLabeling.IntegrationTests.Infrastructure;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Labeling.Fleet;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EdgeLabeling.IntegrationTests.Fleet;

/// <summary>The heartbeat path end to end on real servers: the edge worker PUTs to radosgw, the ingest reads it back and folds it into a dynalite table.</summary>
[Trait("Category", "Integration")]
public sealed class FleetDynamoRgwTests
{
    private static async Task<DynamoDbFleetStore> NewTableAsync()
    {
        DynamoDbTestServer.EnsureSdkCredentialsInEnvironment();
        var name = $"it-fleet-{Guid.NewGuid():N}";
        await DynamoDbTestServer.CreateActiveTableAsync(DynamoDbFleetStore.TableDefinition(name));
        return new DynamoDbFleetStore(DynamoDbTestServer.CreateClient(), name);
    }

    [Fact]
    public async Task Heartbeat_FromEdgeWorkerThroughRadosgwIntoDynalite_ShowsTheDeviceWithItsQueue()
    {
        await S3TestServer.EnsureReachableAsync();
        var bucket = await S3TestServer.CreateBucketAsync("it-fleet");
        var work = Directory.CreateTempSubdirectory("it-fleet-").FullName;
        try
        {
            var store = S3TestServer.CreateStore();
            using var outbox = Outbox.Open(Path.Combine(work, "queue"), 64L * 1024 * 1024);
            outbox.Enqueue([new OutboxEntry(QueuePriority.Review, "incoming/cam-it/2026/12/03/" + new string('a', 64) + ".jpg", new string('a', 64), "image/jpeg", new byte[500], "{}"u8.ToArray())],
                RoutingOutcome.HumanReview, DateTimeOffset.UtcNow.AddMinutes(-2));
            var options = Options.Create(new EdgeOptions { ThingName = "cam-it", Bucket = bucket, WorkDirectory = work, HeartbeatIntervalSeconds = 300, HeartbeatMinIntervalSeconds = 30 });
            var status = new StatusWriter(outbox, new EdgeState(), options, TimeProvider.System, new DeviceIdentity(new string('b', 64), "routing-v1+000000000000", "1.0.0"));
            var worker = new HeartbeatWorker(status, outbox, new FixedObjectStoreProvider(store), options, TimeProvider.System, NullLogger<HeartbeatWorker>.Instance);
            Assert.True(await worker.TrySendAsync(CancellationToken.None));

            var fleet = await NewTableAsync();
            var key = FleetKeys.HeartbeatKey("cam-it");
            var head = (await store.HeadAsync(bucket, key))!;
            var ingest = new FleetHeartbeatIngest(store, fleet, new LabelingOptions { IncomingBucket = bucket }, NullLabelingMetrics.Instance, TimeProvider.System);
            var notification = new S3EventNotification
            {
                Records = [new() { EventName = "ObjectCreated:Put", EventTime = DateTimeOffset.UtcNow.ToString("O"), S3 = new() { Bucket = new() { Name = bucket }, Object = new() { Key = S3KeyDecoder.Encode(key), Size = head.Size } } }],
            };

            var outcome = Assert.Single(await ingest.ProcessAsync(notification));

            Assert.Equal(HeartbeatReasons.Accepted, outcome.Reason);
            var device = Assert.Single(await fleet.ListAsync());
            Assert.Equal("cam-it", device.ThingName);
            Assert.Equal(1, device.Heartbeat.QueueByLane["review"]);
            Assert.Equal(new string('b', 64), device.Heartbeat.ModelSha256);
            var report = await new FleetCheck(fleet, new FleetOptions(), NullLabelingMetrics.Instance, TimeProvider.System).BuildReportAsync();
            Assert.DoesNotContain(Assert.Single(report.Devices).Flags, f => f != FleetFlags.LowDisk);
        }
        finally
        {
            await S3TestServer.DeleteBucketAsync(bucket);
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task ApplyAsync_ConcurrentHeartbeatsOfOneDevice_KeepTheNewest()
    {
        var fleet = await NewTableAsync();
        var t0 = DateTimeOffset.UtcNow;
        var beats = Enumerable.Range(0, 12).Select(i => new FleetHeartbeat
        {
            Schema = 1, ThingName = "cam-race", SentUtc = t0.AddSeconds(i), Reason = "interval", QueueByLane = new() { ["review"] = i }, QueuedItems = i,
            BytesSentToday = 0, DailyQuotaBytes = 0, Online = true, ErrorsByKind = [],
        }).ToList();

        await Task.WhenAll(beats.Select(b => Task.Run(() => fleet.ApplyAsync(b, t0.AddSeconds(b.QueuedItems)))));

        var device = Assert.Single(await fleet.ListAsync());
        Assert.Equal(11, device.Heartbeat.QueuedItems);
        Assert.Equal(t0.AddSeconds(11), device.LastHeartbeatUtc);
    }

    [Fact]
    public async Task FleetFlags_FromHistoryInDynalite_FlagQueueGrowingAndNotTheSteadyDevice()
    {
        var fleet = await NewTableAsync();
        var t0 = DateTimeOffset.UtcNow.AddHours(-6);
        for (var m = 0; m <= 5 * 60; m += 15)
        {
            foreach (var (thing, queued) in new[] { ("cam-behind", m / 15), ("cam-steady", m % 60 == 0 ? 0 : 3) })
            {
                await fleet.ApplyAsync(new FleetHeartbeat
                {
                    Schema = 1, ThingName = thing, SentUtc = t0.AddMinutes(m), Reason = "interval", QueueByLane = new() { ["review"] = queued }, QueuedItems = queued,
                    BytesSentToday = 0, DailyQuotaBytes = 0, FreeDiskBytes = 10L << 30, Online = true, ErrorsByKind = [],
                }, t0.AddMinutes(m));
            }
        }

        var time = new FixedTime(t0.AddHours(5).AddMinutes(1));
        var report = await new FleetCheck(fleet, new FleetOptions(), NullLabelingMetrics.Instance, time).BuildReportAsync();

        Assert.Equal([FleetFlags.QueueGrowing], report.Devices.Single(d => d.ThingName == "cam-behind").Flags);
        Assert.Empty(report.Devices.Single(d => d.ThingName == "cam-steady").Flags);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
