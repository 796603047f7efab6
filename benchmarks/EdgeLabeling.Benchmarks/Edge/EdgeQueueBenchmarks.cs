using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3.Model;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Queue;
using EdgeLabeling.Edge.Upload;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Benchmarks.Edge;

/// <summary>Short in-process runs: enough to rank and size, cheap on a shared 2-core machine.</summary>
internal sealed class EdgeShortConfig : ManualConfig
{
    public EdgeShortConfig()
    {
        AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(2).WithIterationCount(5));
        AddColumn(StatisticColumn.OperationsPerSecond);
    }
}

/// <summary>
/// Outbox commits per second with <c>synchronous=FULL</c>: a review item is a blob written with
/// write-temp-fsync-rename plus one acknowledging SQLite commit; an auto-label record is a commit only.
/// </summary>
[Config(typeof(EdgeShortConfig))]
public class OutboxCommitBenchmarks
{
    private string _dir = "";
    private Outbox _outbox = null!;
    private byte[] _image = [];
    private byte[] _sidecar = [];
    private int _n;

    /// <summary>Bytes of the queued image (a 320–640 px JPEG is 15–60 kB).</summary>
    [Params(40_000)]
    public int ImageBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "outbox-bench-" + Guid.NewGuid().ToString("N")[..8]);
        _outbox = Outbox.Open(_dir, 64L * 1024 * 1024 * 1024);
        _image = RandomNumberGenerator.GetBytes(ImageBytes);
        _sidecar = new byte[900];
        Array.Fill(_sidecar, (byte)'x');
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _outbox.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Description = "enqueue review item (blob fsync + commit)")]
    public EnqueueStatus EnqueueReview()
    {
        // A distinct key per call; the blob name comes from the SHA-256 field, so vary that too.
        var sha = (++_n).ToString("x64", System.Globalization.CultureInfo.InvariantCulture);
        var key = $"incoming/bench/2026/11/26/{sha}.jpg";
        return _outbox.Enqueue([new OutboxEntry(QueuePriority.Review, key, sha, "image/jpeg", _image, _sidecar)], RoutingOutcome.HumanReview, DateTimeOffset.UtcNow).Status;
    }

    [Benchmark(Description = "enqueue auto-label record (commit only)")]
    public EnqueueStatus EnqueueRecord()
    {
        var sha = (++_n).ToString("x64", System.Globalization.CultureInfo.InvariantCulture);
        var key = $"incoming/bench/2026/11/26/{sha}.jpg";
        return _outbox.Enqueue([new OutboxEntry(QueuePriority.AutoLabelRecord, key, sha, "application/json", ReadOnlyMemory<byte>.Empty, _sidecar)], RoutingOutcome.AutoLabel, DateTimeOffset.UtcNow).Status;
    }
}

/// <summary>
/// Upload throughput to the local radosgw (S3_ENDPOINT, default http://127.0.0.1:7480) through the same
/// <see cref="ObjectUploader"/> the component uses: fresh keys (PUT only) and already-present objects
/// (the HEAD that saves a resend after a crash).
/// </summary>
[Config(typeof(EdgeShortConfig))]
public class S3UploadBenchmarks
{
    private ObjectUploader _uploader = null!;
    private S3ObjectStoreProvider _stores = null!;
    private string _bucket = "";
    private byte[] _data = [];
    private string _sha = "";
    private int _n;

    [Params(40_000, 1_000_000)]
    public int ObjectBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var endpoint = Environment.GetEnvironmentVariable("S3_ENDPOINT") is { Length: > 0 } e ? e : "http://127.0.0.1:7480";
        var settings = new S3Settings { ServiceUrl = endpoint, Region = "us-east-1", ChecksumWhenRequired = true };
        var credentials = new BasicAWSCredentials(
            Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID") is { Length: > 0 } a ? a : "TESTACCESSKEY0000001",
            Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY") is { Length: > 0 } s ? s : "testsecretkey0000000000000000000000000001");
        _stores = new S3ObjectStoreProvider(settings, credentials);
        _bucket = "bench-upload-" + Guid.NewGuid().ToString("N")[..12];
        ((S3ObjectStore)_stores.Current).Client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }).GetAwaiter().GetResult();
        _uploader = new ObjectUploader(_stores, _bucket, null);
        _data = RandomNumberGenerator.GetBytes(ObjectBytes);
        _sha = Convert.ToHexStringLower(SHA256.HashData(_data));
        _uploader.PutOnceAsync("present/" + _sha, () => new MemoryStream(_data), _data.Length, _sha, "application/octet-stream", default).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        // Leave the shared test server as it was: every object, then the bucket.
        var store = (S3ObjectStore)_stores.Current;
        foreach (var o in store.ListAsync(_bucket, "").ToBlockingEnumerable().ToList())
        {
            store.DeleteAsync(_bucket, o.Key).GetAwaiter().GetResult();
        }

        store.Client.DeleteBucketAsync(_bucket).GetAwaiter().GetResult();
        _stores.Dispose();
    }

    [Benchmark(Description = "PUT new object")]
    public Task<long> PutNew() =>
        _uploader.PutOnceAsync($"new/{++_n}-{_sha}", () => new MemoryStream(_data), _data.Length, _sha, "application/octet-stream", default, mayExist: false);

    [Benchmark(Description = "HEAD-skip present object")]
    public Task<long> SkipPresent() =>
        _uploader.PutOnceAsync("present/" + _sha, () => new MemoryStream(_data), _data.Length, _sha, "application/octet-stream", default);
}
