using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using EdgeLabeling.Labeling.Pending;

namespace EdgeLabeling.IntegrationTests.Infrastructure;

[Trait("Category", "Integration")]
public sealed class DynamoDbTestServerTests
{
    [Fact]
    public async Task EnsureReachableAsync_NothingListening_FailsNamingTheStartScript()
    {
        // A port that was free a moment ago: connections are refused, as when dynalite was never started.
        var port = FreePort.Next();

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => DynamoDbTestServer.EnsureReachableAsync($"http://127.0.0.1:{port}"));

        Assert.Contains("scripts/dynamodb.sh ensure", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{port}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreatePendingTableAsync_OnDynalite_CreatesTheAdaptersTableWithActiveIndexes()
    {
        var name = await DynamoDbTestServer.CreatePendingTableAsync("it-schema");
        try
        {
            using var client = DynamoDbTestServer.CreateClient();
            var table = (await client.DescribeTableAsync(name)).Table;
            var expected = DynamoDbPendingStore.TableDefinition(name);

            Assert.Equal(TableStatus.ACTIVE, table.TableStatus);
            Assert.Equal(expected.KeySchema.Select(k => (k.AttributeName, k.KeyType.Value)), table.KeySchema.Select(k => (k.AttributeName, k.KeyType.Value)));
            Assert.Equal(
                expected.GlobalSecondaryIndexes.Select(i => (i.IndexName, i.Projection.ProjectionType.Value, string.Join(",", i.KeySchema.Select(k => k.AttributeName)))).OrderBy(i => i.IndexName, StringComparer.Ordinal),
                table.GlobalSecondaryIndexes.Select(i => (i.IndexName, i.Projection.ProjectionType.Value, string.Join(",", i.KeySchema.Select(k => k.AttributeName)))).OrderBy(i => i.IndexName, StringComparer.Ordinal));
        }
        finally
        {
            await DynamoDbTestServer.DeleteTableAsync(name);
        }

        using var after = DynamoDbTestServer.CreateClient();
        // Like DynamoDB, dynalite answers DeleteTable with DELETING and drops the table a moment later.
        try
        {
            Assert.Equal(TableStatus.DELETING, (await after.DescribeTableAsync(name)).Table.TableStatus);
        }
        catch (ResourceNotFoundException)
        {
        }
    }
}
