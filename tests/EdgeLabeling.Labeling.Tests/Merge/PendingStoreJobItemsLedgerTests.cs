using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.Pending;
using ManualTime = EdgeLabeling.Labeling.Tests.Support.ManualTime;

namespace EdgeLabeling.Labeling.Tests.Merge;

/// <summary>The merge's ledger over the batcher's records: known jobs, counted returns, the set-aside limit, the back-off.</summary>
public sealed class PendingStoreJobItemsLedgerTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 6, 0, 0, TimeSpan.Zero);
    private readonly TempDir _dir = new();
    private readonly SqlitePendingStore _store;
    private readonly ManualTime _time = new(Start);
    private readonly PendingStoreJobItemsLedger _ledger;

    public PendingStoreJobItemsLedgerTests()
    {
        _store = new SqlitePendingStore(Path.Combine(_dir.Path, "pending.db"));
        _ledger = new PendingStoreJobItemsLedger(_store, new BatchingPolicy { SetAsideAfterReturns = 2, CreationBackoffInitial = TimeSpan.FromMinutes(30) }, _time);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private static string Key(int n) => ObjectKeyLayout.ImageKey("cam", Start, n.ToString("x64"), "jpg");

    private static string Ref(int n) => "s3://incoming/" + Key(n);

    private async Task<string> JobWithAsync(string job, params int[] items)
    {
        foreach (var n in items)
        {
            if (await _store.GetItemAsync(Key(n)) is null)
            {
                var payload = new PendingPayload { ImageSize = new ImageSizeDto { Width = 8, Height = 8, Depth = 3 }, ClassNames = ["bolt"], PreAnnotations = [] };
                await _store.RegisterImageAsync(new ImageArrival(Key(n), "incoming", "cam", Start));
                await _store.RegisterSidecarAsync(new SidecarArrival(Key(n), "incoming", "cam", payload, Start));
            }
        }

        await _store.TryCreateBatchAsync(new BatchRecord("batch-" + job, job, BatchStatus.Created, Start, items.Length, "2026-11", 0m));
        Assert.Equal(items.Length, (await _store.ClaimAsync("batch-" + job, items.Length)).Count);
        return job;
    }

    [Fact]
    public async Task IsKnownJobAsync_OnlyJobsWithABatchRecord()
    {
        await JobWithAsync("edgelabel-a", 1);

        Assert.True(await _ledger.IsKnownJobAsync("edgelabel-a"));
        Assert.False(await _ledger.IsKnownJobAsync("someone-elses-job"));
    }

    [Fact]
    public async Task ReturnToPendingAsync_SecondCountedReturn_SetsTheItemAside()
    {
        var first = await _ledger.ReturnToPendingAsync(await JobWithAsync("edgelabel-a", 1, 2), [Ref(1), Ref(2)], ReturnReasons.NoLabelInOutput);
        var second = await _ledger.ReturnToPendingAsync(await JobWithAsync("edgelabel-b", 1), [Ref(1)], ReturnReasons.NoLabelInOutput);

        Assert.Equal(new ReturnOutcome(2, 0), first);
        Assert.Equal(new ReturnOutcome(1, 1), second);
        Assert.Equal(PendingStatus.SetAside, (await _store.GetItemAsync(Key(1)))!.Status);
        Assert.Equal(PendingStatus.Pending, (await _store.GetItemAsync(Key(2)))!.Status);
    }

    [Fact]
    public async Task ReturnToPendingAsync_StoppedJobs_DoNotCountAgainstItems()
    {
        await _ledger.ReturnToPendingAsync(await JobWithAsync("edgelabel-a", 1), [Ref(1)], ReturnReasons.JobStopped);
        var again = await _ledger.ReturnToPendingAsync(await JobWithAsync("edgelabel-b", 1), [Ref(1)], ReturnReasons.JobFailed);

        Assert.Equal(new ReturnOutcome(1, 0), again);
        Assert.Equal((PendingStatus.Pending, 0), ((await _store.GetItemAsync(Key(1)))!.Status, (await _store.GetItemAsync(Key(1)))!.ReturnCount));
    }

    [Fact]
    public async Task RecordJobFailedAtStartAsync_StartsThePersistedBackoff()
    {
        await _ledger.RecordJobFailedAtStartAsync("edgelabel-a", "ClientError: CORS");

        var backoff = (await _store.GetCreationBackoffAsync())!;
        Assert.Equal((1, Start.AddMinutes(30)), (backoff.Failures, backoff.NextAttemptAt));
        Assert.Contains("edgelabel-a: ClientError: CORS", backoff.Reason, StringComparison.Ordinal);
    }
}
