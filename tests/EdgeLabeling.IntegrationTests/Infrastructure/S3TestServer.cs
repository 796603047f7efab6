using System.Net.Http;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using EdgeLabeling.Storage;

namespace EdgeLabeling.IntegrationTests.Infrastructure;

/// <summary>
/// The real S3 server of the integration tests (Ceph radosgw started by <c>scripts/rgw.sh</c>). Reads
/// S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION, defaulting to the values
/// <c>scripts/rgw.sh env</c> prints. Tests that need it call <see cref="CreateBucketAsync"/>, which fails
/// with a clear message (never skips) when the server does not answer.
/// </summary>
public static class S3TestServer
{
    public const string DefaultEndpoint = "http://127.0.0.1:7480";
    public const string DefaultAccessKey = "TESTACCESSKEY0000001";
    public const string DefaultSecretKey = "testsecretkey0000000000000000000000000001";

    public static string Endpoint => Env("S3_ENDPOINT", DefaultEndpoint);
    public static string AccessKey => Env("AWS_ACCESS_KEY_ID", DefaultAccessKey);
    public static string SecretKey => Env("AWS_SECRET_ACCESS_KEY", DefaultSecretKey);
    public static string Region => Env("AWS_REGION", "us-east-1");

    public static BasicAWSCredentials Credentials => new(AccessKey, SecretKey);

    /// <summary>Settings for the server: endpoint override, path style, WHEN_REQUIRED checksums (radosgw rejects CRC trailers).</summary>
    public static S3Settings Settings(string? endpoint = null, TimeSpan? timeout = null) => new()
    {
        ServiceUrl = endpoint ?? Endpoint,
        Region = Region,
        ChecksumWhenRequired = true,
        Timeout = timeout ?? TimeSpan.FromSeconds(30),
    };

    public static AmazonS3Client CreateClient(string? endpoint = null) => Settings(endpoint).CreateClient(Credentials);

    public static S3ObjectStore CreateStore(string? endpoint = null)
    {
        var settings = Settings(endpoint);
        return new S3ObjectStore(settings.CreateClient(Credentials), settings);
    }

    /// <summary>Throws with instructions when nothing answers at the endpoint.</summary>
    public static async Task EnsureReachableAsync(string? endpoint = null)
    {
        var url = endpoint ?? Endpoint;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var _ = await http.GetAsync(url);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            throw new InvalidOperationException(
                $"The S3 server (radosgw) does not answer at {url}: {ex.Message}. Start it with 'scripts/rgw.sh start' " +
                "(or run scripts/test.sh, which starts it) and export the variables 'scripts/rgw.sh env' prints.", ex);
        }
    }

    /// <summary>Creates a bucket with a unique name starting with <paramref name="prefix"/>.</summary>
    public static async Task<string> CreateBucketAsync(string prefix, string? endpoint = null)
    {
        await EnsureReachableAsync(endpoint);
        var clean = new string(prefix.ToLowerInvariant().Where(c => char.IsAsciiLetterOrDigit(c) || c == '-').ToArray()).Trim('-');
        // At most 20 + 1 + 32 characters: always a valid, unique bucket name.
        var name = $"{(clean.Length == 0 ? "t" : clean[..Math.Min(clean.Length, 20)].TrimEnd('-'))}-{Guid.NewGuid():N}";
        using var client = CreateClient(endpoint);
        await client.PutBucketAsync(new PutBucketRequest { BucketName = name });
        return name;
    }

    /// <summary>Deletes every object and the bucket; best effort (used in cleanup).</summary>
    public static async Task DeleteBucketAsync(string bucket, string? endpoint = null)
    {
        try
        {
            using var client = CreateClient(endpoint);
            string? token = null;
            do
            {
                var page = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, ContinuationToken = token });
                foreach (var o in page.S3Objects ?? [])
                {
                    await client.DeleteObjectAsync(bucket, o.Key);
                }

                token = page.IsTruncated == true ? page.NextContinuationToken : null;
            }
            while (token is not null);
            await client.DeleteBucketAsync(bucket);
        }
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException)
        {
        }
    }

    /// <summary>All keys under a prefix with their sizes.</summary>
    public static async Task<Dictionary<string, long>> ListAsync(string bucket, string prefix = "", string? endpoint = null)
    {
        var store = CreateStore(endpoint);
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        await foreach (var o in store.ListAsync(bucket, prefix))
        {
            result[o.Key] = o.Size;
        }

        return result;
    }

    private static string Env(string name, string fallback) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : fallback;
}

/// <summary>A fresh bucket per test class on the shared radosgw, emptied and removed afterwards.</summary>
public sealed class S3BucketFixture : IAsyncLifetime
{
    public string Bucket { get; private set; } = "";

    public async Task InitializeAsync() => Bucket = await S3TestServer.CreateBucketAsync("it");

    public Task DisposeAsync() => S3TestServer.DeleteBucketAsync(Bucket);
}
