using EdgeLabeling.Edge.Queue;

namespace EdgeLabeling.Edge.Tests;

public sealed class OutboxSchemaTests : IDisposable
{
    private readonly QueueDatabase _db = new();

    public void Dispose() => _db.Dispose();

    private object? Pragma(string name)
    {
        using var cmd = _db.Connection.CreateCommand();
        cmd.CommandText = "PRAGMA " + name;
        return cmd.ExecuteScalar();
    }

    [Fact]
    public void Apply_SetsTheDurabilityAndWalSizeSettings()
    {
        Assert.Equal("wal", Pragma("journal_mode"));
        Assert.Equal(2L, Pragma("synchronous")); // FULL
        Assert.Equal(5000L, Pragma("busy_timeout"));
        Assert.Equal(256L, Pragma("wal_autocheckpoint"));
        Assert.Equal(1048576L, Pragma("journal_size_limit"));
    }

    [Fact]
    public void Apply_OnAnUpToDateQueue_ChangesNothingAndKeepsRows()
    {
        _db.InsertItem(QueuePriority.Review, 100, DateTimeOffset.UnixEpoch);
        var columns = _db.Count("SELECT COUNT(*) FROM pragma_table_info('items')");

        OutboxSchema.Apply(_db.Connection);

        Assert.Equal(columns, _db.Count("SELECT COUNT(*) FROM pragma_table_info('items')"));
        Assert.Equal(1, _db.Count("SELECT COUNT(*) FROM items"));
        Assert.Equal(1, _db.Count("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'items_peek'"));
    }
}
