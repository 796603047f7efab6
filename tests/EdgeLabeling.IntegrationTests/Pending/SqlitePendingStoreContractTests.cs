using EdgeLabeling.Labeling.Pending;

namespace EdgeLabeling.IntegrationTests.Pending;

/// <summary>The pending-store contract on the embedded SQLite adapter (a temp file; other processes = other connections).</summary>
public sealed class SqlitePendingStoreContractTests : PendingStoreContract
{
    private readonly TempDir _dir = new("edgelabel-pending-contract-");

    private string DbPath => _dir.File("pending.db");

    protected override Task<IPendingStore> CreateStoreAsync() => Task.FromResult<IPendingStore>(new SqlitePendingStore(DbPath));

    protected override IPendingStore OpenAnother() => new SqlitePendingStore(DbPath);

    protected override Task DeleteStoreAsync()
    {
        // Pooled connections keep the file open; release them before deleting the folder.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
        return Task.CompletedTask;
    }
}
