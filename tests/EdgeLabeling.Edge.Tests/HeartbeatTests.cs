using System.Net.Http;
using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Fleet;
using EdgeLabeling.Edge.Queue;
using EdgeLabeling.Edge.Status;
using EdgeLabeling.Edge.Upload;
using EdgeLabeling.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EdgeLabeling.Edge.Tests;

public sealed class HeartbeatScheduleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 8, 0, 0, TimeSpan.Zero);
    private readonly HeartbeatSchedule _schedule = new(TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(30));

    [Fact]
    public void Due_FirstCall_IsStart()
    {
        Assert.Equal(HeartbeatSendReasons.Start, _schedule.Due(T0, "running|online"));
    }

    [Fact]
    public void Due_SameStateBeforeInterval_IsNotDue_ThenDueAtTheInterval()
    {
        _schedule.Succeeded(T0, "s");

        Assert.Null(_schedule.Due(T0.AddMinutes(4), "s"));
        Assert.Equal(HeartbeatSendReasons.Interval, _schedule.Due(T0.AddMinutes(5), "s"));
    }

    [Fact]
    public void Due_StateChange_IsSentEarly_ButNotWithinTheMinimumInterval()
    {
        _schedule.Succeeded(T0, "online");

        Assert.Null(_schedule.Due(T0.AddSeconds(10), "offline"));
        Assert.Equal(HeartbeatSendReasons.StateChange, _schedule.Due(T0.AddSeconds(30), "offline"));
    }

    [Fact]
    public void Due_FlappingStateForAnHour_SendsAtMostOnePerMinimumInterval()
    {
        var sent = 0;
        _schedule.Succeeded(T0, "a");
        for (var s = 1; s <= 3600; s++)
        {
            var now = T0.AddSeconds(s);
            var state = s % 2 == 0 ? "a" : "b";
            if (_schedule.Due(now, state) is not null)
            {
                _schedule.Succeeded(now, state);
                sent++;
            }
        }

        Assert.InRange(sent, 100, 120);
    }

    [Fact]
    public void Due_AfterFailure_RetriesOnTheIntervalOrWhenTheStateMovesOn()
    {
        var failedAt = T0.AddMinutes(5);
        _schedule.Succeeded(T0, "online");
        _schedule.Failed(failedAt, "offline");

        Assert.Null(_schedule.Due(failedAt.AddMinutes(1), "offline"));
        Assert.Null(_schedule.Due(failedAt.AddSeconds(20), "online"));
        Assert.Equal(HeartbeatSendReasons.StateChange, _schedule.Due(failedAt.AddSeconds(30), "online"));
        Assert.Equal(HeartbeatSendReasons.Interval, _schedule.Due(failedAt.AddMinutes(5), "offline"));
        Assert.Equal(1, _schedule.Sent);
    }
}

public sealed class HeartbeatWorkerTests : IDisposable
{
    private const string Bucket = "incoming";
    private readonly TempDir _dir = new();
    private readonly ManualClock _time = new(new DateTimeOffset(2026, 12, 3, 8, 0, 0, TimeSpan.Zero));
    private readonly Outbox _outbox;
    private readonly EdgeState _state = new();
    private readonly SwitchableStore _store;
    private readonly IOptions<EdgeOptions> _options;
    private readonly StatusWriter _status;
    private readonly HeartbeatWorker _worker;

    public HeartbeatWorkerTests()
    {
        _outbox = Outbox.Open(_dir.Sub("queue"), 64L * 1024 * 1024);
        _store = new SwitchableStore(new FileSystemObjectStore(_dir.Sub("store")));
        _options = Options.Create(new EdgeOptions
        {
            ThingName = "cam-7", Bucket = Bucket, WorkDirectory = _dir.Path, DailyUploadMegabytes = 100,
            HeartbeatIntervalSeconds = 300, HeartbeatMinIntervalSeconds = 30,
        });
        _status = new StatusWriter(_outbox, _state, _options, _time, new DeviceIdentity(new string('c', 64), "routing-v1+abcdef012345", "2.0.1"));
        _worker = new HeartbeatWorker(_status, _outbox, new FixedObjectStoreProvider(_store), _options, _time, NullLogger<HeartbeatWorker>.Instance);
    }

