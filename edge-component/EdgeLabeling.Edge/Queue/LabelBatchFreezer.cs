using System.Globalization;
using System.Security.Cryptography;
using EdgeLabeling.Contracts;
using EdgeLabeling.Storage;
using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Edge.Queue;

/// <summary>
/// Freezes waiting auto-label records into one batch row whose key and bytes never change, so a retry after a crash
/// uploads the same object under the same key; and removes a batch with its records once it is uploaded.
/// </summary>
internal sealed class LabelBatchFreezer(SqliteConnection db, OutboxCounters counters)
{
    /// <summary>
    /// The batch frozen earlier and not yet completed, if any; otherwise a new one of up to
    /// <paramref name="maxRecords"/> records when that many are waiting or the oldest has waited
    /// <paramref name="maxWait"/>. Null when nothing is due.
    /// </summary>
    public LabelBatch? Claim(string thingName, int maxRecords, TimeSpan maxWait, DateTimeOffset now)
    {
        var existing = ReadFrozen();
        if (existing is not null)
        {
            return existing;
        }

        using (var probe = db.Command("SELECT COUNT(*), MIN(enqueued_utc) FROM items WHERE priority = 1 AND batch_id IS NULL"))
        using (var r = probe.ExecuteReader())
        {
            r.Read();
            var count = r.GetInt64(0);
            if (count == 0)
            {
                return null;
            }

            var oldest = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1));
            if (count < maxRecords && now - oldest < maxWait)
            {
                return null;
            }
        }

        var ids = new List<long>();
        using var content = new MemoryStream();
        using (var sel = db.Command("SELECT id, payload FROM items WHERE priority = 1 AND batch_id IS NULL ORDER BY id LIMIT $n"))
        {
            sel.Parameters.AddWithValue("$n", maxRecords);
            using var r = sel.ExecuteReader();
            while (r.Read())
            {
                ids.Add(r.GetInt64(0));
                var line = (byte[])r.GetValue(1);
                content.Write(line);
                content.WriteByte((byte)'\n');
            }
        }

        // The key hashes the lines themselves; the frozen content is their gzip (compressed once, here, and
        // stored), so every retry uploads the same bytes under the same key whatever zlib the device has later.
        var lines = content.ToArray();
        var key = LabelingConventions.AutoLabelBatchKey(thingName, now, Convert.ToHexStringLower(SHA256.HashData(lines)));
        var bytes = ObjectContent.Compress(lines);
        using var tx = db.BeginTransaction();
        long batchId;
        // last_insert_rowid() rather than RETURNING (SQLite 3.35), which older system libraries lack.
        using (var ins = db.Command("INSERT INTO batches(object_key, content, records) VALUES ($k, $c, $n); SELECT last_insert_rowid()", tx))
        {
            ins.Parameters.AddWithValue("$k", key);
            ins.Parameters.AddWithValue("$c", bytes);
            ins.Parameters.AddWithValue("$n", ids.Count);
            batchId = Convert.ToInt64(ins.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        foreach (var id in ids)
        {
            using var upd = db.Command("UPDATE items SET batch_id = $b WHERE id = $id", tx);
            upd.Parameters.AddWithValue("$b", batchId);
            upd.Parameters.AddWithValue("$id", id);
            upd.ExecuteNonQuery();
        }

        tx.Commit();
        return new LabelBatch(batchId, key, bytes, ids.Count, Fresh: true);
    }

    /// <summary>Deletes an uploaded batch and its records and counts the upload, in one transaction; returns the record bytes freed.</summary>
    public long DeleteUploaded(LabelBatch batch, long uploadedBytes, DateTimeOffset now)
    {
        using var tx = db.BeginTransaction();
        long freed;
        using (var sum = db.Command("SELECT COALESCE(SUM(bytes), 0) FROM items WHERE batch_id = $b", tx))
        {
            sum.Parameters.AddWithValue("$b", batch.Id);
            freed = Convert.ToInt64(sum.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        using (var del = db.Command("DELETE FROM items WHERE batch_id = $b", tx))
        {
            del.Parameters.AddWithValue("$b", batch.Id);
            del.ExecuteNonQuery();
        }

        using (var delb = db.Command("DELETE FROM batches WHERE id = $b", tx))
        {
            delb.Parameters.AddWithValue("$b", batch.Id);
            delb.ExecuteNonQuery();
        }

        counters.AddUpload(uploadedBytes, now, tx);
        tx.Commit();
        return freed;
    }

    private LabelBatch? ReadFrozen()
    {
        using var cmd = db.Command("SELECT id, object_key, content, records FROM batches ORDER BY id LIMIT 1");
        using var r = cmd.ExecuteReader();
        return r.Read() ? new LabelBatch(r.GetInt64(0), r.GetString(1), (byte[])r.GetValue(2), r.GetInt32(3)) : null;
    }
}
