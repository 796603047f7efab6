using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Queue;
using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Edge.Tests;

/// <summary>Items the store refuses for reasons of their own are set aside without blocking their lane.</summary>
public sealed class OutboxDeferralTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 6, 0, 0, TimeSpan.Zero);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Peek_WithDeferredHead_ReturnsNextItemUntilDeferralEnds()
    {
        using var outbox = Outbox.Open(_dir.Path, 10 * MiB);
        outbox.Enqueue([Bytes.Review(1)], RoutingOutcome.HumanReview, Now);
        outbox.Enqueue([Bytes.Review(2)], RoutingOutcome.HumanReview, Now);
        var head = outbox.Peek(QueuePriority.Review, Now)!;

        var attempts = outbox.Defer(head, "access-denied: refused", Now.AddMinutes(1));

        Assert.Equal(1, attempts);
        Assert.Equal(Bytes.Review(2).ObjectKey, outbox.Peek(QueuePriority.Review, Now)!.ObjectKey);
        var again = outbox.Peek(QueuePriority.Review, Now.AddMinutes(1))!;
        Assert.Equal(head.ObjectKey, again.ObjectKey);
        Assert.Equal(1, again.Attempts);
        // Without a clock the deferral is ignored (tools and tests that look at the raw queue).
        Assert.Equal(head.ObjectKey, outbox.Peek(QueuePriority.Review)!.ObjectKey);
    }

    [Fact]
    public void Peek_WhenEveryItemDeferred_ReturnsNullAndStatsCountThem()
    {
        using var outbox = Outbox.Open(_dir.Path, 10 * MiB);
        outbox.Enqueue([Bytes.Review(1)], RoutingOutcome.HumanReview, Now);
        outbox.Enqueue([Bytes.AutoImage(3)], RoutingOutcome.AutoLabel, Now);
        outbox.Defer(outbox.Peek(QueuePriority.Review, Now)!, "rejected: BadDigest", Now.AddSeconds(30));
        outbox.Defer(outbox.Peek(QueuePriority.AutoLabeledImage, Now)!, "access-denied: no", Now.AddSeconds(60));

        Assert.Null(outbox.Peek(QueuePriority.Review, Now));
        Assert.Null(outbox.Peek(QueuePriority.AutoLabeledImage, Now.AddSeconds(59)));
        var stats = outbox.GetStats();
        Assert.Equal(2, stats.DeferredItems);
        // The most recently deferred (latest not-before) error is the one reported.
        Assert.Equal("access-denied: no", stats.LastDeferralError);
        Assert.Equal(1, stats.Lanes[QueuePriority.Review].Items);
    }

    [Fact]
    public void Defer_Twice_CountsAttemptsAndKeepsTheItemQueued()
    {
        using var outbox = Outbox.Open(_dir.Path, 10 * MiB);
        outbox.Enqueue([Bytes.Review(1)], RoutingOutcome.HumanReview, Now);
        var item = outbox.Peek(QueuePriority.Review, Now)!;
        outbox.Defer(item, "first", Now.AddSeconds(1));
        var second = outbox.Defer(item, "second", Now.AddSeconds(2));

        Assert.Equal(2, second);
        Assert.Equal(1, outbox.GetStats().Lanes[QueuePriority.Review].Items);
        Assert.Equal("second", outbox.GetStats().LastDeferralError);
    }

    [Fact]
    public void Open_AfterDeferral_RetriesTheItemAtOnce()
    {
        using (var outbox = Outbox.Open(_dir.Path, 10 * MiB))
        {
            outbox.Enqueue([Bytes.Review(1)], RoutingOutcome.HumanReview, Now);
            outbox.Defer(outbox.Peek(QueuePriority.Review, Now)!, "access-denied", Now.AddHours(1));
            Assert.Null(outbox.Peek(QueuePriority.Review, Now));
        }

        using var reopened = Outbox.Open(_dir.Path, 10 * MiB);
        var item = reopened.Peek(QueuePriority.Review, Now);
        Assert.NotNull(item);
        // The history stays: the next refusal continues the item's back-off rather than starting over.
        Assert.Equal(1, item.Attempts);
    }

    [Fact]
    public void RemoveWithMissingBlob_RemovesRowFreesQuotaAndCountsIt()
    {
        using var outbox = Outbox.Open(_dir.Path, 10 * MiB);
        outbox.Enqueue([Bytes.Review(1, size: 5000)], RoutingOutcome.HumanReview, Now);
        var item = outbox.Peek(QueuePriority.Review, Now)!;
        File.Delete(item.BlobPath!);

        outbox.RemoveWithMissingBlob(item);
        outbox.RemoveWithMissingBlob(item);

        Assert.Null(outbox.Peek(QueuePriority.Review, Now));
        Assert.Equal(0, outbox.UsedBytes);
        Assert.Equal(1, outbox.GetStats().Counter(Outbox.Counters.LostMissingBlob));
    }

    [Fact]
    public void Open_QueueFromFirstRelease_AddsDeferralColumnsAndKeepsItems()
    {
        // A queue written by the first release: the items table without attempts/not_before_utc/last_error.
        using (var outbox = Outbox.Open(_dir.Path, 10 * MiB))
        {
            outbox.Enqueue([Bytes.Review(1)], RoutingOutcome.HumanReview, Now);
        }

        using (var db = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, "outbox.db")};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "DROP INDEX items_peek; ALTER TABLE items DROP COLUMN attempts; ALTER TABLE items DROP COLUMN not_before_utc; ALTER TABLE items DROP COLUMN last_error;";
            cmd.ExecuteNonQuery();
        }

        using var reopened = Outbox.Open(_dir.Path, 10 * MiB);
        var item = reopened.Peek(QueuePriority.Review, Now)!;
        Assert.Equal(Bytes.Review(1).ObjectKey, item.ObjectKey);
        Assert.Equal(0, item.Attempts);
        Assert.Equal(1, reopened.Defer(item, "x", Now.AddSeconds(5)));
        Assert.Null(reopened.Peek(QueuePriority.Review, Now));
    }

    [Fact]
    public void PeekSql_QueryPlan_SeeksTheLaneIndexWithoutScanningOrSorting()
    {
        using (Outbox.Open(_dir.Path, 10 * MiB))
        {
        }

        using var db = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, "outbox.db")};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "EXPLAIN QUERY PLAN " + Outbox.PeekSql;
        cmd.Parameters.AddWithValue("$p", 0);
        cmd.Parameters.AddWithValue("$now", 0L);
        var plan = new List<string>();
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                // SQLite before 3.36 words it "SEARCH TABLE items …" (same plan); the queue runs on the system's SQLite.
                plan.Add(r.GetString(3).Replace("SEARCH TABLE ", "SEARCH ", StringComparison.Ordinal));
            }
        }

        Assert.Equal(["SEARCH items USING INDEX items_peek (priority=?)"], plan);
    }
}
