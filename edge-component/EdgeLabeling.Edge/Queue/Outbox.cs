using System.Globalization;
using System.Security.Cryptography;
using EdgeLabeling.Contracts;
using EdgeLabeling.Storage;
using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Edge.Queue;

/// <summary>
/// The durable upload queue: one SQLite database (WAL, <c>synchronous=FULL</c>) plus a <c>blobs/</c>
/// folder. Image bytes are written with <see cref="AtomicFile"/> (temp, fsync, rename) before the row
/// that references them commits; the committed row is the acknowledgement, so after a crash or power cut
/// an item is either fully queued or not queued at all (and its input file is still in the watch folder).
/// One connection guarded by a lock: the intake writes, the uploader reads and deletes, and every
/// operation is short. The parts behind it (<see cref="OutboxSchema"/>, <see cref="OutboxRecovery"/>,
/// <see cref="OutboxQuota"/>, <see cref="DiskSpaceReserve"/>, <see cref="LabelBatchFreezer"/>,
/// <see cref="OutboxCounters"/>) share that connection and run only under that lock.
/// </summary>
public sealed class Outbox : IDisposable
{
    /// <summary>Counter names kept in the database so they survive restarts.</summary>
    public static class Counters
    {
        public const string UploadedBytes = "uploaded-bytes";
        public const string UploadedObjects = "uploaded-objects";
        public const string SkippedExisting = "skipped-existing";
        public const string Drops = "drops";
        public const string LostOnRecovery = "lost-on-recovery";
        public const string EnqueuedBytes = "enqueued-bytes";
        public const string LostMissingBlob = "lost-missing-blob";
        public const string HeartbeatBytes = "heartbeat-bytes";

        public static string Outcome(RoutingOutcome outcome) => "outcome:" + outcome.ToWire();

        public static string UploadedOn(DateOnly utcDay) => "uploaded-bytes:" + utcDay.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// True when <paramref name="ex"/> says the file system is full: ENOSPC from a file write, or SQLITE_FULL
    /// (SQLite needs free space even to delete rows, because the WAL grows first).
    /// </summary>
    public static bool IsDiskFull(Exception ex) => DiskSpaceReserve.IsDiskFull(ex);

    /// <summary>
    /// Size of the space reserve: a file kept beside the database and given up when SQLite finds the disk
    /// full, so the writes that shrink the queue (a finished upload, a removal) can still commit (see
    /// <see cref="DiskSpaceReserve"/>).
    /// </summary>
    public const long SpaceReserveBytes = DiskSpaceReserve.SizeBytes;

    internal const string PeekSql = """
        SELECT id, priority, object_key, sha256, content_type, blob, payload, image_done, bytes, enqueued_utc, attempts
        FROM items WHERE priority = $p AND not_before_utc <= $now ORDER BY id LIMIT 1
        """;

    private readonly Lock _gate = new();
    private readonly SqliteConnection _db;
    private readonly string _blobDir;
    private readonly DiskSpaceReserve _reserve;
    private readonly OutboxCounters _counters;
    private readonly OutboxQuota _quota;
    private readonly LabelBatchFreezer _batches;
    private bool _disposed;

    private Outbox(string directory, long quotaBytes, EvictionPolicy policy)
    {
        Directory.CreateDirectory(directory);
        _blobDir = Path.Combine(directory, "blobs");
        Directory.CreateDirectory(_blobDir);
        DatabasePath = Path.Combine(directory, "outbox.db");
        _reserve = new DiskSpaceReserve(Path.Combine(directory, "space-reserve.bin"), _blobDir);
        SystemSqlite.EnsureInitialized();
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        _db.Open();
        SystemSqlite.CheckVersion(_db);
        OutboxSchema.Apply(_db);
        _counters = new OutboxCounters(_db);
        _quota = new OutboxQuota(_db, _counters, quotaBytes, policy);
        _batches = new LabelBatchFreezer(_db, _counters);
    }

