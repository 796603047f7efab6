using EdgeLabeling.Edge.Upload;
using EdgeLabeling.IntegrationTests.Infrastructure;
using EdgeLabeling.Storage;

namespace EdgeLabeling.IntegrationTests.Edge;

/// <summary>The uploader against the real radosgw: content-addressed PUT-once, multipart, bandwidth cap, cut links.</summary>
[Trait("Category", "Integration")]
public sealed class S3UploadIntegrationTests : IClassFixture<S3BucketFixture>
{
    private readonly string _bucket;

    public S3UploadIntegrationTests(S3BucketFixture bucket) => _bucket = bucket.Bucket;

    private static ObjectUploader Uploader(string bucket, TokenBucket? cap = null, S3Settings? settings = null) =>
        new(new S3ObjectStoreProvider(settings ?? S3TestServer.Settings(), S3TestServer.Credentials), bucket, cap);

    private static byte[] Random(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Fact]
    public async Task PutOnceAsync_SecondTimeWithSameContent_SendsNoBytesAndKeepsOneObject()
    {
        var data = Random(50_000, 1);
        var sha = EdgeTestKit.Sha(data);
        var key = $"incoming/it/2026/11/26/{sha}.jpg";
        var uploader = Uploader(_bucket);
        Assert.Equal(data.Length, await uploader.PutOnceAsync(key, () => new MemoryStream(data), data.Length, sha, "image/jpeg", default));
        Assert.Equal(0, await uploader.PutOnceAsync(key, () => new MemoryStream(data), data.Length, sha, "image/jpeg", default));
        var store = S3TestServer.CreateStore();
        var head = await store.HeadAsync(_bucket, key);
        Assert.Equal(sha, head!.Metadata[ObjectUploader.Sha256MetadataKey]);
        Assert.Equal(data, await store.ReadBytesAsync(_bucket, key));
        Assert.Single(await S3TestServer.ListAsync(_bucket, key));
    }

    [Fact]
    public async Task PutOnceAsync_GzipSidecar_StoredAsSentWithContentEncodingAndReadBackAsJson()
    {
        var json = System.Text.Encoding.UTF8.GetBytes("{\"schema-version\":1,\"reason\":\"uncertain-box\",\"pad\":\"" + new string('x', 2000) + "\"}");
        var gz = ObjectContent.Compress(json);
        var sha = EdgeTestKit.Sha(gz);
        var key = $"incoming/it/2026/11/26/{sha}.jpg.json";
        var uploader = Uploader(_bucket);

        Assert.Equal(gz.Length, await uploader.PutOnceAsync(key, () => new MemoryStream(gz), gz.Length, sha, "application/json", default, mayExist: false, contentEncoding: ObjectContent.Gzip));
        // A resumed upload compares the stored (compressed) size and SHA-256: nothing is sent again.
        Assert.Equal(0, await uploader.PutOnceAsync(key, () => new MemoryStream(gz), gz.Length, sha, "application/json", default, contentEncoding: ObjectContent.Gzip));

        using var client = S3TestServer.CreateClient();
        var meta = await client.GetObjectMetadataAsync(_bucket, key);
        Assert.Equal("gzip", meta.Headers.ContentEncoding);
        Assert.Equal(gz.Length, meta.ContentLength);
        var store = S3TestServer.CreateStore();
        Assert.Equal(ObjectContent.Gzip, (await store.HeadAsync(_bucket, key))!.Metadata[ObjectContent.ContentEncodingKey]);
        // S3 hands back the stored bytes; the shared reader decodes them.
        Assert.Equal(gz, await store.ReadBytesAsync(_bucket, key));
        Assert.Equal(json, await ObjectContent.ReadJsonBytesAsync(store, _bucket, key, 64 * 1024));
    }

    [Fact]
    public async Task PutOnceAsync_AboveMultipartThreshold_UploadsInPartsWithIdenticalBytes()
    {
        var data = Random(12 * 1024 * 1024, 2);
        var sha = EdgeTestKit.Sha(data);
        var settings = S3TestServer.Settings() with { MultipartThresholdBytes = 5 * 1024 * 1024 };
        var uploader = Uploader(_bucket, settings: settings);
        await uploader.PutOnceAsync("big/" + sha + ".bin", () => new MemoryStream(data), data.Length, sha, "application/octet-stream", default);
        using var client = S3TestServer.CreateClient();
        var meta = await client.GetObjectMetadataAsync(_bucket, "big/" + sha + ".bin");
        // A multipart ETag is "<md5-of-part-md5s>-<parts>".
        Assert.Contains("-", meta.ETag.Trim('"'));
        Assert.Equal(data, await S3TestServer.CreateStore().ReadBytesAsync(_bucket, "big/" + sha + ".bin"));
    }

    [Fact]
    public async Task PutOnceAsync_WithBandwidthCap_ChargesEveryByteOnce()
    {
        var data = Random(300_000, 3);
        var cap = new TokenBucket(bytesPerSecond: 2_000_000, burstBytes: 64 * 1024);
        var sha = EdgeTestKit.Sha(data);
        await Uploader(_bucket, cap).PutOnceAsync("capped/" + sha, () => new MemoryStream(data), data.Length, sha, "application/octet-stream", default, mayExist: false);
        Assert.InRange(cap.TotalConsumed, data.Length, data.Length);
        Assert.Equal(data, await S3TestServer.CreateStore().ReadBytesAsync(_bucket, "capped/" + sha));
    }

    [Fact]
    public async Task PutOnceAsync_WhenLinkIsCut_FailsThenSucceedsAfterRestore()
    {
        using var proxy = TcpProxy.For(S3TestServer.Endpoint);
        var uploader = Uploader(_bucket, settings: S3TestServer.Settings(proxy.Endpoint, TimeSpan.FromSeconds(5)));
        var data = Random(20_000, 4);
        var sha = EdgeTestKit.Sha(data);
        proxy.Cut();
        await Assert.ThrowsAnyAsync<Exception>(() => uploader.PutOnceAsync("cut/" + sha, () => new MemoryStream(data), data.Length, sha, "image/jpeg", default));
        proxy.Restore();
        Assert.Equal(data.Length, await uploader.PutOnceAsync("cut/" + sha, () => new MemoryStream(data), data.Length, sha, "image/jpeg", default));
        Assert.True(proxy.BytesUp >= data.Length);
    }
}
