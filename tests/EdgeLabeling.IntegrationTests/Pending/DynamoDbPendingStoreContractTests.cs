using Amazon.DynamoDBv2;
using EdgeLabeling.IntegrationTests.Infrastructure;
using EdgeLabeling.Labeling.Pending;

namespace EdgeLabeling.IntegrationTests.Pending;

/// <summary>
/// The pending-store contract on the DynamoDB adapter against a real DynamoDB-protocol server (dynalite):
/// a fresh table per test, created from <see cref="DynamoDbPendingStore.TableDefinition"/>; every "other
/// process" is its own <see cref="AmazonDynamoDBClient"/>, so racing batchers race over HTTP on the server.
/// </summary>
[Trait("Category", "Integration")]
public sealed class DynamoDbPendingStoreContractTests : PendingStoreContract
{
    private readonly List<AmazonDynamoDBClient> _clients = [];
    private string _table = "";

    protected override async Task<IPendingStore> CreateStoreAsync()
    {
        _table = await DynamoDbTestServer.CreatePendingTableAsync();
        return OpenAnother();
    }

    protected override IPendingStore OpenAnother()
    {
        var client = DynamoDbTestServer.CreateClient();
        lock (_clients)
        {
            _clients.Add(client);
        }

        return new DynamoDbPendingStore(client, _table);
    }

    protected override async Task DeleteStoreAsync()
    {
        if (_table.Length > 0)
        {
            await DynamoDbTestServer.DeleteTableAsync(_table);
        }

        foreach (var c in _clients)
        {
            c.Dispose();
        }
    }
}
