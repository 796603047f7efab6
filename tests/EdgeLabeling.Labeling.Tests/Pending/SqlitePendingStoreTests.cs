using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Labeling.Tests.Support;

namespace EdgeLabeling.Labeling.Tests.Pending;

public sealed class SqlitePendingStoreTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly SqlitePendingStore _store;

    public SqlitePendingStoreTests() => _store = new SqlitePendingStore(_dir.File("pending.db"));

    public void Dispose() => _dir.Dispose();

    private async Task AddPendingAsync(int n, DateTimeOffset at)
    {
        var key = Fixtures.ImageKey(n);
        await _store.RegisterImageAsync(new ImageArrival(key, Fixtures.Bucket, "site-7_cam:1", at));
        await _store.RegisterSidecarAsync(new SidecarArrival(key, Fixtures.Bucket, "site-7_cam:1", PendingPayload.From(Fixtures.Review(n)), at));
    }

    [Fact]
    public async Task Register_SameHalfTwice_SecondIsDuplicate()
    {
        var arrival = new ImageArrival(Fixtures.ImageKey(1), Fixtures.Bucket, "t", Fixtures.Start);

        Assert.Equal(RegisterOutcome.HalfStored, await _store.RegisterImageAsync(arrival));
        Assert.Equal(RegisterOutcome.Duplicate, await _store.RegisterImageAsync(arrival));
        Assert.Equal(PendingStatus.Half, (await _store.GetItemAsync(Fixtures.ImageKey(1)))!.Status);
    }

    [Fact]
    public async Task Register_AfterClaim_DoesNotReturnItemToPending()
    {
        await AddPendingAsync(1, Fixtures.Start);
        await _store.ClaimAsync("b1", 10);

        var again = await _store.RegisterImageAsync(new ImageArrival(Fixtures.ImageKey(1), Fixtures.Bucket, "t", Fixtures.Start.AddHours(1)));

        Assert.Equal(RegisterOutcome.Duplicate, again);
        Assert.Equal(PendingStatus.Claimed, (await _store.GetItemAsync(Fixtures.ImageKey(1)))!.Status);
    }

    [Fact]
    public async Task ClaimAsync_TakesOldestFirstUpToMax()
    {
        await AddPendingAsync(1, Fixtures.Start.AddMinutes(5));
        await AddPendingAsync(2, Fixtures.Start);
        await AddPendingAsync(3, Fixtures.Start.AddMinutes(9));

        var claimed = await _store.ClaimAsync("b1", 2);

        Assert.Equal([Fixtures.ImageKey(2), Fixtures.ImageKey(1)], claimed.Select(i => i.ImageKey));
        Assert.All(claimed, i => Assert.Equal("b1", i.BatchId));
        var summary = await _store.GetPendingSummaryAsync();
        Assert.Equal(1, summary.Count);
        Assert.Equal(Fixtures.Start.AddMinutes(9), summary.OldestPendingSince);
    }

    [Fact]
    public async Task ReleaseAndMarkDone_OnlyMoveItemsOfThatBatch()
    {
        await AddPendingAsync(1, Fixtures.Start);
        await AddPendingAsync(2, Fixtures.Start);
        await _store.ClaimAsync("b1", 2);

        Assert.Equal(0, await _store.ReleaseAsync("other", [Fixtures.ImageKey(1)]));
        Assert.Equal(1, await _store.MarkDoneAsync("b1", [Fixtures.ImageKey(1)]));
        Assert.Equal(0, await _store.MarkDoneAsync("b1", [Fixtures.ImageKey(1)]));
        Assert.Equal(1, await _store.ReleaseAsync("b1", [Fixtures.ImageKey(1), Fixtures.ImageKey(2)]));

        Assert.Equal(PendingStatus.Done, (await _store.GetItemAsync(Fixtures.ImageKey(1)))!.Status);
        var back = (await _store.GetItemAsync(Fixtures.ImageKey(2)))!;
        Assert.Equal(PendingStatus.Pending, back.Status);
        Assert.Null(back.BatchId);
        Assert.Equal(Fixtures.Start, back.PendingSince);
    }

    [Fact]
    public async Task TryReserveBudgetAsync_StaleCountOrOverLimit_IsRefused()
    {
        Assert.True(await _store.TryReserveBudgetAsync("2026-11", 0, 10, 0.80m, 1.00m));
        Assert.False(await _store.TryReserveBudgetAsync("2026-11", 0, 1, 0.08m, 1.00m));
        Assert.False(await _store.TryReserveBudgetAsync("2026-11", 10, 5, 0.40m, 1.00m));
        Assert.True(await _store.TryReserveBudgetAsync("2026-11", 10, 2, 0.16m, 1.00m));
        await _store.RefundBudgetAsync("2026-11", 2, 0.16m);

        Assert.Equal(new BudgetState("2026-11", 10, 0.80m), await _store.GetBudgetAsync("2026-11"));
        Assert.Equal(new BudgetState("2026-12", 0, 0m), await _store.GetBudgetAsync("2026-12"));
    }

    [Fact]
    public async Task Batches_CreateIsIdempotentAndStatusMovesConditionally()
    {
        var batch = new BatchRecord("b1", "edgelabel-b1", BatchStatus.Claimed, Fixtures.Start, 0, "2026-11", 0m);

        Assert.True(await _store.TryCreateBatchAsync(batch));
        Assert.False(await _store.TryCreateBatchAsync(batch));
        await _store.SetBatchTotalsAsync("edgelabel-b1", 3, 0.24m);
        Assert.Single(await _store.ListBatchesAsync(BatchStatus.Claimed));
        Assert.True(await _store.TryUpdateBatchStatusAsync("edgelabel-b1", BatchStatus.Claimed, BatchStatus.Created, "arn:x"));
        Assert.False(await _store.TryUpdateBatchStatusAsync("edgelabel-b1", BatchStatus.Claimed, BatchStatus.Created));

        var stored = await _store.GetBatchAsync("edgelabel-b1");
        Assert.Equal(batch with { Status = BatchStatus.Created, ItemCount = 3, ForecastUsd = 0.24m, JobArn = "arn:x" }, stored);
        Assert.Empty(await _store.ListBatchesAsync(BatchStatus.Claimed));
    }

    [Fact]
    public async Task ListHalfPairsAsync_ReturnsOnlyOldHalves()
    {
        await _store.RegisterImageAsync(new ImageArrival(Fixtures.ImageKey(1), Fixtures.Bucket, "t", Fixtures.Start));
        await _store.RegisterImageAsync(new ImageArrival(Fixtures.ImageKey(2), Fixtures.Bucket, "t", Fixtures.Start.AddHours(2)));
        await AddPendingAsync(3, Fixtures.Start);

        var old = await _store.ListHalfPairsAsync(Fixtures.Start.AddHours(1), 10);

        Assert.Equal(Fixtures.ImageKey(1), Assert.Single(old).ImageKey);
    }

    [Fact]
    public async Task ClaimAsync_RacingClaimersOnOneFile_EveryItemInExactlyOneBatch()
    {
        const int items = 400;
        for (var i = 0; i < items; i++)
        {
            await AddPendingAsync(i, Fixtures.Start.AddSeconds(i));
        }

        // Separate store instances = separate connections, like separate processes on one file.
        var claimers = Enumerable.Range(0, 6).Select(c => Task.Run(async () =>
        {
            var store = new SqlitePendingStore(_dir.File("pending.db"));
            var mine = new List<string>();
            for (var round = 0; ; round++)
            {
                var got = await store.ClaimAsync($"c{c}-{round}", 17);
                if (got.Count == 0)
                {
                    return mine;
                }

                mine.AddRange(got.Select(g => g.ImageKey));
            }
        })).ToList();
        var all = (await Task.WhenAll(claimers)).SelectMany(x => x).ToList();

        Assert.Equal(items, all.Count);
        Assert.Equal(items, all.Distinct().Count());
        Assert.Equal(0, (await _store.GetPendingSummaryAsync()).Count);
    }

    [Fact]
    public async Task GetOldestPendingSinceAsync_NothingPending_ReturnsNull()
    {
        Assert.Null(await _store.GetOldestPendingSinceAsync());

        // Half pairs wait for their other half, not for people.
        await _store.RegisterImageAsync(new ImageArrival(Fixtures.ImageKey(1), Fixtures.Bucket, "t", Fixtures.Start.AddHours(-5)));

        Assert.Null(await _store.GetOldestPendingSinceAsync());
    }

    [Fact]
    public async Task GetOldestPendingSinceAsync_OldestClaimedOrDone_ReturnsOldestStillPending()
    {
        await AddPendingAsync(1, Fixtures.Start);
        await AddPendingAsync(2, Fixtures.Start.AddMinutes(10));
        await AddPendingAsync(3, Fixtures.Start.AddMinutes(20));
        Assert.Equal(Fixtures.Start, await _store.GetOldestPendingSinceAsync());

        await _store.ClaimAsync("b1", 2);
        Assert.Equal(Fixtures.Start.AddMinutes(20), await _store.GetOldestPendingSinceAsync());

        await _store.MarkDoneAsync("b1", [Fixtures.ImageKey(1), Fixtures.ImageKey(2)]);
        Assert.Equal(Fixtures.Start.AddMinutes(20), await _store.GetOldestPendingSinceAsync());

        await _store.ClaimAsync("b2", 10);
        Assert.Null(await _store.GetOldestPendingSinceAsync());
    }

    [Fact]
    public async Task GetOldestPendingSinceAsync_ReleasedAfterFailedJob_CountsWithOriginalTime()
    {
        await AddPendingAsync(1, Fixtures.Start);
        await _store.ClaimAsync("b1", 10);
        // A fresh item arrives while the job runs; then the job fails and its item comes back.
        await AddPendingAsync(2, Fixtures.Start.AddHours(30));

        Assert.Equal(1, await _store.ReleaseAsync("b1", [Fixtures.ImageKey(1)]));

        Assert.Equal(Fixtures.Start, await _store.GetOldestPendingSinceAsync());
        Assert.Equal(Fixtures.Start, (await _store.GetPendingSummaryAsync()).OldestPendingSince);
    }

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
}
