using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Queue;
using EdgeLabeling.IntegrationTests.Infrastructure;
using EdgeLabeling.Storage;

namespace EdgeLabeling.IntegrationTests.Edge;

/// <summary>The outbox on a file system that is really full (a tmpfs filled to the last page).</summary>
[Trait("Category", "Integration")]
public sealed class OutboxDiskFullTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 9, 0, 0, TimeSpan.Zero);
    private readonly TmpfsMount _disk = TmpfsMount.Create(3 * 1024 * 1024);

    public void Dispose() => _disk.Dispose();

    private string QueueDir => Path.Combine(_disk.Path, "queue");

    private static OutboxEntry Review(int seed, int size = 40_000)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        var sha = EdgeTestKit.Sha(bytes);
        return new OutboxEntry(QueuePriority.Review, $"incoming/dev1/2026/11/26/{sha}.jpg", sha, "image/jpeg", bytes, System.Text.Encoding.UTF8.GetBytes("{\"sidecar\":" + seed + "}"));
    }

    [Fact]
    public void Enqueue_OnFullDisk_FailsAsDiskFullAndLeavesNothingBehind()
    {
        using var outbox = Outbox.Open(QueueDir, 1L << 30);
        Assert.Equal(EnqueueStatus.Accepted, outbox.Enqueue([Review(1)], RoutingOutcome.HumanReview, Now).Status);
        var used = outbox.UsedBytes;
        _disk.FillCompletely();

        var ex = Assert.ThrowsAny<Exception>(() => outbox.Enqueue([Review(2)], RoutingOutcome.HumanReview, Now));

        Assert.True(Outbox.IsDiskFull(ex), $"not recognised as disk full: {ex.GetType().Name}: {ex.Message}");
        Assert.Equal(used, outbox.UsedBytes);
        Assert.Equal(1, outbox.GetStats().Lanes[QueuePriority.Review].Items);
        // No half-written blob or temp file: only the first item's blob.
        Assert.Single(Directory.GetFiles(outbox.BlobDirectory));
    }

    [Fact]
    public void Complete_OnFullDisk_GivesUpTheSpaceReserveSoTheQueueCanShrink()
    {
        var outbox = Outbox.Open(QueueDir, 1L << 30);
        Assert.True(outbox.HasSpaceReserve);
        for (var i = 0; i < 5; i++)
        {
            outbox.Enqueue([Review(i)], RoutingOutcome.HumanReview, Now);
        }

        var ballast = _disk.FillCompletely();
        Assert.Equal(0, _disk.FreeBytes);

        for (var i = 0; i < 5; i++)
        {
            var item = outbox.Peek(QueuePriority.Review, Now)!;
            outbox.Complete(item, item.Bytes, Now);
        }

        Assert.False(outbox.HasSpaceReserve);
        Assert.Null(outbox.Peek(QueuePriority.Review, Now));
        Assert.Empty(Directory.GetFiles(outbox.BlobDirectory));

        // Once the other writer's file is gone, the next finished upload puts the reserve back.
        File.Delete(ballast);
        outbox.Enqueue([Review(9)], RoutingOutcome.HumanReview, Now);
        var last = outbox.Peek(QueuePriority.Review, Now)!;
        outbox.Complete(last, last.Bytes, Now);
        Assert.True(outbox.HasSpaceReserve);
        outbox.Dispose();
    }

    [Fact]
    public void Complete_OnFullDiskWithoutReserve_FreesTheBlobFirstSoTheQueueCanShrink()
    {
        // Too little room for a reserve when the queue opens: the blob-first fallback is what remains.
        var early = _disk.FillCompletely("early-ballast.bin");
        var shrink = new FileStream(early, FileMode.Open);
        shrink.SetLength(Math.Max(0, shrink.Length - (1536 * 1024)));
        shrink.Dispose();
        var outbox = Outbox.Open(QueueDir, 1L << 30);
        Assert.False(outbox.HasSpaceReserve);
        for (var i = 0; i < 5; i++)
        {
            outbox.Enqueue([Review(i)], RoutingOutcome.HumanReview, Now);
        }

        var ballast = _disk.FillCompletely();
        Assert.Equal(0, _disk.FreeBytes);

        // Every queued item is "uploaded" and completed while something else keeps the disk full.
        for (var i = 0; i < 5; i++)
        {
            var item = outbox.Peek(QueuePriority.Review, Now)!;
            outbox.Complete(item, item.Bytes, Now);
        }

        Assert.Null(outbox.Peek(QueuePriority.Review, Now));
        Assert.Equal(0, outbox.UsedBytes);
        Assert.Empty(Directory.GetFiles(outbox.BlobDirectory));
        Assert.Equal(0, outbox.GetStats().Counter(Outbox.Counters.LostMissingBlob));
        Assert.True(File.Exists(ballast));

        // And after a restart the queue is consistent: nothing reported lost, nothing left.
        outbox.Dispose();
        File.Delete(ballast);
        using var reopened = Outbox.Open(QueueDir, 1L << 30);
        Assert.Empty(reopened.Recovery.RowsWithMissingBlob);
        Assert.Null(reopened.Peek(QueuePriority.Review, Now));
    }

    [Fact]
    public void MarkImageDone_OnFullDisk_IsSkippedNotThrown()
    {
        using var outbox = Outbox.Open(QueueDir, 1L << 30);
        outbox.Enqueue([Review(7, size: 1000)], RoutingOutcome.HumanReview, Now);
        var item = outbox.Peek(QueuePriority.Review, Now)!;
        // The WAL has to grow for any new commit, and there is no page left to grow into.
        _disk.FillCompletely();

        var marked = outbox.MarkImageDone(item.Id, item.Bytes, Now);
        outbox.CountSkippedExisting();

        // Both are bookkeeping: they give way instead of stopping the upload; a retry finds the image by HEAD.
        Assert.False(marked);
        Assert.False(outbox.Peek(QueuePriority.Review, Now)!.ImageDone);
        Assert.Equal(0, outbox.GetStats().Counter(Outbox.Counters.SkippedExisting));
    }
}
