using System.Net.Http;
using Amazon;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using EdgeLabeling.Labeling.Pending;

namespace EdgeLabeling.IntegrationTests.Infrastructure;

/// <summary>
/// The DynamoDB-compatible server of the integration tests (dynalite, in memory, started by
/// <c>scripts/dynamodb.sh</c>). Reads DYNAMODB_ENDPOINT, defaulting to what <c>scripts/dynamodb.sh env</c>
/// prints. Tests call <see cref="CreatePendingTableAsync"/>, which fails with a clear message (never skips)
/// when the server does not answer. Any key pair is accepted; requests are still SigV4-signed like on AWS.
/// </summary>
public static class DynamoDbTestServer
{
    public const string DefaultEndpoint = "http://127.0.0.1:48000";
    public const string Region = "us-east-1";

    public static string Endpoint => Environment.GetEnvironmentVariable("DYNAMODB_ENDPOINT") is { Length: > 0 } v ? v : DefaultEndpoint;

    /// <summary>A new client with its own HTTP connections (one per simulated process in the race tests).</summary>
    public static AmazonDynamoDBClient CreateClient()
    {
        var config = new AmazonDynamoDBConfig
        {
            RegionEndpoint = RegionEndpoint.GetBySystemName(Region),
            ServiceURL = Endpoint,
            AuthenticationRegion = Region,
            Timeout = TimeSpan.FromSeconds(30),
        };
        return new AmazonDynamoDBClient(new BasicAWSCredentials("dynalite-test", "dynalite-test-secret"), config);
    }

    /// <summary>
    /// Code that builds its own client from the SDK's default credential chain (the labeling composition
    /// root, as on Lambda) finds keys in the environment: the ones CI exports (<c>scripts/rgw.sh env</c>),
    /// or those same defaults when a developer runs the tests without exporting them. dynalite accepts any key.
    /// </summary>
    public static void EnsureSdkCredentialsInEnvironment()
    {
        if (Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID") is not { Length: > 0 })
        {
            Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", S3TestServer.AccessKey);
            Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", S3TestServer.SecretKey);
        }
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
                $"The DynamoDB server (dynalite) does not answer at {url}: {ex.Message}. Start it with 'scripts/dynamodb.sh ensure' " +
                "(or run scripts/test.sh, which starts it) and export the variable 'scripts/dynamodb.sh env' prints.", ex);
        }
    }

    /// <summary>
    /// Creates a uniquely named table exactly as <see cref="DynamoDbPendingStore.TableDefinition"/> describes it
    /// (the description the CDK template is tested against) and waits until it is ACTIVE.
    /// </summary>
    public static async Task<string> CreatePendingTableAsync(string prefix = "it-pending")
    {
        await EnsureReachableAsync();
        var name = $"{prefix}-{Guid.NewGuid():N}";
        await CreateActiveTableAsync(DynamoDbPendingStore.TableDefinition(name));
        return name;
    }

    /// <summary>Creates the table and waits until it and its indexes are ACTIVE.</summary>
    public static async Task CreateActiveTableAsync(CreateTableRequest definition)
    {
        await EnsureReachableAsync();
        var name = definition.TableName;
        using var client = CreateClient();
        await client.CreateTableAsync(definition);
        // Even with --createTableMs 0 dynalite answers CREATING first and turns ACTIVE on a later tick (a busy
        // server answers a request before that); DynamoDB Local may take longer. The GSIs must be ACTIVE too.
        await Eventually.Until(
            async () => (await client.DescribeTableAsync(name)).Table is var table
                && table.TableStatus == TableStatus.ACTIVE && (table.GlobalSecondaryIndexes ?? []).All(i => i.IndexStatus == IndexStatus.ACTIVE),
            TimeSpan.FromSeconds(10),
            $"table {name} and its indexes becoming ACTIVE at {Endpoint}",
            poll: TimeSpan.FromMilliseconds(100));
    }

    /// <summary>Deletes the table; best effort (used in cleanup).</summary>
    public static async Task DeleteTableAsync(string name)
    {
        try
        {
            using var client = CreateClient();
            await client.DeleteTableAsync(name);
        }
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException)
        {
        }
    }
}

/// <summary>A fresh pending-store table per test class on the shared dynalite, deleted afterwards.</summary>
public sealed class DynamoDbTableFixture : IAsyncLifetime
{
    public string TableName { get; private set; } = "";

    public async Task InitializeAsync() => TableName = await DynamoDbTestServer.CreatePendingTableAsync();

    public Task DisposeAsync() => DynamoDbTestServer.DeleteTableAsync(TableName);
}
