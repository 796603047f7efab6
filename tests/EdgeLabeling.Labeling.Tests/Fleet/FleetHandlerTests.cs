using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Fleet;
using EdgeLabeling.Labeling.Tests.Support;
using EdgeLabeling.Lambdas;
using EdgeLabeling.Storage;
using Microsoft.Extensions.DependencyInjection;
using static EdgeLabeling.Labeling.Tests.Fleet.FleetTestData;

namespace EdgeLabeling.Labeling.Tests.Fleet;

public sealed class FleetHandlerTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private ServiceProvider Provider(IObjectStore store) => new ServiceCollection()
        .AddSingleton(store)
        .AddSingleton<ILabelingMetrics>(new RecordingMetrics())
        .AddFleet(new LabelingOptions { IncomingBucket = Bucket, LocalStoreRoot = _dir.File("store") }, new FleetOptions { DbPath = _dir.File("fleet.db") })
        .BuildServiceProvider();

    private static async Task<JsonNode> InvokeAsync(Func<Stream, Task<Stream>> handler, string json)
    {
        await using var output = await handler(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        return (await JsonNode.ParseAsync(output))!;
    }

    [Fact]
    public async Task HeartbeatHandler_S3Notification_StoresTheDevice_ThenCheckHandlerReportsIt()
    {
        var store = new FileSystemObjectStore(_dir.File("store"));
        var now = DateTimeOffset.UtcNow;
        await store.PutBytesAsync(Bucket, FleetKeys.HeartbeatKey("cam-9"), Gzip(Heartbeat("cam-9", now, queued: 4)), "application/json");
        using var services = Provider(store);

        var outcomes = await InvokeAsync(new FleetHeartbeatFunction(services).HandleAsync, JsonSerializer.Serialize(Event(FleetKeys.HeartbeatKey("cam-9"), now), LabelingJsonContext.Default.S3EventNotification));
        var report = await InvokeAsync(new FleetCheckFunction(services).HandleAsync, "{\"detail-type\":\"Scheduled Event\"}");

        Assert.Equal(HeartbeatReasons.Accepted, outcomes[0]!["reason"]!.GetValue<string>());
        var device = report["devices"]!.AsArray().Single()!;
        Assert.Equal("cam-9", device["thingName"]!.GetValue<string>());
        Assert.Equal(4, device["queuedItems"]!.GetValue<int>());
    }

    [Fact]
    public async Task HeartbeatHandler_NotJson_ReturnsMalformedJsonInsteadOfFailing()
    {
        using var services = Provider(new FileSystemObjectStore(_dir.File("store")));

        var outcomes = await InvokeAsync(new FleetHeartbeatFunction(services).HandleAsync, "{not json");

        Assert.Equal(HeartbeatReasons.MalformedJson, outcomes[0]!["reason"]!.GetValue<string>());
    }
}
