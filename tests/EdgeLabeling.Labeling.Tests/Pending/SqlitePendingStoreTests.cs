using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Labeling.Tests.Support;

namespace EdgeLabeling.Labeling.Tests.Pending;

/// <summary>
/// SQLite-only properties of the embedded adapter. Its behaviour (the <see cref="IPendingStore"/> contract,
/// racing claimers included) is tested by the shared contract suite in
/// tests/EdgeLabeling.IntegrationTests/Pending, which runs the same cases against DynamoDB.
/// </summary>
public sealed class SqlitePendingStoreTests : IDisposable
{
    private readonly TempDir _dir = new();

    // Creating the store creates the file and its schema, which the query plan below is read from.
    public SqlitePendingStoreTests() => _ = new SqlitePendingStore(_dir.File("pending.db"));

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void OldestPendingSql_QueryPlan_SeeksThePendingIndexWithoutScanningOrSorting()
    {
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_dir.File("pending.db")}");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "EXPLAIN QUERY PLAN " + SqlitePendingStore.OldestPendingSql;
        var plan = new List<string>();
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                plan.Add(r.GetString(3));
            }
        }

        var step = Assert.Single(plan);
        Assert.StartsWith("SEARCH items USING COVERING INDEX items_pending", step, StringComparison.Ordinal);
        Assert.DoesNotContain(plan, p => p.Contains("TEMP B-TREE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Constructor_ExistingFile_ReopensWithItsData()
    {
        var first = new SqlitePendingStore(_dir.File("pending.db"));
        await first.RegisterImageAsync(new ImageArrival(Fixtures.ImageKey(1), Fixtures.Bucket, "t", Fixtures.Start));

        // A second process (or a Lambda cold start) opening the same file sees what the first wrote.
        var reopened = new SqlitePendingStore(_dir.File("pending.db"));

        Assert.Equal(PendingStatus.Half, (await reopened.GetItemAsync(Fixtures.ImageKey(1)))!.Status);
    }
}