    /// <summary>True while the space reserve (see <see cref="SpaceReserveBytes"/>) is on disk.</summary>
    public bool HasSpaceReserve => _reserve.IsPresent;

    /// <summary>Path of the SQLite file.</summary>
    public string DatabasePath { get; }

    /// <summary>Folder holding the queued image bytes.</summary>
    public string BlobDirectory => _blobDir;

    /// <summary>What <see cref="Open"/> found and repaired.</summary>
    public RecoveryReport Recovery { get; private set; } = new(0, 0, [], 0);

    /// <summary>Bytes the queue currently holds (blobs and record payloads), checked against the quota.</summary>
    public long UsedBytes
    {
        get
        {
            lock (_gate)
            {
                return _quota.UsedBytes;
            }
        }
    }

    /// <summary>Opens (or creates) the queue in <paramref name="directory"/> and recovers from any crash.</summary>
    public static Outbox Open(string directory, long quotaBytes, EvictionPolicy policy = EvictionPolicy.Backpressure)
    {
        if (quotaBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(quotaBytes), quotaBytes, "disk quota must be positive");
        }

        var outbox = new Outbox(directory, quotaBytes, policy);
        try
        {
            outbox.Recover();
        }
        catch
        {
            outbox.Dispose();
            throw;
        }

        return outbox;
    }

    private void Recover()
    {
        lock (_gate)
        {
            Recovery = OutboxRecovery.Run(_db, _blobDir, _counters, _reserve);
            _quota.Recount();
        }
    }

