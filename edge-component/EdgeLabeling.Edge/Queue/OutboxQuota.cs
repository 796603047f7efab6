using System.Globalization;
using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Edge.Queue;

/// <summary>
/// The disk quota: how many bytes the queue holds (blobs and record payloads), whether a new image fits, and under
/// <see cref="EvictionPolicy.EvictLowPriority"/> which queued items make way for it.
/// </summary>
internal sealed class OutboxQuota(SqliteConnection db, OutboxCounters counters, long quotaBytes, EvictionPolicy policy)
{
    public long QuotaBytes => quotaBytes;

    public long UsedBytes { get; private set; }

    /// <summary>Reads the held bytes from the database (on open; afterwards <see cref="Add"/> and <see cref="Free"/> keep it).</summary>
    public void Recount() =>
        UsedBytes = Convert.ToInt64(db.Scalar("SELECT COALESCE(SUM(bytes), 0) FROM items"), CultureInfo.InvariantCulture);

    public bool HasRoomFor(long bytes) => UsedBytes + bytes <= quotaBytes;

    /// <summary>
    /// The items to evict so <paramref name="needed"/> more bytes fit: none when they fit already, null when they
    /// cannot fit even after the evictions the policy allows (back-pressure).
    /// </summary>
    public IReadOnlyList<EvictionVictim>? PlanRoomFor(long needed)
    {
        var victims = new List<EvictionVictim>();
        if (UsedBytes + needed > quotaBytes)
        {
            if (policy == EvictionPolicy.EvictLowPriority)
            {
                victims = PlanEviction(UsedBytes + needed - quotaBytes);
            }

            if (UsedBytes - victims.Sum(v => v.Bytes) + needed > quotaBytes)
            {
                return null;
            }
        }

        return victims;
    }

    /// <summary>Deletes the rows of <paramref name="victims"/> and counts them as drops, in the caller's transaction.</summary>
    public void DeleteEvicted(IReadOnlyList<EvictionVictim> victims, SqliteTransaction tx)
    {
        foreach (var v in victims)
        {
            using var del = db.Command("DELETE FROM items WHERE id = $id", tx);
            del.Parameters.AddWithValue("$id", v.Id);
            del.ExecuteNonQuery();
        }

        if (victims.Count > 0)
        {
            counters.Add(Outbox.Counters.Drops, victims.Count, tx);
        }
    }

    /// <summary>Books bytes whose rows have committed.</summary>
    public void Add(long bytes) => UsedBytes += bytes;

    /// <summary>Releases bytes whose rows have been deleted and committed.</summary>
    public void Free(long bytes) => UsedBytes -= bytes;

    private List<EvictionVictim> PlanEviction(long bytesToFree)
    {
        // Lowest priority first, oldest first; records already frozen into a batch are not touched, review never.
        var victims = new List<EvictionVictim>();
        long freed = 0;
        using var cmd = db.Command("""
            SELECT id, blob, bytes FROM items
            WHERE priority > 0 AND batch_id IS NULL
            ORDER BY priority DESC, id ASC
            """);
        using var r = cmd.ExecuteReader();
        while (freed < bytesToFree && r.Read())
        {
            var bytes = r.GetInt64(2);
            victims.Add(new EvictionVictim(r.GetInt64(0), r.IsDBNull(1) ? null : r.GetString(1), bytes));
            freed += bytes;
        }

        return victims;
    }
}

/// <summary>A queued item chosen to make room: its row, its blob file name (none for records) and the bytes it frees.</summary>
internal readonly record struct EvictionVictim(long Id, string? Blob, long Bytes);
