using EdgeLabeling.Edge.Queue;
using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Edge.Tests;

public sealed class DiskSpaceReserveTests : IDisposable
{
    private const int SqliteFull = 13;
    private const int SqliteBusy = 5;
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string ReservePath => _dir.File("space-reserve.bin");

    private DiskSpaceReserve PlentyOfRoom() => new(ReservePath, () => long.MaxValue);

    private DiskSpaceReserve RestoredReserve()
    {
        var reserve = PlentyOfRoom();
        reserve.Restore();
        Assert.True(reserve.IsPresent);
        return reserve;
    }

    private static ScriptedWrite DiskFullFor(int failures) => new(failures, () => new SqliteException("database or disk is full", SqliteFull));

    [Fact]
    public void RunShrinkingWrite_WhenDiskFullWithReserve_GivesItUpAndRetriesOnce()
    {
        var reserve = RestoredReserve();
        var write = DiskFullFor(1);

        var result = reserve.RunShrinkingWrite(write.Run);

        Assert.Equal(ScriptedWrite.Result, result);
        Assert.Equal(2, write.Calls);
        Assert.False(reserve.IsPresent);
        Assert.False(File.Exists(ReservePath));
    }

    [Fact]
    public void RunShrinkingWrite_WhenDiskFullWithoutReserve_ThrowsWithoutRetrying()
    {
        var write = DiskFullFor(int.MaxValue);

        var ex = Assert.Throws<SqliteException>(() => PlentyOfRoom().RunShrinkingWrite(write.Run));

        Assert.Equal(SqliteFull, ex.SqliteErrorCode);
        Assert.Equal(1, write.Calls);
    }

    [Fact]
    public void RunShrinkingWrite_WhenRetryFindsDiskStillFull_ThrowsAfterTwoAttempts()
    {
        var reserve = RestoredReserve();
        var write = DiskFullFor(int.MaxValue);

        Assert.Throws<SqliteException>(() => reserve.RunShrinkingWrite(write.Run));

        Assert.Equal(2, write.Calls);
        Assert.False(reserve.IsPresent);
    }

    // Only SQLite's own disk-full is retried: ENOSPC from a file write is not the WAL's, and the reserve is kept for the WAL.
    [Theory]
    [InlineData("sqlite-busy")]
    [InlineData("enospc-hresult")]
    public void RunShrinkingWrite_OnAnyErrorButSqliteFull_KeepsTheReserveAndThrowsWithoutRetrying(string error)
    {
        var reserve = RestoredReserve();
        var write = new ScriptedWrite(int.MaxValue, () => Error(error));

        var ex = Assert.ThrowsAny<Exception>(() => reserve.RunShrinkingWrite(write.Run));

        Assert.Equal(Error(error).GetType(), ex.GetType());
        Assert.Equal(1, write.Calls);
        Assert.True(reserve.IsPresent);
    }

    [Fact]
    public void Restore_WithRoom_WritesAReserveOfFullSize()
    {
        var reserve = PlentyOfRoom();

        reserve.Restore();

        Assert.Equal(DiskSpaceReserve.SizeBytes, new FileInfo(ReservePath).Length);
        Assert.Equal(DiskSpaceReserve.SizeBytes, Outbox.SpaceReserveBytes);
    }

    [Fact]
    public void Restore_WithLessThanTwiceTheReserveFree_WritesNothing()
    {
        var reserve = new DiskSpaceReserve(ReservePath, () => (2 * DiskSpaceReserve.SizeBytes) - 1);

        reserve.Restore();

        Assert.False(reserve.IsPresent);
    }

    [Fact]
    public void Restore_WithExactlyTwiceTheReserveFree_WritesIt()
    {
        var reserve = new DiskSpaceReserve(ReservePath, () => 2 * DiskSpaceReserve.SizeBytes);

        reserve.Restore();

        Assert.True(reserve.IsPresent);
    }

    [Fact]
    public void Restore_WhenReserveAlreadyOnDisk_LeavesItAndDoesNotAskForFreeSpace()
    {
        File.WriteAllBytes(ReservePath, [1, 2, 3]);
        var reserve = new DiskSpaceReserve(ReservePath, () => throw new InvalidOperationException("free space asked for"));

        reserve.Restore();

        Assert.Equal([1, 2, 3], File.ReadAllBytes(ReservePath));
    }

    [Fact]
    public void Restore_WhenTheFileCannotBeCreated_IsQuietlySkipped()
    {
        var reserve = new DiskSpaceReserve(_dir.File("missing-folder/space-reserve.bin"), () => long.MaxValue);

        reserve.Restore();

        Assert.False(reserve.IsPresent);
    }

    [Fact]
    public void Release_WithoutReserve_ReturnsFalse()
    {
        Assert.False(PlentyOfRoom().Release());
    }

    [Fact]
    public void Release_WithReserve_DeletesItAndReturnsTrue()
    {
        var reserve = RestoredReserve();

        Assert.True(reserve.Release());
        Assert.False(File.Exists(ReservePath));
    }

    // By name rather than as exception objects: theory data is best kept serializable.
    private static Exception Error(string name) => name switch
    {
        "sqlite-full" => new SqliteException("database or disk is full", SqliteFull),
        // An extended result code keeps the primary code in its low byte.
        "sqlite-full-extended" => new SqliteException("database or disk is full", SqliteFull | (1 << 8)),
        "enospc-hresult" => new IOException("write failed", 28),
        "enospc-message" => new IOException("No space left on device : '/var/queue/blobs/x'"),
        "wrapped-sqlite-full" => new InvalidOperationException("enqueue failed", new SqliteException("database or disk is full", SqliteFull)),
        "sqlite-busy" => new SqliteException("database is locked", SqliteBusy),
        "io-permission" => new IOException("permission denied", 13),
        "not-io-with-enospc-text" => new UnauthorizedAccessException("No space left on device"),
        "wrapped-io-eio" => new InvalidOperationException("enqueue failed", new IOException("input/output error", 5)),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown error case"),
    };

    [Theory]
    [InlineData("sqlite-full")]
    [InlineData("sqlite-full-extended")]
    [InlineData("enospc-hresult")]
    [InlineData("enospc-message")]
    [InlineData("wrapped-sqlite-full")]
    public void IsDiskFull_ForEnospcOrSqliteFullAnywhereInTheChain_IsTrue(string error)
    {
        Assert.True(DiskSpaceReserve.IsDiskFull(Error(error)));
        Assert.True(Outbox.IsDiskFull(Error(error)));
    }

    [Theory]
    [InlineData("sqlite-busy")]
    [InlineData("io-permission")]
    [InlineData("not-io-with-enospc-text")]
    [InlineData("wrapped-io-eio")]
    public void IsDiskFull_ForOtherErrors_IsFalse(string error)
    {
        Assert.False(DiskSpaceReserve.IsDiskFull(Error(error)));
    }

    /// <summary>A write that fails with <paramref name="error"/> on its first <paramref name="failures"/> calls, then succeeds.</summary>
    private sealed class ScriptedWrite(int failures, Func<Exception> error)
    {
        public const int Result = 42;

        public int Calls { get; private set; }

        public int Run() => ++Calls <= failures ? throw error() : Result;
    }
}
