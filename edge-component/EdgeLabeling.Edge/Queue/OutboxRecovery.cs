using System.Globalization;
using EdgeLabeling.Storage;
using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Edge.Queue;

/// <summary>
/// What the queue repairs when it opens after a crash or power cut: blobs written but never acknowledged, temp files
/// of interrupted writes, rows whose blob is gone; and deferred items are given another chance.
/// </summary>
internal static class OutboxRecovery
{
    public static RecoveryReport Run(SqliteConnection db, string blobDirectory, OutboxCounters counters, DiskSpaceReserve reserve)
    {
        var temps = 0;
        var orphans = 0;
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<(long Id, string Key, long Bytes)>();
        using (var cmd = db.Command("SELECT id, object_key, blob, bytes FROM items WHERE blob IS NOT NULL"))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                var blob = r.GetString(2);
                referenced.Add(blob);
                if (!File.Exists(Path.Combine(blobDirectory, blob)))
                {
                    missing.Add((r.GetInt64(0), r.GetString(1), r.GetInt64(3)));
                }
            }
        }

        foreach (var file in Directory.EnumerateFiles(blobDirectory))
        {
            var name = Path.GetFileName(file);
            if (name.StartsWith(AtomicFile.TempPrefix, StringComparison.Ordinal))
            {
                File.Delete(file);
                temps++;
            }
            else if (!referenced.Contains(name))
            {
                // Written before a crash but never acknowledged: the input file is still in the watch folder.
                File.Delete(file);
                orphans++;
            }
        }

        if (missing.Count > 0)
        {
            // Only possible if someone deleted blob files by hand: the row can never be uploaded.
            using var tx = db.BeginTransaction();
            foreach (var m in missing)
            {
                using var del = db.Command("DELETE FROM items WHERE id = $id", tx);
                del.Parameters.AddWithValue("$id", m.Id);
                del.ExecuteNonQuery();
            }

            counters.Add(Outbox.Counters.LostOnRecovery, missing.Count, tx);
            tx.Commit();
        }

        // Deferred items get another chance at once: operators restart the component after fixing what
        // refused them (a bucket policy, a permission), and should not wait out the item back-off.
        db.Execute("UPDATE items SET not_before_utc = 0 WHERE not_before_utc <> 0");

        reserve.Restore();

        var batches = Convert.ToInt32(db.Scalar("SELECT COUNT(*) FROM batches"), CultureInfo.InvariantCulture);
        return new RecoveryReport(temps, orphans, missing.Select(m => m.Key).ToList(), batches);
    }
}
