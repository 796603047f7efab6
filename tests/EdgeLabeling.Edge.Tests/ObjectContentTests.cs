using System.IO.Compression;
using System.Text;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Edge.Tests;

public sealed class ObjectContentTests : IDisposable
{
    private const string Bucket = "bucket-a";
    private readonly TempDir _root = new("object-content-");
    private readonly FileSystemObjectStore _store;

    public ObjectContentTests() => _store = new FileSystemObjectStore(_root.Path);

    public void Dispose() => _root.Dispose();

    private static readonly byte[] Json = Encoding.UTF8.GetBytes(
        """{"schema-version":1,"image-key":"incoming/dev1/2026/11/26/ab.jpg","pre-annotations":[{"class_id":0,"left":1.5,"top":2.5,"width":3,"height":4,"confidence":0.9}],"provenance":{"source":"model","device":"dev1"}}""");

    [Fact]
    public void Compress_SameInputTwice_GivesIdenticalGzipWithZeroMtime()
    {
        var a = ObjectContent.Compress(Json);
        var b = ObjectContent.Compress(Json);

        Assert.Equal(a, b);
        Assert.True(ObjectContent.IsGzip(a));
        // Bytes 4-7 of the gzip header are the modification time: zero keeps the output a function of the input.
        Assert.Equal(new byte[4], a[4..8]);
        Assert.True(a.Length < Json.Length);
    }

    [Fact]
    public void Compress_ThenDecode_RoundTripsExactly()
    {
        var gz = ObjectContent.Compress(Json);

        Assert.Equal(Json, ObjectContent.Decode(gz, 4096));
        // Any standard gzip reader gets the same bytes back.
        using var reader = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        reader.CopyTo(ms);
        Assert.Equal(Json, ms.ToArray());
    }

    [Fact]
    public void Decode_PlainBytes_ReturnsThemUnchanged()
    {
        Assert.Equal(Json, ObjectContent.Decode(Json, 4096));
        Assert.Empty(ObjectContent.Decode([], 10));
        Assert.Equal(new byte[] { 0x1f }, ObjectContent.Decode([0x1f], 10));
    }

    [Fact]
    public async Task ReadJsonBytesAsync_PlainAndGzipObjects_BothReturnTheJson()
    {
        await _store.PutBytesAsync(Bucket, "k/plain.json", Json, "application/json");
        await _store.PutBytesAsync(Bucket, "k/gzip.json", ObjectContent.Compress(Json), "application/json",
            new Dictionary<string, string> { [ObjectContent.ContentEncodingKey] = ObjectContent.Gzip });

        Assert.Equal(Json, await ObjectContent.ReadJsonBytesAsync(_store, Bucket, "k/plain.json", 4096));
        Assert.Equal(Json, await ObjectContent.ReadJsonBytesAsync(_store, Bucket, "k/gzip.json", 4096));
        Assert.Equal(ObjectContent.Gzip, (await _store.HeadAsync(Bucket, "k/gzip.json"))!.Metadata[ObjectContent.ContentEncodingKey]);
    }

    [Fact]
    public async Task ReadJsonBytesAsync_GzipWithoutEncodingHeader_IsStillDecoded()
    {
        // Headers are not trusted: a copy made by a tool that dropped Content-Encoding still reads right.
        await _store.PutBytesAsync(Bucket, "k/bare.json", ObjectContent.Compress(Json), "application/octet-stream");

        Assert.Equal(Json, await ObjectContent.ReadJsonBytesAsync(_store, Bucket, "k/bare.json", 4096));
    }

    [Fact]
    public async Task ReadJsonBytesAsync_MissingObject_ReturnsNull()
    {
        Assert.Null(await ObjectContent.ReadJsonBytesAsync(_store, Bucket, "k/none.json", 4096));
    }

    [Fact]
    public async Task ReadJsonBytesAsync_DecodedSizeAtLimit_IsAccepted()
    {
        await _store.PutBytesAsync(Bucket, "k/edge.json", ObjectContent.Compress(Json), "application/json");

        Assert.Equal(Json, await ObjectContent.ReadJsonBytesAsync(_store, Bucket, "k/edge.json", Json.Length));
        var ex = await Assert.ThrowsAsync<ObjectTooLargeException>(() => ObjectContent.ReadJsonBytesAsync(_store, Bucket, "k/edge.json", Json.Length - 1));
        Assert.Contains("s3://bucket-a/k/edge.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadJsonBytesAsync_PlainObjectOverLimit_ThrowsTooLarge()
    {
        await _store.PutBytesAsync(Bucket, "k/big.json", new byte[5000], "application/json");

        var ex = await Assert.ThrowsAsync<ObjectTooLargeException>(() => ObjectContent.ReadJsonBytesAsync(_store, Bucket, "k/big.json", 4096));
        Assert.Equal(4096, ex.MaxBytes);
    }

    [Fact]
    public async Task DecodeAsync_GzipBomb_StopsReadingJustPastTheLimit()
    {
        // 64 MB of zeros deflate to ~64 kB. Reading must stop after the limit, long before the compressed input
        // ends: the bomb is refused having inflated only about the limit.
        var bomb = ObjectContent.Compress(new byte[64 << 20]);
        var counting = new CountingStream(new MemoryStream(bomb));
        await using var decoded = await ObjectContent.DecodeAsync(counting);
        var buffer = new byte[8192];
        long inflated = 0;
        int n;
        while (inflated <= 256 * 1024 && (n = await decoded.ReadAsync(buffer)) > 0)
        {
            inflated += n;
        }

        Assert.True(counting.BytesRead < bomb.Length / 4, $"read {counting.BytesRead} of {bomb.Length} compressed bytes");

        await _store.PutBytesAsync(Bucket, "k/bomb.json", bomb, "application/json");
        await Assert.ThrowsAsync<ObjectTooLargeException>(() => ObjectContent.ReadJsonBytesAsync(_store, Bucket, "k/bomb.json", 256 * 1024));
    }

    [Fact]
    public async Task ReadJsonBytesAsync_CorruptGzip_ThrowsInvalidData()
    {
        var gz = ObjectContent.Compress(Json);
        gz.AsSpan(10, 8).Fill(0xff);
        await _store.PutBytesAsync(Bucket, "k/corrupt.json", gz, "application/json");

        await Assert.ThrowsAsync<InvalidDataException>(() => ObjectContent.ReadJsonBytesAsync(_store, Bucket, "k/corrupt.json", 4096));
    }

    [Fact]
    public async Task DecodeAsync_ConcatenatedGzipMembers_YieldsAllLines()
    {
        // Appending one compressed batch to another is still valid gzip; readers must not stop at the first member.
        var both = ObjectContent.Compress("a\n"u8).Concat(ObjectContent.Compress("b\n"u8)).ToArray();
        await using var decoded = await ObjectContent.DecodeAsync(new MemoryStream(both));
        using var reader = new StreamReader(decoded);

        Assert.Equal("a\nb\n", await reader.ReadToEndAsync());
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() { }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            BytesRead += n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            BytesRead += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