    /// <summary>
    /// Makes all entries of one image durable in one transaction, evicting per policy when the quota is
    /// reached. Returns <see cref="EnqueueStatus.Backpressure"/> (and writes nothing) when there is no room.
    /// </summary>
    public EnqueueResult Enqueue(IReadOnlyList<OutboxEntry> entries, RoutingOutcome outcome, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(entries);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var fresh = entries.Where(e => !Exists(e.UniqueId)).ToList();
            if (fresh.Count == 0)
            {
                // Re-offered after a crash between commit and input deletion: already counted and queued.
                return new EnqueueResult(EnqueueStatus.AlreadyQueued, 0);
            }

            var needed = fresh.Sum(e => e.DiskBytes);
            var victims = _quota.PlanRoomFor(needed);
            if (victims is null)
            {
                return new EnqueueResult(EnqueueStatus.Backpressure, 0);
            }

            var written = new List<string>();
            try
            {
                foreach (var e in fresh.Where(e => !e.ImageBytes.IsEmpty))
                {
                    var path = Path.Combine(_blobDir, BlobName(e));
                    AtomicFile.WriteAsync(path, e.ImageBytes).GetAwaiter().GetResult();
                    written.Add(path);
                }

                using var tx = _db.BeginTransaction();
                _quota.DeleteEvicted(victims, tx);
                foreach (var e in fresh)
                {
                    using var ins = _db.Command("""
                        INSERT INTO items(unique_id, priority, object_key, sha256, content_type, blob, payload, bytes, enqueued_utc)
                        VALUES ($u, $p, $k, $s, $c, $b, $pl, $n, $t)
                        """, tx);
                    ins.Parameters.AddWithValue("$u", e.UniqueId);
                    ins.Parameters.AddWithValue("$p", (int)e.Priority);
                    ins.Parameters.AddWithValue("$k", e.ObjectKey);
                    ins.Parameters.AddWithValue("$s", e.Sha256);
                    ins.Parameters.AddWithValue("$c", e.ContentType);
                    ins.Parameters.AddWithValue("$b", e.ImageBytes.IsEmpty ? DBNull.Value : BlobName(e));
                    ins.Parameters.AddWithValue("$pl", e.Payload.ToArray());
                    ins.Parameters.AddWithValue("$n", e.DiskBytes);
                    ins.Parameters.AddWithValue("$t", now.ToUnixTimeMilliseconds());
                    ins.ExecuteNonQuery();
                }

                _counters.Add(Counters.Outcome(outcome), 1, tx);
                _counters.Add(Counters.EnqueuedBytes, needed, tx);
                tx.Commit();
            }
            catch
            {
                foreach (var w in written)
                {
                    QueueFiles.TryDelete(w);
                }

                throw;
            }

            _quota.Add(needed - victims.Sum(v => v.Bytes));
            foreach (var v in victims.Where(v => v.Blob is not null))
            {
                QueueFiles.TryDelete(Path.Combine(_blobDir, v.Blob!));
            }

            return new EnqueueResult(EnqueueStatus.Accepted, victims.Count);
        }
    }

    /// <summary>Counts a decision that puts nothing in the queue (duplicate, quarantine).</summary>
    public void CountOutcome(RoutingOutcome outcome)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            _counters.Add(Counters.Outcome(outcome), 1, tx);
            tx.Commit();
        }
    }

    /// <summary>True when the queue could take <paramref name="bytes"/> more without evicting or refusing.</summary>
    public bool HasRoomFor(long bytes)
    {
        lock (_gate)
        {
            return _quota.HasRoomFor(bytes);
        }
    }

    /// <summary>
    /// The oldest item of a lane (<see cref="QueuePriority.AutoLabelRecord"/> is uploaded through batches instead).
    /// With <paramref name="now"/>, items deferred past that time (see <see cref="Defer"/>) are passed over so one
    /// refused object cannot hold up the lane; without it, deferrals are ignored.
    /// </summary>
    public OutboxItem? Peek(QueuePriority lane, DateTimeOffset? now = null)
    {
        if (lane == QueuePriority.AutoLabelRecord)
        {
            throw new ArgumentException("auto-label records are uploaded through ClaimLabelBatch", nameof(lane));
        }

        lock (_gate)
        {
            using var cmd = _db.Command(PeekSql);
            cmd.Parameters.AddWithValue("$p", (int)lane);
            cmd.Parameters.AddWithValue("$now", now?.ToUnixTimeMilliseconds() ?? long.MaxValue);
            using var r = cmd.ExecuteReader();
            if (!r.Read())
            {
                return null;
            }

            return new OutboxItem(
                r.GetInt64(0),
                (QueuePriority)r.GetInt32(1),
                r.GetString(2),
                r.GetString(3),
                r.GetString(4),
                r.IsDBNull(5) ? null : Path.Combine(_blobDir, r.GetString(5)),
                (byte[])r.GetValue(6),
                r.GetInt64(7) != 0,
                r.GetInt64(8),
                DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(9)),
                r.GetInt32(10));
        }
    }

    /// <summary>
    /// Remembers that the image of a review item is in the store, so a restart goes straight to the sidecar.
    /// Only a shortcut: on a full disk it is skipped (false) and a retry finds the image by its HEAD instead.
    /// </summary>
    public bool MarkImageDone(long id, long uploadedBytes, DateTimeOffset now)
    {
        lock (_gate)
        {
            try
            {
                using var tx = _db.BeginTransaction();
                using var cmd = _db.Command("UPDATE items SET image_done = 1 WHERE id = $id", tx);
                cmd.Parameters.AddWithValue("$id", id);
                cmd.ExecuteNonQuery();
                _counters.AddUpload(uploadedBytes, now, tx);
                tx.Commit();
                return true;
            }
            catch (SqliteException ex) when (IsDiskFull(ex))
            {
                return false;
            }
        }
    }

    /// <summary>
    /// Removes an uploaded item and its blob. On a full disk the space reserve is given up first, and without
    /// one the blob goes before the row: the object is safely in the store, and its local copy is the space
    /// SQLite needs to record that (otherwise the queue could never shrink again once something else filled
    /// the disk).
    /// </summary>
    public void Complete(OutboxItem item, long uploadedBytes, DateTimeOffset now)
    {
        lock (_gate)
        {
            int removed;
            try
            {
                removed = _reserve.RunShrinkingWrite(() => DeleteUploaded(item, uploadedBytes, now));
            }
            catch (SqliteException ex) when (IsDiskFull(ex) && item.BlobPath is not null && File.Exists(item.BlobPath))
            {
                // No reserve left either: the object is safely in the store, so its local copy can go first.
                QueueFiles.TryDelete(item.BlobPath);
                removed = DeleteUploaded(item, uploadedBytes, now);
            }

            if (removed > 0)
            {
                _quota.Free(item.Bytes);
            }

            if (item.BlobPath is not null)
            {
                QueueFiles.TryDelete(item.BlobPath);
            }

            _reserve.Restore();
        }
    }

    /// <summary>
    /// Sets an item aside until <paramref name="notBefore"/> after a failure that concerns this item only (the store
    /// refused this key, say), so the items behind it keep moving. The item stays queued; returns how many times it
    /// has been deferred so far (<see cref="OutboxItem.Attempts"/> after this call).
    /// </summary>
    public int Defer(OutboxItem item, string error, DateTimeOffset notBefore)
    {
        lock (_gate)
        {
            return _reserve.RunShrinkingWrite(() =>
            {
                // No RETURNING: it needs SQLite 3.35 and the device's system library may be older (see SystemSqlite).
                // One connection under _gate, so nothing can change the row between the two statements.
                using (var cmd = _db.Command("UPDATE items SET attempts = attempts + 1, not_before_utc = $t, last_error = $e WHERE id = $id"))
                {
                    cmd.Parameters.AddWithValue("$t", notBefore.ToUnixTimeMilliseconds());
                    cmd.Parameters.AddWithValue("$e", error.Length > 500 ? error[..500] : error);
                    cmd.Parameters.AddWithValue("$id", item.Id);
                    cmd.ExecuteNonQuery();
                }

                using var read = _db.Command("SELECT attempts FROM items WHERE id = $id");
                read.Parameters.AddWithValue("$id", item.Id);
                return Convert.ToInt32(read.ExecuteScalar() ?? 0, CultureInfo.InvariantCulture);
            });
        }
    }

    /// <summary>
    /// Removes an item whose image file has vanished from the blob folder (deleted by hand, or a failing disk):
    /// it can never be uploaded. Counted under <see cref="Counters.LostMissingBlob"/> so the status shows it.
    /// </summary>
    public void RemoveWithMissingBlob(OutboxItem item)
    {
        lock (_gate)
        {
            var removed = _reserve.RunShrinkingWrite(() =>
            {
                using var tx = _db.BeginTransaction();
                using var cmd = _db.Command("DELETE FROM items WHERE id = $id", tx);
                cmd.Parameters.AddWithValue("$id", item.Id);
                var n = cmd.ExecuteNonQuery();
                if (n > 0)
                {
                    _counters.Add(Counters.LostMissingBlob, 1, tx);
                }

                tx.Commit();
                return n;
            });
            if (removed > 0)
            {
                _quota.Free(item.Bytes);
            }
        }
    }

    private int DeleteUploaded(OutboxItem item, long uploadedBytes, DateTimeOffset now)
    {
        using var tx = _db.BeginTransaction();
        using var cmd = _db.Command("DELETE FROM items WHERE id = $id", tx);
        cmd.Parameters.AddWithValue("$id", item.Id);
        var removed = cmd.ExecuteNonQuery();
        _counters.AddUpload(uploadedBytes, now, tx);
        tx.Commit();
        return removed;
    }

    /// <summary>Records that an object was already in the store with the same SHA-256 and no bytes were sent.</summary>
    public void CountSkippedExisting()
    {
        lock (_gate)
        {
            try
            {
                using var tx = _db.BeginTransaction();
                _counters.Add(Counters.SkippedExisting, 1, tx);
                tx.Commit();
            }
            catch (SqliteException ex) when (IsDiskFull(ex))
            {
                // A statistic only: on a full disk it must not stop the upload that would free space.
            }
        }
    }

    /// <summary>
    /// Returns the batch to upload next: an existing one (resumed after a crash, same bytes and key) or a new
    /// one frozen from up to <paramref name="maxRecords"/> records when enough are waiting or the oldest has
    /// waited <paramref name="maxWait"/>. Null when nothing is due.
    /// </summary>
    public LabelBatch? ClaimLabelBatch(string thingName, int maxRecords, TimeSpan maxWait, DateTimeOffset now)
    {
        lock (_gate)
        {
            return _batches.Claim(thingName, maxRecords, maxWait, now);
        }
    }

    /// <summary>Removes an uploaded batch and the records in it.</summary>
    public void CompleteBatch(LabelBatch batch, long uploadedBytes, DateTimeOffset now)
    {
        lock (_gate)
        {
            var freed = _reserve.RunShrinkingWrite(() => _batches.DeleteUploaded(batch, uploadedBytes, now));
            _quota.Free(freed);
            _reserve.Restore();
        }
    }

    /// <summary>Bytes uploaded on the UTC day of <paramref name="now"/> (for the daily quota).</summary>
    public long UploadedOn(DateTimeOffset now)
    {
        lock (_gate)
        {
            return _counters.Read(Counters.UploadedOn(DateOnly.FromDateTime(now.UtcDateTime)));
        }
    }

    /// <summary>When the oldest item still queued was enqueued; null when the queue is empty (for the heartbeat).</summary>
    public DateTimeOffset? OldestEnqueuedUtc()
    {
        lock (_gate)
        {
            return _db.Scalar("SELECT MIN(enqueued_utc) FROM items") is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
        }
    }

    /// <summary>
    /// Counts bytes sent outside the queue (heartbeats) into the same daily total the quota checks, so
    /// every byte on the metered link is accounted for; also kept apart as <see cref="Counters.HeartbeatBytes"/>.
    /// </summary>
    public void CountDirectUpload(long bytes, DateTimeOffset now)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            _counters.Add(Counters.UploadedOn(DateOnly.FromDateTime(now.UtcDateTime)), bytes, tx);
            _counters.Add(Counters.HeartbeatBytes, bytes, tx);
            tx.Commit();
        }
    }

    /// <summary>Lane depths, bytes and counters in one consistent read.</summary>
    public OutboxStats GetStats()
    {
        lock (_gate)
        {
            var lanes = Enum.GetValues<QueuePriority>().ToDictionary(p => p, _ => new LaneStats(0, 0));
            using (var cmd = _db.Command("SELECT priority, COUNT(*), COALESCE(SUM(bytes), 0) FROM items GROUP BY priority"))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    lanes[(QueuePriority)r.GetInt32(0)] = new LaneStats(r.GetInt32(1), r.GetInt64(2));
                }
            }

            var deferred = 0;
            string? deferredError = null;
            using (var cmd = _db.Command("SELECT COUNT(*), (SELECT last_error FROM items WHERE attempts > 0 ORDER BY not_before_utc DESC LIMIT 1) FROM items WHERE attempts > 0"))
            using (var r = cmd.ExecuteReader())
            {
                if (r.Read())
                {
                    deferred = r.GetInt32(0);
                    deferredError = r.IsDBNull(1) ? null : r.GetString(1);
                }
            }

            return new OutboxStats(lanes, _quota.UsedBytes, _quota.QuotaBytes, _counters.ReadAll(), deferred, deferredError);
        }
    }

    private bool Exists(string uniqueId)
    {
        using var cmd = _db.Command("SELECT 1 FROM items WHERE unique_id = $u");
        cmd.Parameters.AddWithValue("$u", uniqueId);
        return cmd.ExecuteScalar() is not null;
    }

    // One blob per queue row: the same bytes captured on two days have two keys (and two rows), and
    // completing one must not delete the other's file.
    private static string BlobName(OutboxEntry e) =>
        $"p{(int)e.Priority}-{Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(e.ObjectKey)))}{Path.GetExtension(e.ObjectKey)}";

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _db.Dispose();
        }
    }
}
