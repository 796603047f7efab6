using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using EdgeLabeling.Edge.Upload;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Edge.Tests;

/// <summary>
/// What the uploader does with a HEAD answered 403: under the device policy (s3:ListBucket only under an
/// s3:prefix condition) S3 answers a missing key's HEAD with 403, so the answer means "unknown", never "stop".
/// </summary>
public sealed class ObjectUploaderHeadTests
{
    private const string Bucket = "edge-bucket";
    private const string Key = "incoming/dev1/2026/12/03/aa.jpg";

    [Fact]
    public async Task PutOnceAsync_HeadForbiddenAndKeyMissing_PutsTheObject()
    {
        using var dir = new TempDir();
        var store = new HeadRefusingStore(new FileSystemObjectStore(dir.Path));
        var uploader = new ObjectUploader(new FixedObjectStoreProvider(store), Bucket, null);
        var bytes = Bytes.Random(500, 1);

        var sent = await uploader.PutOnceAsync(Key, () => new MemoryStream(bytes), bytes.Length, Bytes.Sha(bytes), "image/jpeg", CancellationToken.None, mayExist: true);

        Assert.Equal(bytes.Length, sent);
        Assert.Equal(1, store.Heads);
        Assert.Equal(1, uploader.HeadsForbidden);
        Assert.Equal(bytes, await store.Inner.ReadBytesAsync(Bucket, Key));
    }

    [Fact]
    public async Task PutOnceAsync_HeadForbiddenAndPutRefusedForBadKeys_ThrowsThePutsAnswer()
    {
        using var dir = new TempDir();
        var store = new HeadRefusingStore(new FileSystemObjectStore(dir.Path)) { PutError = Forbidden("InvalidAccessKeyId") };
        var uploader = new ObjectUploader(new FixedObjectStoreProvider(store), Bucket, null);
        var bytes = Bytes.Random(500, 2);

        var ex = await Assert.ThrowsAsync<AmazonS3Exception>(() => uploader.PutOnceAsync(Key, () => new MemoryStream(bytes), bytes.Length, Bytes.Sha(bytes), "image/jpeg", CancellationToken.None));

        // The PUT's answer names the problem, so bad keys still pause the whole link.
        Assert.Equal("bad-credentials", UploadWorker.Classify(ex));
        Assert.False(UploadWorker.ConcernsItemOnly(UploadWorker.Classify(ex)));
    }

    private static AmazonS3Exception Forbidden(string code) => new(code, ErrorType.Sender, code, "req", HttpStatusCode.Forbidden);

    /// <summary>A store whose HEAD always answers a bodiless 403, as S3 does for a caller without s3:ListBucket.</summary>
    private sealed class HeadRefusingStore(IObjectStore inner) : IObjectStore
    {
        public IObjectStore Inner => inner;

        public int Heads { get; private set; }

        public AmazonS3Exception? PutError { get; init; }

        public Task PutAsync(string bucket, string key, Stream content, string contentType, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) =>
            PutError is { } e ? Task.FromException(e) : inner.PutAsync(bucket, key, content, contentType, metadata, cancellationToken);

        public Task<StoredObject?> HeadAsync(string bucket, string key, CancellationToken cancellationToken = default)
        {
            Heads++;
            return Task.FromException<StoredObject?>(Forbidden("Forbidden"));
        }

        public Task<Stream?> OpenReadAsync(string bucket, string key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(bucket, key, cancellationToken);

        public IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(bucket, prefix, cancellationToken);

        public Task DeleteAsync(string bucket, string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(bucket, key, cancellationToken);
    }
}
