using EdgeLabeling.Edge.Queue;

namespace EdgeLabeling.Edge.Tests;

public sealed class OutboxQuotaTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 6, 0, 0, TimeSpan.Zero);
    private readonly QueueDatabase _db = new();

    public void Dispose() => _db.Dispose();

    private OutboxQuota Quota(long quotaBytes, EvictionPolicy policy)
    {
        var quota = new OutboxQuota(_db.Connection, new OutboxCounters(_db.Connection), quotaBytes, policy);
        quota.Recount();
        return quota;
    }

    [Fact]
    public void Recount_SumsEveryItemsBytes()
    {
        _db.InsertItem(QueuePriority.Review, 100, Now);
        _db.InsertItem(QueuePriority.AutoLabelRecord, 20, Now);

        var quota = Quota(1000, EvictionPolicy.Backpressure);

        Assert.Equal(120, quota.UsedBytes);
        Assert.True(quota.HasRoomFor(880));
        Assert.False(quota.HasRoomFor(881));
    }

    [Fact]
    public void PlanRoomFor_WhenItFits_EvictsNothingWhateverThePolicy()
    {
        _db.InsertItem(QueuePriority.AutoLabeledImage, 500, Now);

        Assert.Empty(Quota(1000, EvictionPolicy.EvictLowPriority).PlanRoomFor(500)!);
        Assert.Empty(Quota(1000, EvictionPolicy.Backpressure).PlanRoomFor(500)!);
    }

    [Fact]
    public void PlanRoomFor_WithBackpressurePolicyWhenFull_RefusesAndPlansNoEviction()
    {
        _db.InsertItem(QueuePriority.AutoLabeledImage, 500, Now);

        Assert.Null(Quota(1000, EvictionPolicy.Backpressure).PlanRoomFor(501));
    }

    [Fact]
    public void PlanRoomFor_WithEvictPolicy_TakesAutoImagesOldestFirstThenRecordsNeverReviewOrBatchedRecords()
    {
        _db.InsertItem(QueuePriority.Review, 300, Now);
        _db.InsertItem(QueuePriority.AutoLabelRecord, 100, Now, batchId: 1);
        var record = _db.InsertItem(QueuePriority.AutoLabelRecord, 100, Now);
        var olderImage = _db.InsertItem(QueuePriority.AutoLabeledImage, 200, Now, blob: "old.jpg");
        var newerImage = _db.InsertItem(QueuePriority.AutoLabeledImage, 200, Now, blob: "new.jpg");
        var quota = Quota(900, EvictionPolicy.EvictLowPriority);

        // 900 held; 450 more needs 450 freed: both images (400), then the free record (100).
        var victims = quota.PlanRoomFor(450)!;

        Assert.Equal([olderImage, newerImage, record], victims.Select(v => v.Id));
        Assert.Equal(["old.jpg", "new.jpg", null], victims.Select(v => v.Blob));
        Assert.Equal(500, victims.Sum(v => v.Bytes));
    }

    [Fact]
    public void PlanRoomFor_WithEvictPolicyWhenEvictableBytesAreTooFew_Refuses()
    {
        _db.InsertItem(QueuePriority.Review, 800, Now);
        _db.InsertItem(QueuePriority.AutoLabeledImage, 100, Now);

        Assert.Null(Quota(900, EvictionPolicy.EvictLowPriority).PlanRoomFor(101));
    }

    [Fact]
    public void DeleteEvicted_DeletesTheRowsAndCountsThemAsDrops()
    {
        _db.InsertItem(QueuePriority.Review, 300, Now);
        _db.InsertItem(QueuePriority.AutoLabeledImage, 200, Now);
        _db.InsertItem(QueuePriority.AutoLabeledImage, 200, Now);
        var quota = Quota(700, EvictionPolicy.EvictLowPriority);
        var victims = quota.PlanRoomFor(400)!;

        using (var tx = _db.Connection.BeginTransaction())
        {
            quota.DeleteEvicted(victims, tx);
            tx.Commit();
        }

        Assert.Equal(1, _db.Count("SELECT COUNT(*) FROM items"));
        Assert.Equal(2, new OutboxCounters(_db.Connection).Read(Outbox.Counters.Drops));
    }

    [Fact]
    public void DeleteEvicted_WithNoVictims_WritesNoDropsCounter()
    {
        var quota = Quota(700, EvictionPolicy.EvictLowPriority);

        using (var tx = _db.Connection.BeginTransaction())
        {
            quota.DeleteEvicted([], tx);
            tx.Commit();
        }

        Assert.Equal(0, _db.Count("SELECT COUNT(*) FROM counters"));
    }

    [Fact]
    public void AddAndFree_MoveTheHeldBytes()
    {
        var quota = Quota(700, EvictionPolicy.Backpressure);

        quota.Add(500);
        quota.Free(200);

        Assert.Equal(300, quota.UsedBytes);
        Assert.Equal(700, quota.QuotaBytes);
    }
}
