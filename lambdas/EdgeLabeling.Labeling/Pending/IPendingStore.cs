namespace EdgeLabeling.Labeling.Pending;

/// <summary>
/// The whole pending-item store as one adapter keeps it: the <see cref="IPendingItemStore">items</see>, the
/// <see cref="IBatchStore">batches</see> and the <see cref="IBudgetLedger">budget counter</see>. The three live
/// in one table (DynamoDB) or one file (SQLite), so each adapter implements all three; consumers depend on the
/// part they use, and only what needs every part (the batcher, the job-items ledger) takes this one.
/// </summary>
public interface IPendingStore : IPendingItemStore, IBatchStore, IBudgetLedger;
