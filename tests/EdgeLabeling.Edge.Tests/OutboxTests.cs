using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Queue;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Edge.Tests;

public sealed class OutboxTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 6, 0, 0, TimeSpan.Zero);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Enqueue_ThenReopen_ItemAndBlobSurvive()
    {
        var entry = Bytes.Review(1);
        using (var outbox = Outbox.Open(_dir.Path, 10 * MiB))
        {
            Assert.Equal(EnqueueStatus.Accepted, outbox.Enqueue([entry], RoutingOutcome.HumanReview, Now).Status);
        }

        using var reopened = Outbox.Open(_dir.Path, 10 * MiB);
        var item = reopened.Peek(QueuePriority.Review);
        Assert.NotNull(item);
        Assert.Equal(entry.ObjectKey, item.ObjectKey);
        Assert.Equal(entry.ImageBytes.ToArray(), File.ReadAllBytes(item.BlobPath!));
        Assert.Equal(entry.Payload.ToArray(), item.Payload);
        Assert.Equal(1, reopened.GetStats().Counter(Outbox.Counters.Outcome(RoutingOutcome.HumanReview)));
        Assert.Equal(entry.DiskBytesForTest(), reopened.UsedBytes);
    }

    [Fact]
    public void Open_WithTempFileAndUnacknowledgedBlob_RemovesBoth()
    {
        using (var outbox = Outbox.Open(_dir.Path, 10 * MiB))
        {
            outbox.Enqueue([Bytes.Review(1)], RoutingOutcome.HumanReview, Now);
        }

        var blobs = Path.Combine(_dir.Path, "blobs");
        File.WriteAllText(Path.Combine(blobs, AtomicFile.TempPrefix + "p0-x.jpg-123"), "half");
        File.WriteAllText(Path.Combine(blobs, "p0-" + new string('b', 64) + ".jpg"), "crashed before commit");

        using var reopened = Outbox.Open(_dir.Path, 10 * MiB);
        Assert.Equal(1, reopened.Recovery.TempFilesRemoved);
        Assert.Equal(1, reopened.Recovery.OrphanBlobsRemoved);
        Assert.Single(Directory.GetFiles(blobs));
        Assert.NotNull(reopened.Peek(QueuePriority.Review));
    }

    [Fact]
    public void Open_WhenRowLostItsBlob_ReportsAndRemovesRow()
    {
        var entry = Bytes.Review(7);
        using (var outbox = Outbox.Open(_dir.Path, 10 * MiB))
        {
            outbox.Enqueue([entry], RoutingOutcome.HumanReview, Now);
        }

        foreach (var f in Directory.GetFiles(Path.Combine(_dir.Path, "blobs")))
        {
            File.Delete(f);
        }

        using var reopened = Outbox.Open(_dir.Path, 10 * MiB);
        Assert.Equal([entry.ObjectKey], reopened.Recovery.RowsWithMissingBlob);
        Assert.Null(reopened.Peek(QueuePriority.Review));
        Assert.Equal(1, reopened.GetStats().Counter(Outbox.Counters.LostOnRecovery));
        Assert.Equal(0, reopened.UsedBytes);
    }

    [Fact]
    public void Enqueue_SameEntryTwice_SecondIsAlreadyQueuedAndNotCountedAgain()
    {
        using var outbox = Outbox.Open(_dir.Path, 10 * MiB);
        var e = Bytes.Review(3);
        Assert.Equal(EnqueueStatus.Accepted, outbox.Enqueue([e], RoutingOutcome.HumanReview, Now).Status);
        Assert.Equal(EnqueueStatus.AlreadyQueued, outbox.Enqueue([e], RoutingOutcome.HumanReview, Now).Status);
        var stats = outbox.GetStats();
        Assert.Equal(1, stats.Lanes[QueuePriority.Review].Items);
        Assert.Equal(1, stats.Counter(Outbox.Counters.Outcome(RoutingOutcome.HumanReview)));
    }

    [Fact]
    public void Peek_ReturnsOldestOfTheLane()
    {
        using var outbox = Outbox.Open(_dir.Path, 10 * MiB);
        var first = Bytes.Review(1);
        outbox.Enqueue([Bytes.AutoImage(9)], RoutingOutcome.AutoLabel, Now);
        outbox.Enqueue([first], RoutingOutcome.HumanReview, Now);
        outbox.Enqueue([Bytes.Review(2)], RoutingOutcome.HumanReview, Now);
        Assert.Equal(first.ObjectKey, outbox.Peek(QueuePriority.Review)!.ObjectKey);
        Assert.Equal(QueuePriority.AutoLabeledImage, outbox.Peek(QueuePriority.AutoLabeledImage)!.Priority);
        Assert.Throws<ArgumentException>(() => outbox.Peek(QueuePriority.AutoLabelRecord));
    }

    [Fact]
    public void Enqueue_WhenFullWithBackpressurePolicy_RefusesAndWritesNothing()
    {
        using var outbox = Outbox.Open(_dir.Path, 1 * MiB, EvictionPolicy.Backpressure);
        Assert.Equal(EnqueueStatus.Accepted, outbox.Enqueue([Bytes.AutoImage(1, 600_000)], RoutingOutcome.AutoLabel, Now).Status);
        var refused = outbox.Enqueue([Bytes.Review(2, 600_000)], RoutingOutcome.HumanReview, Now);
        Assert.Equal(EnqueueStatus.Backpressure, refused.Status);
        Assert.Null(outbox.Peek(QueuePriority.Review));
        Assert.Single(Directory.GetFiles(outbox.BlobDirectory));
        Assert.Equal(0, outbox.GetStats().Counter(Outbox.Counters.Drops));
    }

    [Fact]
    public void Enqueue_WhenFullWithEvictPolicy_EvictsAutoImagesBeforeRecordsAndKeepsReview()
    {
        using var outbox = Outbox.Open(_dir.Path, 1 * MiB, EvictionPolicy.EvictLowPriority);
        outbox.Enqueue([Bytes.Review(1, 300_000)], RoutingOutcome.HumanReview, Now);
        outbox.Enqueue([Bytes.Record(2, 200_000)], RoutingOutcome.AutoLabel, Now);
        outbox.Enqueue([Bytes.AutoImage(3, 300_000)], RoutingOutcome.AutoLabel, Now);

        var result = outbox.Enqueue([Bytes.Review(4, 300_000)], RoutingOutcome.HumanReview, Now);

        Assert.Equal(EnqueueStatus.Accepted, result.Status);
        Assert.Equal(1, result.Evicted);
        var stats = outbox.GetStats();
        Assert.Equal(2, stats.Lanes[QueuePriority.Review].Items);
        Assert.Equal(1, stats.Lanes[QueuePriority.AutoLabelRecord].Items);
        Assert.Equal(0, stats.Lanes[QueuePriority.AutoLabeledImage].Items);
        Assert.Equal(1, stats.Counter(Outbox.Counters.Drops));
        Assert.Equal(2, Directory.GetFiles(outbox.BlobDirectory).Length);
    }

    [Fact]
    public void Enqueue_WhenReviewAloneFillsQuotaWithEvictPolicy_NeverDropsReview()
    {
        using var outbox = Outbox.Open(_dir.Path, 1 * MiB, EvictionPolicy.EvictLowPriority);
        outbox.Enqueue([Bytes.Review(1, 600_000)], RoutingOutcome.HumanReview, Now);
        var result = outbox.Enqueue([Bytes.Review(2, 600_000)], RoutingOutcome.HumanReview, Now);
        Assert.Equal(EnqueueStatus.Backpressure, result.Status);
        Assert.Equal(1, outbox.GetStats().Lanes[QueuePriority.Review].Items);
        Assert.Equal(0, outbox.GetStats().Counter(Outbox.Counters.Drops));
    }

    [Fact]
    public void ClaimLabelBatch_WhenFewAndYoung_ReturnsNullUntilSizeOrAgeReached()
    {
        using var outbox = Outbox.Open(_dir.Path, 10 * MiB);
        outbox.Enqueue([Bytes.Record(1)], RoutingOutcome.AutoLabel, Now);
        outbox.Enqueue([Bytes.Record(2)], RoutingOutcome.AutoLabel, Now);
        Assert.Null(outbox.ClaimLabelBatch("dev1", 3, TimeSpan.FromMinutes(1), Now.AddSeconds(10)));
        var byAge = outbox.ClaimLabelBatch("dev1", 3, TimeSpan.FromMinutes(1), Now.AddMinutes(2));
        Assert.NotNull(byAge);
        Assert.Equal(2, byAge.Records);
    }

    [Fact]
    public void ClaimLabelBatch_AfterCrashBeforeUpload_ResumesSameKeyAndBytes()
    {
        LabelBatch first;
        using (var outbox = Outbox.Open(_dir.Path, 10 * MiB))
        {
            for (var i = 0; i < 5; i++)
            {
                outbox.Enqueue([Bytes.Record(i)], RoutingOutcome.AutoLabel, Now);
            }

            first = outbox.ClaimLabelBatch("dev1", 3, TimeSpan.FromHours(1), Now)!;
        }

        using var reopened = Outbox.Open(_dir.Path, 10 * MiB);
        reopened.Enqueue([Bytes.Record(99)], RoutingOutcome.AutoLabel, Now);
        var again = reopened.ClaimLabelBatch("dev1", 3, TimeSpan.FromHours(1), Now.AddDays(1))!;
        Assert.Equal(1, reopened.Recovery.BatchesResumed);
        Assert.Equal(first.ObjectKey, again.ObjectKey);
        Assert.Equal(first.Content, again.Content);
        Assert.StartsWith(LabelingConventions.AutoLabelsPrefix + "dev1/2026/11/26/", first.ObjectKey);
        Assert.True(ObjectContent.IsGzip(first.Content));
        var lines = ObjectContent.Decode(first.Content, 1 << 20);
        Assert.Equal(3, lines.Count(b => b == (byte)'\n'));
        // Content-addressed by the lines themselves, so the key does not depend on how they were compressed.
        Assert.EndsWith("/" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(lines)) + ".manifest", first.ObjectKey);
    }

    [Fact]
    public void CompleteBatch_RemovesItsRecordsOnly()
    {
        using var outbox = Outbox.Open(_dir.Path, 10 * MiB);
        for (var i = 0; i < 5; i++)
        {
            outbox.Enqueue([Bytes.Record(i)], RoutingOutcome.AutoLabel, Now);
        }

        var before = outbox.UsedBytes;
        var batch = outbox.ClaimLabelBatch("dev1", 3, TimeSpan.FromHours(1), Now)!;
        outbox.CompleteBatch(batch, batch.Content.Length, Now);
        var stats = outbox.GetStats();
        Assert.Equal(2, stats.Lanes[QueuePriority.AutoLabelRecord].Items);
        Assert.True(outbox.UsedBytes < before);
        Assert.Equal(batch.Content.Length, stats.Counter(Outbox.Counters.UploadedBytes));
        Assert.Equal(batch.Content.Length, outbox.UploadedOn(Now));
        Assert.Equal(0, outbox.UploadedOn(Now.AddDays(1)));
    }

    [Fact]
    public void Complete_RemovesRowAndBlobAndFreesQuota()
    {
        using var outbox = Outbox.Open(_dir.Path, 10 * MiB);
        outbox.Enqueue([Bytes.Review(1)], RoutingOutcome.HumanReview, Now);
        var item = outbox.Peek(QueuePriority.Review)!;
        outbox.MarkImageDone(item.Id, 1000, Now);
        Assert.True(outbox.Peek(QueuePriority.Review)!.ImageDone);
        outbox.Complete(item, 20, Now);
        Assert.Null(outbox.Peek(QueuePriority.Review));
        Assert.False(File.Exists(item.BlobPath));
        Assert.Equal(0, outbox.UsedBytes);
        Assert.Equal(2, outbox.GetStats().Counter(Outbox.Counters.UploadedObjects));
    }

    [Fact]
    public void Complete_WhenSameBytesQueuedUnderTwoKeys_KeepsTheOtherBlob()
    {
        using var outbox = Outbox.Open(_dir.Path, 10 * MiB);
        var day1 = Bytes.Review(5);
        var day2 = day1 with { ObjectKey = day1.ObjectKey.Replace("/26/", "/27/", StringComparison.Ordinal) };
        outbox.Enqueue([day1], RoutingOutcome.HumanReview, Now);
        outbox.Enqueue([day2], RoutingOutcome.HumanReview, Now);
        var first = outbox.Peek(QueuePriority.Review)!;
        outbox.Complete(first, 0, Now);
        var second = outbox.Peek(QueuePriority.Review)!;
        Assert.Equal(day2.ObjectKey, second.ObjectKey);
        Assert.Equal(day2.ImageBytes.ToArray(), File.ReadAllBytes(second.BlobPath!));
    }

    [Fact]
    public void Open_WithNonPositiveQuota_Throws()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Outbox.Open(_dir.Path, 0));
        Assert.Contains("quota", ex.Message);
    }
}

internal static class OutboxEntryTestExtensions
{
    public static long DiskBytesForTest(this OutboxEntry e) => e.ImageBytes.Length + e.Payload.Length;
}
