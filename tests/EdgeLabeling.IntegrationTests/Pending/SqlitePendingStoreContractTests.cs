using EdgeLabeling.Labeling.Pending;

namespace EdgeLabeling.IntegrationTests.Pending;

/// <summary>The pending-store contract on the embedded SQLite adapter (a temp file; other processes = other connections).</summary>
public sealed class SqlitePendingStoreContractTests : PendingStoreContract
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgelabel-pending-contract-").FullName;

    private string DbPath => Path.Combine(_dir, "pending.db");

    protected override Task<IPendingStore> CreateStoreAsync() => Task.FromResult<IPendingStore>(new SqlitePendingStore(DbPath));

    protected override IPendingStore OpenAnother() => new SqlitePendingStore(DbPath);

    protected override Task DeleteStoreAsync()
    {
        // Pooled connections keep the file open; release them before deleting the folder.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }
}