    public void Dispose()
    {
        _outbox.Dispose();
        _dir.Dispose();
    }

    private async Task<(FleetHeartbeat Heartbeat, byte[] Raw, StoredObject Head)> ReadAsync()
    {
        var key = FleetKeys.HeartbeatKey("cam-7");
        var raw = (await _store.Inner.ReadBytesAsync(Bucket, key))!;
        var head = (await _store.Inner.HeadAsync(Bucket, key))!;
        return (FleetHeartbeatJson.FromUtf8(ObjectContent.Decode(raw, FleetHeartbeat.MaxDecodedBytes))!, raw, head);
    }

    [Fact]
    public async Task TrySendAsync_FirstBeat_WritesGzipJsonWithTheStatusSnapshot()
    {
        _outbox.Enqueue([Bytes.Review(1), Bytes.Review(2)], EdgeLabeling.Contracts.RoutingOutcome.HumanReview, _time.GetUtcNow().AddMinutes(-3));
        _state.UploadFailed("network", "connection refused", _time.GetUtcNow(), TimeSpan.FromSeconds(2));

        Assert.True(await _worker.TrySendAsync(CancellationToken.None));

        var (hb, raw, head) = await ReadAsync();
        Assert.True(ObjectContent.IsGzip(raw));
        Assert.Equal(ObjectContent.Gzip, head.Metadata[ObjectContent.ContentEncodingKey]);
        Assert.True(raw.Length < 1024, $"heartbeat is {raw.Length} bytes");
        Assert.Equal("cam-7", hb.ThingName);
        Assert.Equal(HeartbeatSendReasons.Start, hb.Reason);
        Assert.Equal(2, hb.QueueByLane["review"]);
        Assert.Equal(2, hb.QueuedItems);
        Assert.Equal(180, hb.OldestQueuedAgeSeconds);
        Assert.Equal(100L * 1024 * 1024, hb.DailyQuotaBytes);
        Assert.NotNull(hb.FreeDiskBytes);
        Assert.Equal(new string('c', 64), hb.ModelSha256);
        Assert.Equal("routing-v1+abcdef012345", hb.RoutingVersion);
        Assert.Equal("2.0.1", hb.ComponentVersion);
        Assert.Equal(1, hb.ErrorsByKind["network"]);
        Assert.False(hb.Online);
    }

    [Fact]
    public async Task TrySendAsync_HeartbeatBytes_CountInTheDailyUploadTotal()
    {
        await _worker.TrySendAsync(CancellationToken.None);
        var (_, raw, _) = await ReadAsync();

        Assert.Equal(raw.Length, _outbox.UploadedOn(_time.GetUtcNow()));
        Assert.Equal(raw.Length, _status.Build().HeartbeatBytes);
    }

    [Fact]
    public async Task TrySendAsync_StateChange_SendsEarlyOnlyAfterTheMinimumInterval()
    {
        Assert.True(await _worker.TrySendAsync(CancellationToken.None));
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.False(await _worker.TrySendAsync(CancellationToken.None));

        _state.SetBackpressure(true, "disk-full");
        Assert.False(await _worker.TrySendAsync(CancellationToken.None));
        _time.Advance(TimeSpan.FromSeconds(25));

        Assert.True(await _worker.TrySendAsync(CancellationToken.None));
        Assert.Equal(HeartbeatSendReasons.StateChange, (await ReadAsync()).Heartbeat.Reason);
        Assert.Equal(2, _worker.Schedule.Sent);
    }

