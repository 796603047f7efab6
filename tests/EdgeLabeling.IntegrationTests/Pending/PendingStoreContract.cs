using System.Security.Cryptography;
using System.Text;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Pending;

namespace EdgeLabeling.IntegrationTests.Pending;

/// <summary>
/// The behaviours every <see cref="IPendingStore"/> adapter promises (see the interface's documentation),
/// run against each real backend by a subclass: SQLite on a temp file and DynamoDB on a dynalite table.
/// "Another process" is <see cref="OpenAnother"/>: a second store instance with its own connection or
/// client on the same data, which is how the race tests put several batchers on one store.
/// </summary>
public abstract class PendingStoreContract : IAsyncLifetime
{
    protected const string Bucket = "edgelabel-incoming";
    protected const string Thing = "site-7_cam:1";
    protected static readonly DateTimeOffset Start = new(2026, 11, 26, 6, 0, 0, TimeSpan.Zero);

    protected IPendingStore Store { get; private set; } = null!;

    /// <summary>Creates the backing storage (file, table) and the first store on it.</summary>
    protected abstract Task<IPendingStore> CreateStoreAsync();

    /// <summary>A second store on the same data with its own connection or client.</summary>
    protected abstract IPendingStore OpenAnother();

    /// <summary>Removes the backing storage.</summary>
    protected abstract Task DeleteStoreAsync();

    public async Task InitializeAsync() => Store = await CreateStoreAsync();

    public Task DisposeAsync() => DeleteStoreAsync();

