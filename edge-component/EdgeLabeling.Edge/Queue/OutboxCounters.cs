using System.Globalization;
using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Edge.Queue;

/// <summary>
/// The persistent counters (names in <see cref="Outbox.Counters"/>), kept in the queue's database so they survive
/// restarts. Every write joins the caller's transaction: a counter moves exactly when the change it counts commits.
/// </summary>
internal sealed class OutboxCounters(SqliteConnection db)
{
    public void Add(string name, long delta, SqliteTransaction tx)
    {
        using var cmd = db.Command("INSERT INTO counters(name, value) VALUES ($n, $v) ON CONFLICT(name) DO UPDATE SET value = value + $v", tx);
        cmd.Parameters.AddWithValue("$n", name);
        cmd.Parameters.AddWithValue("$v", delta);
        cmd.ExecuteNonQuery();
    }

    /// <summary>Counts one uploaded object into the totals and into its UTC day (the daily quota); nothing when no bytes were sent.</summary>
    public void AddUpload(long bytes, DateTimeOffset now, SqliteTransaction tx)
    {
        if (bytes <= 0)
        {
            return;
        }

        Add(Outbox.Counters.UploadedBytes, bytes, tx);
        Add(Outbox.Counters.UploadedObjects, 1, tx);
        Add(Outbox.Counters.UploadedOn(DateOnly.FromDateTime(now.UtcDateTime)), bytes, tx);
    }

    /// <summary>The value of one counter; 0 when it was never written.</summary>
    public long Read(string name)
    {
        using var cmd = db.Command("SELECT value FROM counters WHERE name = $n");
        cmd.Parameters.AddWithValue("$n", name);
        return Convert.ToInt64(cmd.ExecuteScalar() ?? 0L, CultureInfo.InvariantCulture);
    }

    public Dictionary<string, long> ReadAll()
    {
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        using var cmd = db.Command("SELECT name, value FROM counters");
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            counters[r.GetString(0)] = r.GetInt64(1);
        }

        return counters;
    }
}
