using System.Security.Cryptography;
using System.Text;
using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Queue;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Edge.Tests;

public sealed class LabelBatchFreezerTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 6, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(10);
    private readonly QueueDatabase _db = new();
    private readonly LabelBatchFreezer _freezer;

    public LabelBatchFreezerTests() => _freezer = new LabelBatchFreezer(_db.Connection, new OutboxCounters(_db.Connection));

    public void Dispose() => _db.Dispose();

    private long Record(int n, DateTimeOffset? enqueued = null) =>
        _db.InsertItem(QueuePriority.AutoLabelRecord, 10 + n, enqueued ?? Now, payload: "{\"line\":" + n + "}");

    private List<long> RecordsOneToFive() => Enumerable.Range(1, 5).Select(n => Record(n)).ToList();

    [Fact]
    public void Claim_WithOnlyImagesQueued_ReturnsNull()
    {
        _db.InsertItem(QueuePriority.Review, 1000, Now.AddHours(-5), blob: "r.jpg");
        _db.InsertItem(QueuePriority.AutoLabeledImage, 1000, Now.AddHours(-5), blob: "a.jpg");

        Assert.Null(_freezer.Claim("dev1", 3, MaxWait, Now));
        Assert.Equal(0, _db.Count("SELECT COUNT(*) FROM batches"));
    }

    [Fact]
    public void Claim_WhenFewerThanMaxAndYoungerThanMaxWait_FreezesNothing()
    {
        Record(1, Now.AddMinutes(-9));
        Record(2);

        Assert.Null(_freezer.Claim("dev1", 3, MaxWait, Now));
        Assert.Equal(0, _db.Count("SELECT COUNT(*) FROM items WHERE batch_id IS NOT NULL"));
    }

    [Fact]
    public void Claim_WhenOldestHasWaitedMaxWait_FreezesWhatIsWaiting()
    {
        Record(1, Now - MaxWait);
        Record(2);

        var batch = _freezer.Claim("dev1", 3, MaxWait, Now);

        Assert.NotNull(batch);
        Assert.Equal(2, batch.Records);
        Assert.True(batch.Fresh);
    }

    [Fact]
    public void Claim_WhenMaxRecordsWaiting_FreezesTheOldestAsGzipOfTheirLinesUnderTheirHash()
    {
        var ids = RecordsOneToFive();

        var batch = _freezer.Claim("dev1", 3, MaxWait, Now)!;

        var lines = Encoding.UTF8.GetBytes("{\"line\":1}\n{\"line\":2}\n{\"line\":3}\n");
        Assert.Equal(3, batch.Records);
        Assert.True(ObjectContent.IsGzip(batch.Content));
        Assert.Equal(lines, ObjectContent.Decode(batch.Content, 1 << 20));
        Assert.Equal(LabelingConventions.AutoLabelBatchKey("dev1", Now, Convert.ToHexStringLower(SHA256.HashData(lines))), batch.ObjectKey);
        Assert.Equal(3, _db.Count($"SELECT COUNT(*) FROM items WHERE batch_id = {batch.Id} AND id IN ({ids[0]}, {ids[1]}, {ids[2]})"));
        Assert.Equal(2, _db.Count("SELECT COUNT(*) FROM items WHERE batch_id IS NULL"));
    }

    [Fact]
    public void Claim_WithABatchAlreadyFrozen_ReturnsItUnchangedInsteadOfFreezingAnother()
    {
        RecordsOneToFive();
        var first = _freezer.Claim("dev1", 3, MaxWait, Now)!;
        var again = _freezer.Claim("dev1", 3, MaxWait, Now.AddDays(1))!;

        Assert.Equal(first.Id, again.Id);
        Assert.Equal(first.ObjectKey, again.ObjectKey);
        Assert.Equal(first.Content, again.Content);
        Assert.Equal(3, again.Records);
        Assert.False(again.Fresh);
        Assert.Equal(1, _db.Count("SELECT COUNT(*) FROM batches"));
    }

    [Fact]
    public void DeleteUploaded_RemovesTheBatchAndItsRecordsOnlyAndCountsTheUpload()
    {
        RecordsOneToFive();
        var batch = _freezer.Claim("dev1", 3, MaxWait, Now)!;

        var freed = _freezer.DeleteUploaded(batch, 321, Now);

        Assert.Equal(11 + 12 + 13, freed);
        Assert.Equal(0, _db.Count("SELECT COUNT(*) FROM batches"));
        Assert.Equal(2, _db.Count("SELECT COUNT(*) FROM items"));
        var counters = new OutboxCounters(_db.Connection);
        Assert.Equal(321, counters.Read(Outbox.Counters.UploadedBytes));
        Assert.Equal(1, counters.Read(Outbox.Counters.UploadedObjects));
        Assert.Equal(321, counters.Read(Outbox.Counters.UploadedOn(new DateOnly(2026, 11, 26))));
    }
}