    protected static string Sha(int n) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("contract-image-" + n)));

    protected static string Key(int n) => ObjectKeyLayout.ImageKey(Thing, Start, Sha(n), "jpg");

    protected static PendingPayload Payload(int n) => new()
    {
        ImageSize = new ImageSizeDto { Width = 640, Height = 480, Depth = 3 },
        ClassNames = ["valve", "gauge"],
        PreAnnotations = [new PreAnnotation { ClassId = n % 2, Left = 10.5 + n, Top = 20, Width = 30, Height = 40.25, Confidence = 0.5 }],
        ModelSha256 = new string('a', 64),
        Reason = "uncertain",
    };

    protected static ImageArrival Image(int n, DateTimeOffset at) => new(Key(n), Bucket, Thing, at);

    protected static SidecarArrival Sidecar(int n, DateTimeOffset at) => new(Key(n), Bucket, Thing, Payload(n), at);

    protected static async Task AddPendingAsync(IPendingStore store, int n, DateTimeOffset at)
    {
        await store.RegisterImageAsync(Image(n, at));
        Assert.Equal(RegisterOutcome.Completed, await store.RegisterSidecarAsync(Sidecar(n, at)));
    }

    protected Task AddPendingAsync(int n, DateTimeOffset at) => AddPendingAsync(Store, n, at);

    private static void AssertSamePayload(PendingPayload expected, PendingPayload? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.ImageSize.Width, actual.ImageSize.Width);
        Assert.Equal(expected.ImageSize.Height, actual.ImageSize.Height);
        Assert.Equal(expected.ClassNames, actual.ClassNames);
        Assert.Equal(expected.ModelSha256, actual.ModelSha256);
        Assert.Equal(expected.Reason, actual.Reason);
        var box = Assert.Single(actual.PreAnnotations);
        Assert.Equal(expected.PreAnnotations[0].Left, box.Left);
        Assert.Equal(expected.PreAnnotations[0].Height, box.Height);
    }

    // ---- registering halves ----

    [Fact]
    public async Task Register_ImageThenSidecar_CompletesPairAsPending()
    {
        Assert.Equal(RegisterOutcome.HalfStored, await Store.RegisterImageAsync(Image(1, Start)));
        Assert.Equal(RegisterOutcome.Completed, await Store.RegisterSidecarAsync(Sidecar(1, Start.AddMinutes(2))));

        var item = (await Store.GetItemAsync(Key(1)))!;
        Assert.Equal(PendingStatus.Pending, item.Status);
        Assert.True(item.HasImage && item.HasSidecar);
        Assert.Equal(Start, item.FirstSeen);
        Assert.Equal(Start.AddMinutes(2), item.PendingSince);
        Assert.Null(item.BatchId);
        Assert.Equal($"s3://{Bucket}/{Key(1)}", item.SourceRef);
        AssertSamePayload(Payload(1), item.Payload);
    }

    [Fact]
    public async Task Register_SidecarThenImage_CompletesPairWithSidecarPayload()
    {
        Assert.Equal(RegisterOutcome.HalfStored, await Store.RegisterSidecarAsync(Sidecar(2, Start)));
        var half = (await Store.GetItemAsync(Key(2)))!;
        Assert.Equal(PendingStatus.Half, half.Status);
        Assert.False(half.HasImage);
        Assert.True(half.HasSidecar);
        Assert.Null(half.PendingSince);

        Assert.Equal(RegisterOutcome.Completed, await Store.RegisterImageAsync(Image(2, Start.AddMinutes(5))));

        var item = (await Store.GetItemAsync(Key(2)))!;
        Assert.Equal(PendingStatus.Pending, item.Status);
        Assert.Equal(Start, item.FirstSeen);
        Assert.Equal(Start.AddMinutes(5), item.PendingSince);
        AssertSamePayload(Payload(2), item.Payload);
    }

    [Fact]
    public async Task Register_SameHalfTwice_SecondIsDuplicateAndChangesNothing()
    {
        Assert.Equal(RegisterOutcome.HalfStored, await Store.RegisterImageAsync(Image(1, Start)));
        Assert.Equal(RegisterOutcome.Duplicate, await Store.RegisterImageAsync(Image(1, Start.AddHours(1))));

        var item = (await Store.GetItemAsync(Key(1)))!;
        Assert.Equal(PendingStatus.Half, item.Status);
        Assert.Equal(Start, item.FirstSeen);
    }

    [Fact]
    public async Task Register_HalfOfCompletedPairAgain_IsDuplicateAndKeepsWaitingTime()
    {
        await AddPendingAsync(1, Start);

        Assert.Equal(RegisterOutcome.Duplicate, await Store.RegisterSidecarAsync(Sidecar(1, Start.AddHours(3))));
        Assert.Equal(RegisterOutcome.Duplicate, await Store.RegisterImageAsync(Image(1, Start.AddHours(3))));

        var item = (await Store.GetItemAsync(Key(1)))!;
        Assert.Equal(PendingStatus.Pending, item.Status);
        Assert.Equal(Start, item.PendingSince);
        Assert.Equal(1, (await Store.GetPendingSummaryAsync()).Count);
    }

    [Fact]
    public async Task Register_AfterClaim_DoesNotReturnItemToPending()
    {
        await AddPendingAsync(1, Start);
        await Store.ClaimAsync("b1", 10);

        Assert.Equal(RegisterOutcome.Duplicate, await Store.RegisterImageAsync(Image(1, Start.AddHours(1))));

        var item = (await Store.GetItemAsync(Key(1)))!;
        Assert.Equal(PendingStatus.Claimed, item.Status);
        Assert.Equal("b1", item.BatchId);
        Assert.Null(await Store.GetOldestPendingSinceAsync());
    }

    [Fact]
    public async Task GetItemAsync_UnknownKey_ReturnsNull()
    {
        Assert.Null(await Store.GetItemAsync(Key(99)));
    }

    // ---- claiming ----

    [Fact]
    public async Task ClaimAsync_SeveralPending_TakesOldestFirstUpToMax()
    {
        await AddPendingAsync(1, Start.AddMinutes(5));
        await AddPendingAsync(2, Start);
        await AddPendingAsync(3, Start.AddMinutes(9));
        // A half pair is never claimable, however old.
        await Store.RegisterImageAsync(Image(4, Start.AddHours(-5)));

        var claimed = await Store.ClaimAsync("b1", 2);

        Assert.Equal([Key(2), Key(1)], claimed.Select(i => i.ImageKey));
        Assert.All(claimed, i => Assert.Equal(("b1", PendingStatus.Claimed), (i.BatchId, i.Status)));
        AssertSamePayload(Payload(2), claimed[0].Payload);
        var summary = await Store.GetPendingSummaryAsync();
        Assert.Equal(new PendingSummary(1, Start.AddMinutes(9)), summary);
    }

    [Fact]
    public async Task ClaimAsync_CalledAgain_NeverReturnsAnItemTwice()
    {
        for (var n = 0; n < 5; n++)
        {
            await AddPendingAsync(n, Start.AddSeconds(n));
        }

        var first = await Store.ClaimAsync("b1", 3);
        var second = await Store.ClaimAsync("b2", 10);
        var third = await Store.ClaimAsync("b3", 10);

        Assert.Equal(3, first.Count);
        Assert.Equal(2, second.Count);
        Assert.Empty(third);
        Assert.Empty(first.Select(i => i.ImageKey).Intersect(second.Select(i => i.ImageKey)));
        Assert.Equal("b1", (await Store.GetItemAsync(first[0].ImageKey))!.BatchId);
    }

    [Fact]
    public async Task ClaimAsync_ZeroMax_ClaimsNothing()
    {
        await AddPendingAsync(1, Start);

        Assert.Empty(await Store.ClaimAsync("b1", 0));
        Assert.Equal(PendingStatus.Pending, (await Store.GetItemAsync(Key(1)))!.Status);
    }

    [Fact]
    public async Task ClaimAsync_NegativeMax_ThrowsNamingTheArgument()
    {
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.ClaimAsync("b1", -1));
        Assert.Equal("max", ex.ParamName);
    }

    // ---- leaving a batch ----

    [Fact]
    public async Task ReleaseAndMarkDone_OtherBatch_MoveNothing()
    {
        await AddPendingAsync(1, Start);
        await AddPendingAsync(2, Start);
        await Store.ClaimAsync("b1", 2);

        Assert.Equal(0, await Store.ReleaseAsync("other", [Key(1)]));
        Assert.Equal(0, await Store.MarkDoneAsync("other", [Key(1), Key(2)]));
        // Unknown keys are not an error: a completion may name images this store never saw.
        Assert.Equal(0, await Store.MarkDoneAsync("b1", [Key(77)]));

        Assert.All(await Store.GetBatchItemsAsync("b1"), i => Assert.Equal(PendingStatus.Claimed, i.Status));
    }

    [Fact]
    public async Task MarkDoneAsync_DuplicateCompletion_IsNoOp()
    {
        await AddPendingAsync(1, Start);
        await AddPendingAsync(2, Start);
        await Store.ClaimAsync("b1", 2);

        Assert.Equal(2, await Store.MarkDoneAsync("b1", [Key(1), Key(2)]));
        Assert.Equal(0, await Store.MarkDoneAsync("b1", [Key(1), Key(2)]));
        // A done item cannot be released back to pending by a late failure event either.
        Assert.Equal(0, await Store.ReleaseAsync("b1", [Key(1)]));

        Assert.Equal(PendingStatus.Done, (await Store.GetItemAsync(Key(1)))!.Status);
        Assert.Equal(0, (await Store.GetPendingSummaryAsync()).Count);
    }

    [Fact]
    public async Task ReleaseAsync_ClaimedItems_ReturnToPendingAndAreClaimableAgain()
    {
        await AddPendingAsync(1, Start);
        await AddPendingAsync(2, Start.AddMinutes(1));
        await Store.ClaimAsync("b1", 2);

        Assert.Equal(1, await Store.MarkDoneAsync("b1", [Key(1)]));
        Assert.Equal(1, await Store.ReleaseAsync("b1", [Key(1), Key(2)]));
        Assert.Equal(0, await Store.ReleaseAsync("b1", [Key(2)]));

        var back = (await Store.GetItemAsync(Key(2)))!;
        Assert.Equal((PendingStatus.Pending, (string?)null, (DateTimeOffset?)Start.AddMinutes(1)), (back.Status, back.BatchId, back.PendingSince));
        var again = await Store.ClaimAsync("b2", 10);
        Assert.Equal([Key(2)], again.Select(i => i.ImageKey));
        Assert.Equal([Key(1)], (await Store.GetBatchItemsAsync("b1")).Select(i => i.ImageKey));
    }

    [Fact]
    public async Task GetBatchItemsAsync_MixedStates_ReturnsClaimedAndDoneItemsOfThatBatchOnly()
    {
        for (var n = 0; n < 6; n++)
        {
            await AddPendingAsync(n, Start.AddSeconds(n));
        }

        await Store.ClaimAsync("b1", 3);
        await Store.ClaimAsync("b2", 2);
        await Store.MarkDoneAsync("b1", [Key(0)]);
        await Store.ReleaseAsync("b1", [Key(2)]);

        var items = await Store.GetBatchItemsAsync("b1");

        Assert.Equal(
            new[] { (Key(0), PendingStatus.Done), (Key(1), PendingStatus.Claimed) }.OrderBy(p => p.Item1, StringComparer.Ordinal),
            items.Select(i => (i.ImageKey, i.Status)).OrderBy(p => p.ImageKey, StringComparer.Ordinal));
        Assert.All(items, i => AssertSamePayload(Payload(i.ImageKey == Key(0) ? 0 : 1), i.Payload));
        Assert.Equal(2, (await Store.GetBatchItemsAsync("b2")).Count);
        Assert.Empty(await Store.GetBatchItemsAsync("nobody"));
    }

    // ---- budget ----

    [Fact]
    public async Task TryReserveBudgetAsync_StaleCountOrOverLimit_IsRefused()
    {
        Assert.True(await Store.TryReserveBudgetAsync("2026-11", 0, 10, 0.80m, 1.00m));
        Assert.False(await Store.TryReserveBudgetAsync("2026-11", 0, 1, 0.08m, 1.00m));
        Assert.False(await Store.TryReserveBudgetAsync("2026-11", 10, 5, 0.40m, 1.00m));
        Assert.True(await Store.TryReserveBudgetAsync("2026-11", 10, 2, 0.16m, 1.00m));

        Assert.Equal(new BudgetState("2026-11", 12, 0.96m), await Store.GetBudgetAsync("2026-11"));
        Assert.Equal(new BudgetState("2026-12", 0, 0m), await Store.GetBudgetAsync("2026-12"));
    }

    [Fact]
    public async Task TryReserveBudgetAsync_ExactlyReachingLimit_IsAllowed()
    {
        Assert.False(await Store.TryReserveBudgetAsync("2026-11", 0, 1, 1.01m, 1.00m));
        Assert.True(await Store.TryReserveBudgetAsync("2026-11", 0, 5, 0.40m, 1.00m));
        Assert.True(await Store.TryReserveBudgetAsync("2026-11", 5, 7, 0.60m, 1.00m));
        Assert.False(await Store.TryReserveBudgetAsync("2026-11", 12, 1, 0.01m, 1.00m));

        Assert.Equal(new BudgetState("2026-11", 12, 1.00m), await Store.GetBudgetAsync("2026-11"));
    }

    [Fact]
    public async Task RefundBudgetAsync_PartOfReservation_GivesItBackAndNextReservationSeesIt()
    {
        Assert.True(await Store.TryReserveBudgetAsync("2026-11", 0, 10, 0.80m, 1.00m));

        await Store.RefundBudgetAsync("2026-11", 4, 0.32m);

        Assert.Equal(new BudgetState("2026-11", 6, 0.48m), await Store.GetBudgetAsync("2026-11"));
        Assert.True(await Store.TryReserveBudgetAsync("2026-11", 6, 6, 0.48m, 1.00m));
        Assert.Equal(new BudgetState("2026-11", 12, 0.96m), await Store.GetBudgetAsync("2026-11"));
    }

    [Fact]
    public async Task RefundBudgetAsync_MoreThanReserved_StopsAtZero()
    {
        Assert.True(await Store.TryReserveBudgetAsync("2026-11", 0, 3, 0.24m, 1.00m));

        // E.g. a refund delivered twice: the counter must not go negative, or later reservations could
        // spend past the limit.
        await Store.RefundBudgetAsync("2026-11", 3, 0.24m);
        await Store.RefundBudgetAsync("2026-11", 3, 0.24m);
        await Store.RefundBudgetAsync("2026-10", 1, 0.08m);

        Assert.Equal(new BudgetState("2026-11", 0, 0m), await Store.GetBudgetAsync("2026-11"));
        Assert.Equal(new BudgetState("2026-10", 0, 0m), await Store.GetBudgetAsync("2026-10"));
        Assert.True(await Store.TryReserveBudgetAsync("2026-11", 0, 12, 0.96m, 1.00m));
        Assert.False(await Store.TryReserveBudgetAsync("2026-11", 12, 1, 0.08m, 1.00m));
    }

    // ---- batches ----

    [Fact]
    public async Task Batches_CreateIsIdempotentAndStatusMovesConditionally()
    {
        var batch = new BatchRecord("b1", "edgelabel-b1", BatchStatus.Claimed, Start, 0, "2026-11", 0m);

        Assert.True(await Store.TryCreateBatchAsync(batch));
        Assert.False(await Store.TryCreateBatchAsync(batch with { BatchId = "b1-retry", ItemCount = 9 }));
        await Store.SetBatchTotalsAsync("edgelabel-b1", 3, 0.24m);
        Assert.Equal(["edgelabel-b1"], (await Store.ListBatchesAsync(BatchStatus.Claimed)).Select(b => b.JobName));
        Assert.True(await Store.TryUpdateBatchStatusAsync("edgelabel-b1", BatchStatus.Claimed, BatchStatus.Created, "arn:x"));
        Assert.False(await Store.TryUpdateBatchStatusAsync("edgelabel-b1", BatchStatus.Claimed, BatchStatus.Created));
        Assert.False(await Store.TryUpdateBatchStatusAsync("edgelabel-unknown", BatchStatus.Claimed, BatchStatus.Created));

        Assert.Equal(batch with { Status = BatchStatus.Created, ItemCount = 3, ForecastUsd = 0.24m, JobArn = "arn:x" }, await Store.GetBatchAsync("edgelabel-b1"));
        Assert.Empty(await Store.ListBatchesAsync(BatchStatus.Claimed));

        // A later move without an ARN keeps the one recorded at creation.
        Assert.True(await Store.TryUpdateBatchStatusAsync("edgelabel-b1", BatchStatus.Created, BatchStatus.Completed));
        Assert.Equal("arn:x", (await Store.GetBatchAsync("edgelabel-b1"))!.JobArn);
    }

    [Fact]
    public async Task ListBatchesAsync_SeveralStatuses_ReturnsOnlyThatStatusOldestFirst()
    {
        await Store.TryCreateBatchAsync(new BatchRecord("b2", "edgelabel-b2", BatchStatus.Claimed, Start.AddMinutes(10), 4, "2026-11", 0.32m));
        await Store.TryCreateBatchAsync(new BatchRecord("b1", "edgelabel-b1", BatchStatus.Claimed, Start, 2, "2026-11", 0.16m));
        await Store.TryCreateBatchAsync(new BatchRecord("b3", "edgelabel-b3", BatchStatus.Created, Start, 1, "2026-11", 0.08m, "arn:b3"));
        await Store.TryUpdateBatchStatusAsync("edgelabel-b3", BatchStatus.Created, BatchStatus.Failed);

        Assert.Equal(["edgelabel-b1", "edgelabel-b2"], (await Store.ListBatchesAsync(BatchStatus.Claimed)).Select(b => b.JobName));
        Assert.Equal(["edgelabel-b3"], (await Store.ListBatchesAsync(BatchStatus.Failed)).Select(b => b.JobName));
        Assert.Empty(await Store.ListBatchesAsync(BatchStatus.Created));
        Assert.Empty(await Store.ListBatchesAsync(BatchStatus.Abandoned));
    }

    [Fact]
    public async Task GetBatchAsync_UnknownJob_ReturnsNull()
    {
        Assert.Null(await Store.GetBatchAsync("edgelabel-none"));
    }

    [Fact]
    public async Task SetBatchTotalsAsync_UnknownJob_ThrowsNamingTheJob()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Store.SetBatchTotalsAsync("edgelabel-none", 1, 0.08m));
        Assert.Contains("edgelabel-none", ex.Message, StringComparison.Ordinal);
        Assert.Null(await Store.GetBatchAsync("edgelabel-none"));
    }

    // ---- half pairs and waiting time ----

    [Fact]
    public async Task ListHalfPairsAsync_MixedAges_ReturnsOnlyOldHalvesUpToMax()
    {
        await Store.RegisterImageAsync(Image(1, Start));
        await Store.RegisterSidecarAsync(Sidecar(2, Start.AddMinutes(1)));
        await Store.RegisterImageAsync(Image(3, Start.AddMinutes(2)));
        await Store.RegisterImageAsync(Image(4, Start.AddHours(2)));
        await AddPendingAsync(5, Start);

        var old = await Store.ListHalfPairsAsync(Start.AddHours(1), 10);
        var two = await Store.ListHalfPairsAsync(Start.AddHours(1), 2);

        // Oldest first, so a sweep limited to a few reports the longest-waiting halves.
        Assert.Equal([Key(1), Key(2), Key(3)], old.Select(i => i.ImageKey));
        Assert.All(old, i => Assert.Equal(PendingStatus.Half, i.Status));
        Assert.Equal([Key(1), Key(2)], two.Select(i => i.ImageKey));
        Assert.Empty(await Store.ListHalfPairsAsync(Start.AddHours(1), 0));
        Assert.Empty(await Store.ListHalfPairsAsync(Start, 10));
    }

    [Fact]
    public async Task ListHalfPairsAsync_NegativeMax_ThrowsNamingTheArgument()
    {
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.ListHalfPairsAsync(Start, -1));
        Assert.Equal("max", ex.ParamName);
    }

    [Fact]
    public async Task GetOldestPendingSinceAsync_NothingPending_ReturnsNull()
    {
        Assert.Null(await Store.GetOldestPendingSinceAsync());
        Assert.Equal(new PendingSummary(0, null), await Store.GetPendingSummaryAsync());

        // Half pairs wait for their other half, not for people.
        await Store.RegisterImageAsync(Image(1, Start.AddHours(-5)));

        Assert.Null(await Store.GetOldestPendingSinceAsync());
        Assert.Equal(new PendingSummary(0, null), await Store.GetPendingSummaryAsync());
    }

    [Fact]
    public async Task GetOldestPendingSinceAsync_OldestClaimedOrDone_ReturnsOldestStillPending()
    {
        await AddPendingAsync(1, Start);
        await AddPendingAsync(2, Start.AddMinutes(10));
        await AddPendingAsync(3, Start.AddMinutes(20));
        Assert.Equal(Start, await Store.GetOldestPendingSinceAsync());

        await Store.ClaimAsync("b1", 2);
        Assert.Equal(Start.AddMinutes(20), await Store.GetOldestPendingSinceAsync());

        await Store.MarkDoneAsync("b1", [Key(1), Key(2)]);
        Assert.Equal(new PendingSummary(1, Start.AddMinutes(20)), await Store.GetPendingSummaryAsync());

        await Store.ClaimAsync("b2", 10);
        Assert.Null(await Store.GetOldestPendingSinceAsync());
    }

    [Fact]
    public async Task GetOldestPendingSinceAsync_ReleasedAfterFailedJob_CountsWithOriginalTime()
    {
        await AddPendingAsync(1, Start);
        await Store.ClaimAsync("b1", 10);
        // A fresh item arrives while the job runs; then the job fails and its item comes back.
        await AddPendingAsync(2, Start.AddHours(30));

        Assert.Equal(1, await Store.ReleaseAsync("b1", [Key(1)]));

        Assert.Equal(Start, await Store.GetOldestPendingSinceAsync());
        Assert.Equal(new PendingSummary(2, Start), await Store.GetPendingSummaryAsync());
        // Released items also go back to their place in the claim order.
        Assert.Equal([Key(1)], (await Store.ClaimAsync("b2", 1)).Select(i => i.ImageKey));
    }

    // ---- several processes at once ----

    [Fact]
    public async Task ClaimAsync_RacingBatchers_EveryItemInExactlyOneBatch()
    {
        const int items = 400;
        for (var i = 0; i < items; i++)
        {
            await AddPendingAsync(i, Start.AddSeconds(i));
        }

        var stores = Enumerable.Range(0, 6).Select(_ => OpenAnother()).ToList();
        // Released together, so the first claimer started cannot drain the store before the others run.
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var claimers = stores.Select((store, c) => Task.Run(async () =>
        {
            await go.Task;
            var mine = new Dictionary<string, List<string>>();
            for (var round = 0; ; round++)
            {
                var batch = $"c{c}-{round}";
                var got = await store.ClaimAsync(batch, 17);
                if (got.Count == 0)
                {
                    return mine;
                }

                mine[batch] = got.Select(g => g.ImageKey).ToList();
            }
        })).ToList();
        go.SetResult();
        var batches = (await Task.WhenAll(claimers)).SelectMany(x => x).ToList();
        var all = batches.SelectMany(b => b.Value).ToList();

        Assert.Equal(items, all.Count);
        Assert.Equal(Enumerable.Range(0, items).Select(Key).Order(StringComparer.Ordinal), all.Order(StringComparer.Ordinal));
        Assert.Equal(new PendingSummary(0, null), await Store.GetPendingSummaryAsync());
        // What each batcher was told it won is exactly what the store recorded for its batch.
        foreach (var (batch, keys) in batches.Take(10))
        {
            Assert.Equal(keys.Order(StringComparer.Ordinal), (await Store.GetBatchItemsAsync(batch)).Select(i => i.ImageKey).Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task TryReserveBudgetAsync_RacingReservers_NeverExceedLimit()
    {
        const decimal limit = 1.00m, price = 0.08m;
        var reservers = Enumerable.Range(0, 8).Select(_ => OpenAnother()).Select(store => Task.Run(async () =>
        {
            var wins = 0;
            while (true)
            {
                var b = await store.GetBudgetAsync("2026-11");
                if (b.SpentUsd + price > limit)
                {
                    return wins;
                }

                if (await store.TryReserveBudgetAsync("2026-11", b.Objects, 1, price, limit))
                {
                    wins++;
                }
            }
        })).ToList();
        var total = (await Task.WhenAll(reservers)).Sum();

        // 12 × 0.08 = 0.96; a 13th would be 1.04.
        Assert.Equal(12, total);
        Assert.Equal(new BudgetState("2026-11", 12, 0.96m), await Store.GetBudgetAsync("2026-11"));
    }

    [Fact]
    public async Task Register_HalvesRacingFromTwoProcesses_ExactlyOneCompletesEachPair()
    {
        const int items = 60;
        var images = OpenAnother();
        var sidecars = OpenAnother();

        var outcomes = await Task.WhenAll(Enumerable.Range(0, items).Select(n => Task.Run(async () =>
        {
            var i = Task.Run(() => images.RegisterImageAsync(Image(n, Start)));
            var s = Task.Run(() => sidecars.RegisterSidecarAsync(Sidecar(n, Start)));
            return new[] { await i, await s };
        })));

        Assert.All(outcomes, o => Assert.Equal(1, o.Count(x => x == RegisterOutcome.Completed)));
        Assert.All(outcomes, o => Assert.Equal(1, o.Count(x => x == RegisterOutcome.HalfStored)));
        Assert.Equal(items, (await Store.GetPendingSummaryAsync()).Count);
        Assert.Equal(items, (await Store.ClaimAsync("b1", 1000)).Count);
    }

    [Fact]
    public async Task MarkDoneAsync_DuplicateCompletionsRacing_MoveEachItemOnce()
    {
        for (var n = 0; n < 30; n++)
        {
            await AddPendingAsync(n, Start.AddSeconds(n));
        }

        var keys = (await Store.ClaimAsync("b1", 100)).Select(i => i.ImageKey).ToList();

        var moved = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => OpenAnother()).Select(s => Task.Run(() => s.MarkDoneAsync("b1", keys))));

        Assert.Equal(30, moved.Sum());
        Assert.All(await Store.GetBatchItemsAsync("b1"), i => Assert.Equal(PendingStatus.Done, i.Status));
    }

    // ---- returns, setting aside, re-queueing ----

    [Fact]
    public async Task ReturnUnlabeledAsync_CountedReturns_SetTheItemAsideAtTheLimitWithItsReason()
    {
        await AddPendingAsync(1, Start);
        await AddPendingAsync(2, Start.AddMinutes(1));

        for (var round = 1; round <= 2; round++)
        {
            await Store.ClaimAsync($"b{round}", 10);
            var outcome = await Store.ReturnUnlabeledAsync($"b{round}", [Key(1), Key(2)], "no-label-in-output", countsAgainstItem: true, setAsideAfterReturns: 3, Start.AddHours(round));
            Assert.Equal(new ReturnOutcome(2, 0), outcome);
        }

        var pendingAgain = (await Store.GetItemAsync(Key(1)))!;
        Assert.Equal((PendingStatus.Pending, 2, "no-label-in-output", (DateTimeOffset?)Start), (pendingAgain.Status, pendingAgain.ReturnCount, pendingAgain.LastReturnReason, pendingAgain.PendingSince));

        await Store.ClaimAsync("b3", 10);
        var third = await Store.ReturnUnlabeledAsync("b3", [Key(1), Key(2)], "no-label-in-output", countsAgainstItem: true, setAsideAfterReturns: 3, Start.AddHours(3));

        Assert.Equal(new ReturnOutcome(2, 2), third);
        var aside = (await Store.GetItemAsync(Key(1)))!;
        Assert.Equal((PendingStatus.SetAside, 3, "no-label-in-output", (DateTimeOffset?)Start.AddHours(3), (string?)null),
            (aside.Status, aside.ReturnCount, aside.LastReturnReason, aside.SetAsideAt, aside.BatchId));
        // Set aside means out of the pool: not counted, not claimed, not the oldest.
        Assert.Equal(0, (await Store.GetPendingSummaryAsync()).Count);
        Assert.Empty(await Store.ClaimAsync("b4", 10));
        Assert.Null(await Store.GetOldestPendingSinceAsync());
    }

    [Fact]
    public async Task ReturnUnlabeledAsync_UncountedReturns_NeverSetAside()
    {
        await AddPendingAsync(1, Start);
        for (var round = 1; round <= 4; round++)
        {
            await Store.ClaimAsync($"b{round}", 10);
            Assert.Equal(new ReturnOutcome(1, 0), await Store.ReturnUnlabeledAsync($"b{round}", [Key(1)], "job-failed", countsAgainstItem: false, setAsideAfterReturns: 1, Start));
        }

        var item = (await Store.GetItemAsync(Key(1)))!;
        Assert.Equal((PendingStatus.Pending, 0, "job-failed"), (item.Status, item.ReturnCount, item.LastReturnReason));
    }

    [Fact]
    public async Task ReturnUnlabeledAsync_LimitZero_NeverSetsAside()
    {
        await AddPendingAsync(1, Start);
        for (var round = 1; round <= 3; round++)
        {
            await Store.ClaimAsync($"b{round}", 10);
            await Store.ReturnUnlabeledAsync($"b{round}", [Key(1)], "no-label-in-output", countsAgainstItem: true, setAsideAfterReturns: 0, Start);
        }

        var item = (await Store.GetItemAsync(Key(1)))!;
        Assert.Equal((PendingStatus.Pending, 3), (item.Status, item.ReturnCount));
    }

    [Fact]
    public async Task ReturnUnlabeledAsync_OtherBatchOrDuplicate_MovesNothingAndCountsNothing()
    {
        await AddPendingAsync(1, Start);
        await Store.ClaimAsync("b1", 10);

        Assert.Equal(new ReturnOutcome(0, 0), await Store.ReturnUnlabeledAsync("other", [Key(1)], "no-label-in-output", true, 1, Start));
        Assert.Equal(new ReturnOutcome(1, 1), await Store.ReturnUnlabeledAsync("b1", [Key(1)], "no-label-in-output", true, 1, Start));
        Assert.Equal(new ReturnOutcome(0, 0), await Store.ReturnUnlabeledAsync("b1", [Key(1)], "no-label-in-output", true, 1, Start));

        Assert.Equal(1, (await Store.GetItemAsync(Key(1)))!.ReturnCount);
    }

    [Fact]
    public async Task ListSetAsideAsync_SeveralSetAside_ListsThemLongestSetAsideFirstUpToMax()
    {
        for (var n = 1; n <= 3; n++)
        {
            await AddPendingAsync(n, Start);
        }

        await AddPendingAsync(4, Start);
        await Store.ClaimAsync("b1", 10);
        await Store.ReturnUnlabeledAsync("b1", [Key(3)], "no-label-in-output", true, 1, Start.AddHours(1));
        await Store.ReturnUnlabeledAsync("b1", [Key(1)], "no-label-in-output", true, 1, Start.AddHours(2));
        await Store.ReturnUnlabeledAsync("b1", [Key(2)], "no-label-in-output", true, 1, Start.AddHours(3));

        Assert.Equal([Key(3), Key(1), Key(2)], (await Store.ListSetAsideAsync(10)).Select(i => i.ImageKey));
        Assert.Equal([Key(3), Key(1)], (await Store.ListSetAsideAsync(2)).Select(i => i.ImageKey));
        Assert.Empty(await Store.ListSetAsideAsync(0));
    }

    [Fact]
    public async Task RequeueSetAsideAsync_SetAsideItem_IsClaimableAgainWithCountResetAndOriginalWait()
    {
        await AddPendingAsync(1, Start);
        await AddPendingAsync(2, Start.AddMinutes(5));
        await Store.ClaimAsync("b1", 10);
        await Store.ReturnUnlabeledAsync("b1", [Key(1)], "no-label-in-output", true, 1, Start.AddHours(1));

        // Only set-aside items move: a claimed item (2) and an unknown key are left alone.
        Assert.Equal(1, await Store.RequeueSetAsideAsync([Key(1), Key(2), "incoming/nope.jpg"]));
        Assert.Equal(0, await Store.RequeueSetAsideAsync([Key(1)]));

        var back = (await Store.GetItemAsync(Key(1)))!;
        Assert.Equal((PendingStatus.Pending, 0, (DateTimeOffset?)null, (DateTimeOffset?)Start), (back.Status, back.ReturnCount, back.SetAsideAt, back.PendingSince));
        Assert.Empty(await Store.ListSetAsideAsync(10));
        Assert.Equal(PendingStatus.Claimed, (await Store.GetItemAsync(Key(2)))!.Status);
        Assert.Equal([Key(1)], (await Store.ClaimAsync("b2", 10)).Select(i => i.ImageKey));
    }

    // ---- job-creation back-off ----

    [Fact]
    public async Task CreationBackoff_ConsecutiveFailures_DoubleTheWaitUpToTheMaxAndClearEndsIt()
    {
        Assert.Null(await Store.GetCreationBackoffAsync());

        var first = await Store.RecordCreationFailureAsync("job-1: AccessDenied", Start, TimeSpan.FromMinutes(30), TimeSpan.FromHours(2));
        var second = await OpenAnother().RecordCreationFailureAsync("job-2: ValidationException", Start.AddHours(1), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2));
        await Store.RecordCreationFailureAsync("job-3", Start.AddHours(2), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2));
        var fourth = await Store.RecordCreationFailureAsync("job-4: CORS", Start.AddHours(3), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2));

        Assert.Equal((1, Start.AddMinutes(30)), (first.Failures, first.NextAttemptAt));
        Assert.Equal((2, Start.AddHours(2)), (second.Failures, second.NextAttemptAt));
        Assert.Equal((4, Start.AddHours(5)), (fourth.Failures, fourth.NextAttemptAt));
        var stored = (await OpenAnother().GetCreationBackoffAsync())!;
        Assert.Equal((4, Start.AddHours(3), Start.AddHours(5), "job-4: CORS"), (stored.Failures, stored.LastFailureAt, stored.NextAttemptAt, stored.Reason));

        await Store.ClearCreationBackoffAsync();

        Assert.Null(await Store.GetCreationBackoffAsync());
        Assert.Equal(1, (await Store.RecordCreationFailureAsync("again", Start.AddHours(9), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2))).Failures);
    }
}
