using System.Net;
using Amazon.Runtime;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Edge.Upload;

/// <summary>
/// Puts one content-addressed object. Keys are derived from the content, so a repeated PUT rewrites the same
/// object and can never create a second one; the HEAD only saves bytes: when an object with the same size
/// and <c>sha256</c> metadata is already there (an upload resumed after a crash or a lost response) nothing
/// is sent. The caller skips the HEAD for items no earlier attempt can have touched, which saves a request
/// per object on a healthy link. PUTs go through the bandwidth cap when one is configured.
/// A HEAD answered 403 says nothing either way: under the device policy (s3:ListBucket only with an
/// s3:prefix condition) S3 answers 403 instead of 404 for a missing key, so the PUT follows and its answer,
/// which has a body, tells bad keys from a refused key.
/// </summary>
public sealed class ObjectUploader(IObjectStoreProvider stores, string bucket, TokenBucket? bandwidth)
{
    /// <summary>Metadata key holding the lower-case hex SHA-256 of the object bytes.</summary>
    public const string Sha256MetadataKey = "sha256";

    private long _headsForbidden;

    public string Bucket => bucket;

    /// <summary>
    /// Uploads unless already present; returns the bytes sent (0 when skipped). <paramref name="length"/> and
    /// <paramref name="sha256"/> describe the bytes as stored (compressed when <paramref name="contentEncoding"/> is set).
    /// </summary>
    public async Task<long> PutOnceAsync(string key, Func<Stream> open, long length, string sha256, string contentType, CancellationToken cancellationToken, bool mayExist = true, string? contentEncoding = null)
    {
        var store = stores.Current;
        var head = mayExist ? await HeadOrUnknownAsync(store, key, cancellationToken).ConfigureAwait(false) : null;
        if (head is not null && head.Size == length
            && head.Metadata.TryGetValue(Sha256MetadataKey, out var existing)
            && string.Equals(existing, sha256, StringComparison.OrdinalIgnoreCase))
        {
            return 0;
        }

        await using var raw = open();
        await using Stream body = bandwidth is null ? raw : new ThrottledStream(raw, bandwidth, leaveOpen: true);
        var meta = new Dictionary<string, string>(StringComparer.Ordinal) { [Sha256MetadataKey] = sha256 };
        if (contentEncoding is not null)
        {
            meta[ObjectContent.ContentEncodingKey] = contentEncoding;
        }

        await store.PutAsync(bucket, key, body, contentType, meta, cancellationToken).ConfigureAwait(false);
        return length;
    }

    /// <summary>Times a HEAD was answered 403 and the PUT went ahead without knowing whether the object exists.</summary>
    public long HeadsForbidden => Interlocked.Read(ref _headsForbidden);

    private async Task<StoredObject?> HeadOrUnknownAsync(IObjectStore store, string key, CancellationToken cancellationToken)
    {
        try
        {
            return await store.HeadAsync(bucket, key, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonServiceException ex) when (ex.StatusCode == HttpStatusCode.Forbidden)
        {
            // Missing object without s3:ListBucket, or bad keys: a HEAD answer has no body to say which.
            Interlocked.Increment(ref _headsForbidden);
            return null;
        }
    }
}