    [Fact]
    public async Task TrySendAsync_LinkDownForAnHour_KeepsOnlyTheLatestHeartbeatAndNoBacklog()
    {
        await _worker.TrySendAsync(CancellationToken.None);
        _store.Down = true;
        _state.UploadFailed("network", "Connection refused", _time.GetUtcNow(), TimeSpan.FromSeconds(60));
        for (var minute = 0; minute < 60; minute++)
        {
            _time.Advance(TimeSpan.FromMinutes(1));
            _outbox.Enqueue([Bytes.Review(100 + minute)], EdgeLabeling.Contracts.RoutingOutcome.HumanReview, _time.GetUtcNow());
            Assert.False(await _worker.TrySendAsync(CancellationToken.None));
        }

        // The link is back: the uploader's first success is a state change, so the heartbeat goes at once.
        _store.Down = false;
        _time.Advance(TimeSpan.FromMinutes(1));
        _state.UploadSucceeded(_time.GetUtcNow());
        Assert.True(await _worker.TrySendAsync(CancellationToken.None));

        var (hb, _, _) = await ReadAsync();
        Assert.Equal(60, hb.QueuedItems);
        Assert.Equal(2, _worker.Schedule.Sent);
        // One object per device, and only the attempts the rate limit let through (not one per queued state).
        Assert.Single(await _store.Inner.ListAsync(Bucket, FleetKeys.StatusPrefix).ToListAsync());
        // Down for an hour with a 5-minute interval: one attempt per interval, the state unchanged meanwhile.
        Assert.InRange(_store.FailedPuts, 11, 13);
        Assert.True(hb.Online);
    }

    [Fact]
    public async Task HeartbeatBuilder_FromStatus_UsesTheSameNumbersAsTheStatusFile()
    {
        _outbox.Enqueue([Bytes.Review(5)], EdgeLabeling.Contracts.RoutingOutcome.HumanReview, _time.GetUtcNow());
        var status = _status.Build();

        var hb = HeartbeatBuilder.From(status, HeartbeatSendReasons.Interval);

        Assert.Equal(status.QueuedItems, hb.QueuedItems);
        Assert.Equal(status.BytesUploadedToday, hb.BytesSentToday);
        Assert.Equal(status.FreeDiskBytes, hb.FreeDiskBytes);
        Assert.Equal(status.Queue.ToDictionary(l => l.Key, l => l.Value.Items), hb.QueueByLane);
        Assert.Equal(FleetHeartbeat.CurrentSchema, hb.Schema);
        await Task.CompletedTask;
    }

    [Fact]
    public void Validator_HeartbeatSettings_NamesBadValues()
    {
        var o = new EdgeOptions { ThingName = "t", InputDirectory = "/in", WorkDirectory = "/w", Bucket = "bucket", Region = "eu-west-1", HeartbeatIntervalSeconds = 5, HeartbeatMinIntervalSeconds = 0 };

        var result = new EdgeOptionsValidator { RequireModel = false }.Validate(null, o);

        Assert.Contains(result.Failures!, f => f.StartsWith("HeartbeatIntervalSeconds", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("HeartbeatMinIntervalSeconds", StringComparison.Ordinal));
    }

    private sealed class SwitchableStore(IObjectStore inner) : IObjectStore
    {
        public IObjectStore Inner => inner;

        public bool Down { get; set; }

        public int FailedPuts { get; private set; }

        public Task PutAsync(string bucket, string key, Stream content, string contentType, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
        {
            if (Down)
            {
                FailedPuts++;
                throw new HttpRequestException("Connection refused (127.0.0.1:7480)");
            }

            return inner.PutAsync(bucket, key, content, contentType, metadata, cancellationToken);
        }

        public Task<StoredObject?> HeadAsync(string bucket, string key, CancellationToken cancellationToken = default) => inner.HeadAsync(bucket, key, cancellationToken);

        public Task<Stream?> OpenReadAsync(string bucket, string key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(bucket, key, cancellationToken);

        public IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(bucket, prefix, cancellationToken);

        public Task DeleteAsync(string bucket, string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(bucket, key, cancellationToken);
    }

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
