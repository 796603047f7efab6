using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Tests.Simulation;

/// <summary>
/// A uniquely named bucket on the real S3 server (radosgw from scripts/rgw.sh). Reads S3_ENDPOINT,
/// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION with the rgw.sh values as defaults, and fails
/// with instructions (never skips) when nothing answers.
/// </summary>
internal sealed class RadosgwBucket : IAsyncDisposable
{
    public static string Endpoint => Env("S3_ENDPOINT", "http://127.0.0.1:7480");
    public static string AccessKey => Env("AWS_ACCESS_KEY_ID", "TESTACCESSKEY0000001");
    public static string SecretKey => Env("AWS_SECRET_ACCESS_KEY", "testsecretkey0000000000000000000000000001");
    public static string Region => Env("AWS_REGION", "us-east-1");

    private readonly AmazonS3Client _client;

    private RadosgwBucket(string name, AmazonS3Client client, S3ObjectStore store)
    {
        Name = name;
        _client = client;
        Store = store;
    }

    public string Name { get; }
    public S3ObjectStore Store { get; }

    public static async Task<RadosgwBucket> CreateAsync(string prefix)
    {
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) })
        {
            try
            {
                using var _ = await http.GetAsync(Endpoint);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                throw new InvalidOperationException($"radosgw does not answer at {Endpoint} ({ex.Message}). Start it with 'scripts/rgw.sh start' and export what 'scripts/rgw.sh env' prints.", ex);
            }
        }

        var settings = new S3Settings { ServiceUrl = Endpoint, Region = Region, ChecksumWhenRequired = true };
        var client = settings.CreateClient(new BasicAWSCredentials(AccessKey, SecretKey));
        var name = $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)];
        await client.PutBucketAsync(new PutBucketRequest { BucketName = name });
        return new RadosgwBucket(name, client, new S3ObjectStore(client, settings));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await foreach (var o in Store.ListAsync(Name, ""))
            {
                await _client.DeleteObjectAsync(Name, o.Key);
            }

            await _client.DeleteBucketAsync(Name);
        }
        catch (AmazonS3Exception)
        {
            // Cleanup is best effort; the server is throwaway.
        }

        _client.Dispose();
    }

    private static string Env(string name, string fallback) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : fallback;
}
