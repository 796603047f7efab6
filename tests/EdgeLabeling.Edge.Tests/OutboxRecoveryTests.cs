using EdgeLabeling.Edge.Queue;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Edge.Tests;

public sealed class OutboxRecoveryTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 6, 0, 0, TimeSpan.Zero);
    private readonly QueueDatabase _db = new();
    private readonly OutboxCounters _counters;
    private readonly DiskSpaceReserve _reserve;

    public OutboxRecoveryTests()
    {
        _counters = new OutboxCounters(_db.Connection);
        _reserve = new DiskSpaceReserve(Path.Combine(_db.Folder, "space-reserve.bin"), () => long.MaxValue);
    }

    public void Dispose() => _db.Dispose();

    private void Blob(string name) => File.WriteAllText(Path.Combine(_db.BlobDirectory, name), name);

    private RecoveryReport Run() => OutboxRecovery.Run(_db.Connection, _db.BlobDirectory, _counters, _reserve);

    [Fact]
    public void Run_AfterACrash_RemovesTempFilesAndUnacknowledgedBlobsAndKeepsQueuedOnes()
    {
        _db.InsertItem(QueuePriority.Review, 10, Now, blob: "queued.jpg");
        Blob("queued.jpg");
        Blob(AtomicFile.TempPrefix + "half.jpg-1");
        Blob("never-committed.jpg");

        var report = Run();

        Assert.Equal(1, report.TempFilesRemoved);
        Assert.Equal(1, report.OrphanBlobsRemoved);
        Assert.Empty(report.RowsWithMissingBlob);
        Assert.Equal(["queued.jpg"], Directory.GetFiles(_db.BlobDirectory).Select(Path.GetFileName));
    }

    [Fact]
    public void Run_WhenARowLostItsBlob_RemovesTheRowReportsItsKeyAndCountsIt()
    {
        var lost = _db.InsertItem(QueuePriority.Review, 10, Now, blob: "gone.jpg");
        _db.InsertItem(QueuePriority.AutoLabelRecord, 10, Now);
        var key = _db.Text($"SELECT object_key FROM items WHERE id = {lost}");

        var report = Run();

        Assert.Equal([key], report.RowsWithMissingBlob);
        Assert.Equal(0, _db.Count($"SELECT COUNT(*) FROM items WHERE id = {lost}"));
        Assert.Equal(1, _db.Count("SELECT COUNT(*) FROM items"));
        Assert.Equal(1, _counters.Read(Outbox.Counters.LostOnRecovery));
    }

    [Fact]
    public void Run_GivesDeferredItemsAnotherChanceAndCountsFrozenBatches()
    {
        var deferred = _db.InsertItem(QueuePriority.AutoLabeledImage, 10, Now);
        _db.Execute($"UPDATE items SET not_before_utc = 99999999999999 WHERE id = {deferred}");
        _db.Execute("INSERT INTO batches(object_key, content, records) VALUES ('k', x'00', 1)");

        var report = Run();

        Assert.Equal(0, _db.Count("SELECT COUNT(*) FROM items WHERE not_before_utc <> 0"));
        Assert.Equal(1, report.BatchesResumed);
    }

    [Fact]
    public void Run_WithRoomOnDisk_PutsTheSpaceReserveBack()
    {
        Assert.False(_reserve.IsPresent);

        Run();

        Assert.True(_reserve.IsPresent);
    }
}
