using EdgeLabeling.Edge.Queue;

namespace EdgeLabeling.Edge.Tests;

public sealed class OutboxCountersTests : IDisposable
{
    private readonly QueueDatabase _db = new();
    private readonly OutboxCounters _counters;

    public OutboxCountersTests() => _counters = new OutboxCounters(_db.Connection);

    public void Dispose() => _db.Dispose();

    private void InTransaction(Action<Microsoft.Data.Sqlite.SqliteTransaction> write, bool commit = true)
    {
        using var tx = _db.Connection.BeginTransaction();
        write(tx);
        if (commit)
        {
            tx.Commit();
        }
    }

    [Fact]
    public void Read_NeverWritten_IsZero()
    {
        Assert.Equal(0, _counters.Read("never"));
        Assert.Empty(_counters.ReadAll());
    }

    [Fact]
    public void Add_SameNameTwice_Sums()
    {
        InTransaction(tx => _counters.Add("drops", 2, tx));
        InTransaction(tx => _counters.Add("drops", 3, tx));

        Assert.Equal(5, _counters.Read("drops"));
        Assert.Equal(new Dictionary<string, long> { ["drops"] = 5 }, _counters.ReadAll());
    }

    [Fact]
    public void Add_InARolledBackTransaction_LeavesTheCounterAlone()
    {
        InTransaction(tx => _counters.Add("drops", 2, tx));
        InTransaction(tx => _counters.Add("drops", 3, tx), commit: false);

        Assert.Equal(2, _counters.Read("drops"));
    }

    [Fact]
    public void AddUpload_CountsTotalsAndTheUtcDay()
    {
        // 23:30 at UTC-5 is already the next day in UTC, and the daily quota is kept by UTC day.
        var lateEvening = new DateTimeOffset(2026, 11, 26, 23, 30, 0, TimeSpan.FromHours(-5));

        InTransaction(tx => _counters.AddUpload(700, lateEvening, tx));

        Assert.Equal(700, _counters.Read(Outbox.Counters.UploadedBytes));
        Assert.Equal(1, _counters.Read(Outbox.Counters.UploadedObjects));
        Assert.Equal(700, _counters.Read(Outbox.Counters.UploadedOn(new DateOnly(2026, 11, 27))));
        Assert.Equal(0, _counters.Read(Outbox.Counters.UploadedOn(new DateOnly(2026, 11, 26))));
    }

    [Fact]
    public void AddUpload_WithNoBytesSent_CountsNothing()
    {
        InTransaction(tx => _counters.AddUpload(0, DateTimeOffset.UnixEpoch, tx));

        Assert.Empty(_counters.ReadAll());
    }
}
