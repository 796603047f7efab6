using System.Net;
using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Transfer;

namespace EdgeLabeling.Storage;

/// <summary>Connection settings for S3 or an S3-compatible server.</summary>
public sealed record S3Settings
{
    /// <summary>Endpoint override (e.g. http://127.0.0.1:7480 for radosgw); null means AWS.</summary>
    public string? ServiceUrl { get; init; }
    public string Region { get; init; } = "us-east-1";

    /// <summary>
    /// WHEN_REQUIRED for S3-compatible servers: AWSSDK.S3 v4 otherwise adds CRC trailers that
    /// radosgw and other servers do not understand.
    /// </summary>
    public bool ChecksumWhenRequired { get; init; }

    /// <summary>Parts above this size go through multipart upload.</summary>
    public long MultipartThresholdBytes { get; init; } = 16 * 1024 * 1024;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries are the caller's job (Polly with jitter); the SDK's own retries would hide outages.</summary>
    public int SdkMaxErrorRetry { get; init; }

    public static S3Settings FromEnvironment()
    {
        var endpoint = Environment.GetEnvironmentVariable("S3_ENDPOINT");
        return new S3Settings
        {
            ServiceUrl = string.IsNullOrWhiteSpace(endpoint) ? null : endpoint,
            Region = Environment.GetEnvironmentVariable("AWS_REGION") ?? "us-east-1",
            ChecksumWhenRequired = !string.IsNullOrWhiteSpace(endpoint),
        };
    }

    public AmazonS3Client CreateClient(AWSCredentials? credentials = null)
    {
        var config = new AmazonS3Config
        {
            RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(Region),
            MaxErrorRetry = SdkMaxErrorRetry,
            Timeout = Timeout,
        };
        if (ServiceUrl is not null)
        {
            config.ServiceURL = ServiceUrl;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = Region;
        }

        if (ChecksumWhenRequired)
        {
            config.RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED;
            config.ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED;
        }

        // No credentials given: the SDK's default chain (environment, profile, container provider —
        // which is how a Greengrass core's token exchange service is reached).
        return credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(credentials, config);
    }
}

/// <summary>The object-store port over AWSSDK.S3.</summary>
public sealed class S3ObjectStore(IAmazonS3 s3, S3Settings settings) : IObjectStore
{
    public IAmazonS3 Client => s3;

    public async Task PutAsync(string bucket, string key, Stream content, string contentType, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(bucket, key);
        var length = content.CanSeek ? content.Length - content.Position : -1;
        if (length >= 0 && length <= settings.MultipartThresholdBytes)
        {
            var req = new PutObjectRequest
            {
                BucketName = bucket,
                Key = key,
                InputStream = content,
                AutoCloseStream = false,
                ContentType = contentType,
            };
            if (settings.ServiceUrl is null)
            {
                req.ServerSideEncryptionMethod = ServerSideEncryptionMethod.AWSKMS;
            }

            if (ApplyMetadata(metadata, req.Metadata) is { } encoding)
            {
                req.Headers.ContentEncoding = encoding;
            }

            await s3.PutObjectAsync(req, cancellationToken).ConfigureAwait(false);
            return;
        }

        var tu = new TransferUtility(s3, new TransferUtilityConfig { MinSizeBeforePartUpload = settings.MultipartThresholdBytes });
        var up = new TransferUtilityUploadRequest
        {
            BucketName = bucket,
            Key = key,
            InputStream = content,
            AutoCloseStream = false,
            ContentType = contentType,
            PartSize = Math.Max(5 * 1024 * 1024, settings.MultipartThresholdBytes),
        };
        if (ApplyMetadata(metadata, up.Metadata) is { } partsEncoding)
        {
            up.Headers.ContentEncoding = partsEncoding;
        }

        await tu.UploadAsync(up, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Copies user metadata; <see cref="ObjectContent.ContentEncodingKey"/> becomes the real Content-Encoding
    /// header instead (returned), because readers and tools expect the standard header, not x-amz-meta-.
    /// </summary>
    private static string? ApplyMetadata(IReadOnlyDictionary<string, string>? metadata, MetadataCollection target)
    {
        string? encoding = null;
        foreach (var (k, v) in metadata ?? new Dictionary<string, string>())
        {
            if (string.Equals(k, ObjectContent.ContentEncodingKey, StringComparison.OrdinalIgnoreCase))
            {
                encoding = v;
            }
            else
            {
                target.Add(k, v);
            }
        }

        return encoding;
    }

    public async Task<StoredObject?> HeadAsync(string bucket, string key, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(bucket, key);
        try
        {
            var r = await s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            var meta = ReadMetadata(r.Metadata);
            if (!string.IsNullOrEmpty(r.Headers.ContentEncoding))
            {
                meta[ObjectContent.ContentEncodingKey] = r.Headers.ContentEncoding;
            }

            return new StoredObject(bucket, key, r.ContentLength, r.LastModified ?? DateTime.UtcNow, meta);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static Dictionary<string, string> ReadMetadata(MetadataCollection m)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var k in m.Keys)
        {
            var name = k.StartsWith("x-amz-meta-", StringComparison.OrdinalIgnoreCase) ? k["x-amz-meta-".Length..] : k;
            d[name.ToLowerInvariant()] = m[k];
        }

        return d;
    }

    public async Task<Stream?> OpenReadAsync(string bucket, string key, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(bucket, key);
        try
        {
            var r = await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            return new ResponseOwningStream(r);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectKeys.ValidatePrefix(bucket, prefix);
        string? token = null;
        do
        {
            var r = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = prefix, ContinuationToken = token }, cancellationToken).ConfigureAwait(false);
            foreach (var o in r.S3Objects ?? [])
            {
                yield return new StoredObject(bucket, o.Key, o.Size ?? 0, o.LastModified ?? DateTime.UtcNow, new Dictionary<string, string>());
            }

            token = r.IsTruncated == true ? r.NextContinuationToken : null;
        }
        while (token is not null);
    }

    public async Task DeleteAsync(string bucket, string key, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(bucket, key);
        await s3.DeleteObjectAsync(bucket, key, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Disposes the GetObject response together with its body.</summary>
    private sealed class ResponseOwningStream(GetObjectResponse response) : Stream
    {
        private readonly Stream _inner = response.ResponseStream;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => response.ContentLength;
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
                response.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
