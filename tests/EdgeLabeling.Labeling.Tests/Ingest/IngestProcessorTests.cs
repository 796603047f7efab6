using System.Text;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Labeling.Ingest;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Labeling.Tests.Support;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Tests.Ingest;

public sealed class IngestProcessorTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly FileSystemObjectStore _objects;
    private readonly SqlitePendingStore _store;
    private readonly RecordingMetrics _metrics = new();
    private readonly IngestProcessor _ingest;

    public IngestProcessorTests()
    {
        _objects = new FileSystemObjectStore(_dir.File("s3"));
        _store = new SqlitePendingStore(_dir.File("pending.db"));
        _ingest = new IngestProcessor(_objects, _store, Fixtures.Options(_dir.File("pending.db")), _metrics, new ManualTime(Fixtures.Start));
    }

    public void Dispose() => _dir.Dispose();

    private async Task<string> PutSidecarAsync(int n, ReviewRecord? review = null)
    {
        var key = ObjectKeyLayout.SidecarKey(Fixtures.ImageKey(n));
        await _objects.PutBytesAsync(Fixtures.Bucket, key, (review ?? Fixtures.Review(n)).ToUtf8Json(), "application/json");
        return key;
    }

    private async Task<IngestOutcome> IngestOneAsync(S3EventRecord record)
    {
        var report = await _ingest.ProcessAsync(Fixtures.Sqs(Fixtures.NotificationJson(record)));
        return Assert.Single(report.Outcomes);
    }

    [Fact]
    public async Task ProcessAsync_ImageThenSidecar_ItemBecomesPending()
    {
        var image = await IngestOneAsync(Fixtures.Record(Fixtures.ImageKey(1)));
        var sidecar = await IngestOneAsync(Fixtures.Record(await PutSidecarAsync(1)));

        Assert.Equal(IngestReasons.ImageWithoutSidecar, image.Reason);
        Assert.Equal(IngestReasons.Registered, sidecar.Reason);
        var item = await _store.GetItemAsync(Fixtures.ImageKey(1));
        Assert.NotNull(item);
        Assert.Equal(PendingStatus.Pending, item.Status);
        Assert.Equal($"s3://{Fixtures.Bucket}/{Fixtures.ImageKey(1)}", item.SourceRef);
        Assert.Equal(640, item.Payload!.ImageSize.Width);
        Assert.Single(item.Payload.PreAnnotations);
    }

    [Fact]
    public async Task ProcessAsync_SidecarWithoutDepth_StoresRgbDepth()
    {
        var key = ObjectKeyLayout.SidecarKey(Fixtures.ImageKey(13));
        var json = Encoding.UTF8.GetString(Fixtures.Review(13).ToUtf8Json()).Replace("\"depth\":3", "\"unused\":0", StringComparison.Ordinal);
        Assert.DoesNotContain("depth", json, StringComparison.Ordinal);
        await _objects.PutBytesAsync(Fixtures.Bucket, key, Encoding.UTF8.GetBytes(json), "application/json");

        await IngestOneAsync(Fixtures.Record(key));

        Assert.Equal(3, (await _store.GetItemAsync(Fixtures.ImageKey(13)))!.Payload!.ImageSize.Depth);
    }

    [Fact]
    public async Task ProcessAsync_SidecarBeforeImage_HalfPairIsCompletedByImage()
    {
        var sidecar = await IngestOneAsync(Fixtures.Record(await PutSidecarAsync(2)));
        var half = await _store.GetItemAsync(Fixtures.ImageKey(2));
        var image = await IngestOneAsync(Fixtures.Record(Fixtures.ImageKey(2)));

        Assert.Equal(IngestReasons.SidecarWithoutImage, sidecar.Reason);
        Assert.Equal(PendingStatus.Half, half!.Status);
        Assert.True(half.HasSidecar);
        Assert.False(half.HasImage);
        Assert.Equal(IngestReasons.Registered, image.Reason);
        Assert.Equal(1, (await _store.GetPendingSummaryAsync()).Count);
    }

    [Fact]
    public async Task ProcessAsync_DuplicateDeliveries_RegisterOneItemOnce()
    {
        var sidecarKey = await PutSidecarAsync(3);
        var body = Fixtures.NotificationJson(Fixtures.Record(Fixtures.ImageKey(3)), Fixtures.Record(sidecarKey));

        var first = await _ingest.ProcessAsync(Fixtures.Sqs(body));
        var second = await _ingest.ProcessAsync(Fixtures.Sqs(body, body));

        Assert.Equal([IngestReasons.ImageWithoutSidecar, IngestReasons.Registered], first.Outcomes.Select(o => o.Reason));
        Assert.All(second.Outcomes, o => Assert.Equal(IngestReasons.DuplicateDelivery, o.Reason));
        Assert.Equal(1, (await _store.GetPendingSummaryAsync()).Count);
        Assert.Empty(second.Response.BatchItemFailures);
    }

    [Fact]
    public async Task ProcessAsync_KeyWithSpaceAndPlus_DecodesBeforeLayoutCheck()
    {
        // A key with a space is outside the layout; it must be rejected by the layout, not by a decoding accident.
        var outcome = await IngestOneAsync(Fixtures.Record("incoming/site 7/a+b.jpg"));

        Assert.Equal(IngestReasons.NotInKeyLayout, outcome.Reason);
        Assert.Equal("incoming/site 7/a+b.jpg", outcome.Key);
    }

    [Fact]
    public async Task ProcessAsync_KeyWithEncodedSlashes_IsRegistered()
    {
        var encoded = Fixtures.ImageKey(4).Replace("/", "%2F", StringComparison.Ordinal);

        var outcome = await IngestOneAsync(Fixtures.Record(encoded, encode: false));

        Assert.Equal(IngestReasons.ImageWithoutSidecar, outcome.Reason);
        Assert.NotNull(await _store.GetItemAsync(Fixtures.ImageKey(4)));
    }

    [Fact]
    public async Task ProcessAsync_TestEvent_IsDroppedWithReason()
    {
        var body = """{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-26T06:00:00.000Z","Bucket":"edgelabel-incoming","RequestId":"X","HostId":"Y"}""";

        var report = await _ingest.ProcessAsync(Fixtures.Sqs(body));

        Assert.Equal(IngestReasons.TestEvent, Assert.Single(report.Outcomes).Reason);
        Assert.Empty(report.Response.BatchItemFailures);
        Assert.Equal(1, _metrics.Sum("IngestRecords", "Reason", IngestReasons.TestEvent));
    }

    [Theory]
    [InlineData("{not json", IngestReasons.MalformedJson)]
    [InlineData("", IngestReasons.MalformedJson)]
    [InlineData("null", IngestReasons.MalformedJson)]
    [InlineData("""{"Records":"nope"}""", IngestReasons.MalformedJson)]
    [InlineData("""{"hello":"world"}""", IngestReasons.UnknownEventType)]
    public async Task ProcessAsync_BadMessageBody_IsDroppedWithReasonAndBatchContinues(string body, string reason)
    {
        var good = Fixtures.NotificationJson(Fixtures.Record(Fixtures.ImageKey(5)));

        var report = await _ingest.ProcessAsync(Fixtures.Sqs(body, good));

        Assert.Equal(reason, report.Outcomes[0].Reason);
        Assert.Equal(IngestReasons.ImageWithoutSidecar, report.Outcomes[1].Reason);
        Assert.Empty(report.Response.BatchItemFailures);
    }

    [Theory]
    [InlineData("incoming/../etc/passwd.jpg", IngestReasons.UnsafeKey)]
    [InlineData("/incoming/site/2026/11/26/x.jpg", IngestReasons.UnsafeKey)]
    [InlineData("other/site/2026/11/26/x.jpg", IngestReasons.OutsideIncomingPrefix)]
    [InlineData("incoming/site/2026/11/26/not-a-sha.jpg", IngestReasons.NotInKeyLayout)]
    [InlineData("incoming/site/2026/13/26/0000000000000000000000000000000000000000000000000000000000000000.jpg", IngestReasons.InvalidDateInKey)]
    public async Task ProcessAsync_KeyOutsideLayout_ReturnsNamedReason(string key, string reason)
    {
        var outcome = await IngestOneAsync(Fixtures.Record(key));

        Assert.Equal(reason, outcome.Reason);
        Assert.Equal(0, (await _store.GetPendingSummaryAsync()).Count);
    }

    [Theory]
    [InlineData("abc%G1", IngestReasons.MalformedKeyEscape)]
    [InlineData("abc%FF", IngestReasons.InvalidUtf8Key)]
    public async Task ProcessAsync_MalformedEncodedKey_ReturnsNamedReason(string rawKey, string reason)
    {
        var outcome = await IngestOneAsync(Fixtures.Record(rawKey, encode: false));

        Assert.Equal(reason, outcome.Reason);
    }

    [Fact]
    public async Task ProcessAsync_MissingKeyOrBucket_ReturnsNamedReason()
    {
        var noKey = Fixtures.Record("x") with { S3 = new S3Entity { Bucket = new S3BucketEntity { Name = Fixtures.Bucket }, Object = new S3ObjectEntity() } };
        var noBucket = Fixtures.Record(Fixtures.ImageKey(1)) with { S3 = new S3Entity { Object = new S3ObjectEntity { Key = "k" } } };

        Assert.Equal(IngestReasons.MissingKey, (await IngestOneAsync(noKey)).Reason);
        Assert.Equal(IngestReasons.MissingBucket, (await IngestOneAsync(noBucket)).Reason);
    }

    [Theory]
    [InlineData("ObjectRemoved:Delete")]
    [InlineData("s3:ObjectCreated:Put")]
    [InlineData("LifecycleExpiration:Delete")]
    public async Task ProcessAsync_NonCreateEventName_IsUnknownEventType(string eventName)
    {
        var outcome = await IngestOneAsync(Fixtures.Record(Fixtures.ImageKey(1), eventName: eventName));

        Assert.Equal(IngestReasons.UnknownEventType, outcome.Reason);
    }

    [Fact]
    public async Task ProcessAsync_OtherBucket_IsUnexpectedBucket()
    {
        var outcome = await IngestOneAsync(Fixtures.Record(Fixtures.ImageKey(1), bucket: "someone-elses-bucket"));

        Assert.Equal(IngestReasons.UnexpectedBucket, outcome.Reason);
    }

    [Fact]
    public async Task ProcessAsync_ImageOverGroundTruthsByteLimit_IsSetAsideWithReasonAndNotRegistered()
    {
        var outcome = await IngestOneAsync(Fixtures.Record(Fixtures.ImageKey(9), size: GroundTruthInputLimits.MaxImageBytes + 1));

        Assert.Equal(IngestReasons.ImageOverSizeLimit, outcome.Reason);
        Assert.Contains("40000001 bytes", outcome.Detail);
        Assert.Null(await _store.GetItemAsync(Fixtures.ImageKey(9)));
        Assert.Equal(1, _metrics.Sum(LabelingMetricNames.ImagesSetAside, "Reason", IngestReasons.ImageOverSizeLimit));
    }

    [Fact]
    public async Task ProcessAsync_ImageAtGroundTruthsByteLimit_IsRegistered()
    {
        var outcome = await IngestOneAsync(Fixtures.Record(Fixtures.ImageKey(9), size: GroundTruthInputLimits.MaxImageBytes));

        Assert.Equal(IngestReasons.ImageWithoutSidecar, outcome.Reason);
    }

    [Fact]
    public async Task ProcessAsync_SidecarOfImageOver100Megapixels_IsSetAsideAndNeverPending()
    {
        await IngestOneAsync(Fixtures.Record(Fixtures.ImageKey(8)));
        var review = Fixtures.Review(8) with { ImageSize = new ImageSizeDto { Width = 12_000, Height = 9_000 } };

        var outcome = await IngestOneAsync(Fixtures.Record(await PutSidecarAsync(8, review)));

        Assert.Equal(IngestReasons.ImageOverPixelLimit, outcome.Reason);
        Assert.Contains("108000000 pixels", outcome.Detail);
        Assert.NotEqual(PendingStatus.Pending, (await _store.GetItemAsync(Fixtures.ImageKey(8)))?.Status);
        Assert.Equal(1, _metrics.Sum(LabelingMetricNames.ImagesSetAside, "Reason", IngestReasons.ImageOverPixelLimit));
    }

    [Fact]
    public async Task ProcessAsync_SidecarOfExactly100Megapixels_IsRegistered()
    {
        await IngestOneAsync(Fixtures.Record(Fixtures.ImageKey(8)));
        var review = Fixtures.Review(8) with { ImageSize = new ImageSizeDto { Width = 10_000, Height = 10_000 } };

        var outcome = await IngestOneAsync(Fixtures.Record(await PutSidecarAsync(8, review)));

        Assert.Equal(IngestReasons.Registered, outcome.Reason);
    }

    [Fact]
    public async Task ProcessAsync_SidecarOverLimitBySize_IsOversizedWithoutReading()
    {
        var key = ObjectKeyLayout.SidecarKey(Fixtures.ImageKey(6));

        var outcome = await IngestOneAsync(Fixtures.Record(key, size: ReviewRecord.MaxSidecarBytes + 1));

        Assert.Equal(IngestReasons.OversizedSidecar, outcome.Reason);
    }

    [Fact]
    public async Task ProcessAsync_SidecarBiggerThanEventSaid_IsOversized()
    {
        var key = ObjectKeyLayout.SidecarKey(Fixtures.ImageKey(6));
        await _objects.PutBytesAsync(Fixtures.Bucket, key, new byte[ReviewRecord.MaxSidecarBytes + 10], "application/json");

        var outcome = await IngestOneAsync(Fixtures.Record(key, size: 10));

        Assert.Equal(IngestReasons.OversizedSidecar, outcome.Reason);
    }

    [Fact]
    public async Task ProcessAsync_MalformedSidecar_IsDroppedWithReason()
    {
        var key = ObjectKeyLayout.SidecarKey(Fixtures.ImageKey(7));
        await _objects.PutBytesAsync(Fixtures.Bucket, key, Encoding.UTF8.GetBytes("{\"schema-version\":1,"), "application/json");

        var outcome = await IngestOneAsync(Fixtures.Record(key));

        Assert.Equal(IngestReasons.MalformedSidecar, outcome.Reason);
        Assert.Contains("not a valid review record", outcome.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProcessAsync_GzipSidecar_IsDecodedAndRegistered()
    {
        await IngestOneAsync(Fixtures.Record(Fixtures.ImageKey(14)));
        var key = ObjectKeyLayout.SidecarKey(Fixtures.ImageKey(14));
        var gz = ObjectContent.Compress(Fixtures.Review(14).ToUtf8Json());
        await _objects.PutBytesAsync(Fixtures.Bucket, key, gz, "application/json", new Dictionary<string, string> { [ObjectContent.ContentEncodingKey] = ObjectContent.Gzip });

        var outcome = await IngestOneAsync(Fixtures.Record(key, size: gz.Length));

        Assert.Equal(IngestReasons.Registered, outcome.Reason);
        Assert.Equal(640, (await _store.GetItemAsync(Fixtures.ImageKey(14)))!.Payload!.ImageSize.Width);
    }

    [Fact]
    public async Task ProcessAsync_GzipSidecarInflatingPastLimit_IsOversized()
    {
        // 64 MB of zeros compress to ~64 kB: small on the wire, far over the limit once inflated.
        var key = ObjectKeyLayout.SidecarKey(Fixtures.ImageKey(15));
        var bomb = ObjectContent.Compress(new byte[64 << 20]);
        Assert.True(bomb.Length < ReviewRecord.MaxSidecarBytes);
        await _objects.PutBytesAsync(Fixtures.Bucket, key, bomb, "application/json");

        var outcome = await IngestOneAsync(Fixtures.Record(key, size: bomb.Length));

        Assert.Equal(IngestReasons.OversizedSidecar, outcome.Reason);
        Assert.Contains("decodes to over", outcome.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProcessAsync_CorruptGzipSidecar_IsMalformedNotRetried()
    {
        var key = ObjectKeyLayout.SidecarKey(Fixtures.ImageKey(16));
        var gz = ObjectContent.Compress(Fixtures.Review(16).ToUtf8Json());
        gz.AsSpan(10, 8).Fill(0xff);
        await _objects.PutBytesAsync(Fixtures.Bucket, key, gz, "application/json");

        var report = await _ingest.ProcessAsync(Fixtures.Sqs(Fixtures.NotificationJson(Fixtures.Record(key))));

        Assert.Equal(IngestReasons.MalformedSidecar, Assert.Single(report.Outcomes).Reason);
        Assert.Empty(report.Response.BatchItemFailures);
    }

    [Fact]
    public async Task ProcessAsync_SidecarObjectGone_IsSidecarNotFound()
    {
        var outcome = await IngestOneAsync(Fixtures.Record(ObjectKeyLayout.SidecarKey(Fixtures.ImageKey(8))));

        Assert.Equal(IngestReasons.SidecarNotFound, outcome.Reason);
    }

    [Fact]
    public async Task ProcessAsync_SidecarNamingAnotherImage_IsMismatch()
    {
        var key = await PutSidecarAsync(9, Fixtures.Review(10));

        var outcome = await IngestOneAsync(Fixtures.Record(key));

        Assert.Equal(IngestReasons.SidecarImageMismatch, outcome.Reason);
    }

    [Fact]
    public async Task ProcessAsync_StoreFails_ReportsOnlyThatMessageForRetry()
    {
        var failing = new IngestProcessor(new ThrowingObjectStore(), _store, Fixtures.Options(_dir.File("pending.db")), _metrics);
        var key = ObjectKeyLayout.SidecarKey(Fixtures.ImageKey(11));
        var sqs = Fixtures.Sqs(Fixtures.NotificationJson(Fixtures.Record(key)), Fixtures.NotificationJson(Fixtures.Record(Fixtures.ImageKey(12))));

        var report = await failing.ProcessAsync(sqs);

        Assert.Equal("msg-0", Assert.Single(report.Response.BatchItemFailures).ItemIdentifier);
        Assert.Equal(IngestReasons.TransientFailure, report.Outcomes[0].Reason);
        Assert.Equal(IngestReasons.ImageWithoutSidecar, report.Outcomes[1].Reason);
    }

    private sealed class ThrowingObjectStore : IObjectStore
    {
        public Task PutAsync(string bucket, string key, Stream content, string contentType, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) => throw new IOException("store down");
        public Task<StoredObject?> HeadAsync(string bucket, string key, CancellationToken cancellationToken = default) => throw new IOException("store down");
        public Task<Stream?> OpenReadAsync(string bucket, string key, CancellationToken cancellationToken = default) => throw new IOException("store down");
        public IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, CancellationToken cancellationToken = default) => throw new IOException("store down");
        public Task DeleteAsync(string bucket, string key, CancellationToken cancellationToken = default) => throw new IOException("store down");
    }
}
