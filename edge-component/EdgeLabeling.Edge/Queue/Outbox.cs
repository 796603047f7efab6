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
/// operation is short.
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
    public static bool IsDiskFull(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case SqliteException sq when (sq.SqliteErrorCode & 0xFF) == SqliteFull:
                // On Unix .NET puts the errno in the HResult of the IOException it raises.
                case IOException io when io.HResult == Enospc || io.Message.Contains("No space left on device", StringComparison.Ordinal):
                    return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Size of the space reserve: a file kept beside the database and given up when SQLite finds the disk
    /// full, so the writes that shrink the queue (a finished upload, a removal) can still commit. SQLite
    /// needs free pages even to delete a row (the WAL grows first); without the reserve a disk filled by
    /// something else would leave the queue unable to record the uploads that would free it.
    /// </summary>
    public const long SpaceReserveBytes = 1024 * 1024;

    private const int SqliteFull = 13;
    private const int Enospc = 28;

    private readonly Lock _gate = new();
    private readonly SqliteConnection _db;
    private readonly string _blobDir;
    private readonly string _reservePath;
    private readonly long _quotaBytes;
    private readonly EvictionPolicy _policy;
    private long _usedBytes;
    private bool _disposed;

    private Outbox(string directory, long quotaBytes, EvictionPolicy policy)
    {
        Directory.CreateDirectory(directory);
        _blobDir = Path.Combine(directory, "blobs");
        Directory.CreateDirectory(_blobDir);
        _quotaBytes = quotaBytes;
        _policy = policy;
        DatabasePath = Path.Combine(directory, "outbox.db");
        _reservePath = Path.Combine(directory, "space-reserve.bin");
        SystemSqlite.EnsureInitialized();
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        _db.Open();
        SystemSqlite.CheckVersion(_db);
        Exec("PRAGMA journal_mode=WAL;");
        // FULL: a commit that acknowledges an item is on disk before Enqueue returns (WAL's NORMAL could lose it on power cut).
        Exec("PRAGMA synchronous=FULL;");
        Exec("PRAGMA busy_timeout=5000;");
        // Every acknowledged item is a few WAL frames; left alone the WAL grows to ~4 MB (1000 pages) before
        // a checkpoint and never shrinks. On a small SD card that is room the queue should have: checkpoint
        // every 256 pages (~1 MB) and truncate the WAL back to 1 MB after each.
        Exec("PRAGMA wal_autocheckpoint=256;");
        Exec("PRAGMA journal_size_limit=1048576;");
        Exec("""
            CREATE TABLE IF NOT EXISTS items(
              id INTEGER PRIMARY KEY AUTOINCREMENT,
              unique_id TEXT NOT NULL UNIQUE,
              priority INTEGER NOT NULL,
              object_key TEXT NOT NULL,
              sha256 TEXT NOT NULL,
              content_type TEXT NOT NULL,
              blob TEXT NULL,
              payload BLOB NOT NULL,
              bytes INTEGER NOT NULL,
              enqueued_utc INTEGER NOT NULL,
              image_done INTEGER NOT NULL DEFAULT 0,
              batch_id INTEGER NULL);
            CREATE INDEX IF NOT EXISTS items_lane ON items(priority, batch_id, id);
            CREATE TABLE IF NOT EXISTS batches(
              id INTEGER PRIMARY KEY AUTOINCREMENT,
              object_key TEXT NOT NULL,
              content BLOB NOT NULL,
              records INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
            """);
        // Added after the first release: queues created by it gain the columns in place.
        EnsureColumn("items", "attempts", "INTEGER NOT NULL DEFAULT 0");
        EnsureColumn("items", "not_before_utc", "INTEGER NOT NULL DEFAULT 0");
        EnsureColumn("items", "last_error", "TEXT NULL");
        // Peek walks a lane in id order and skips deferred items inside the index: one seek however many
        // lower-priority items are queued before the lane's head.
        Exec("CREATE INDEX IF NOT EXISTS items_peek ON items(priority, id, not_before_utc)");
    }

    /// <summary>True while the space reserve (see <see cref="SpaceReserveBytes"/>) is on disk.</summary>
    public bool HasSpaceReserve => File.Exists(_reservePath);

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
                return _usedBytes;
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
            var temps = 0;
            var orphans = 0;
            var referenced = new HashSet<string>(StringComparer.Ordinal);
            var missing = new List<(long Id, string Key, long Bytes)>();
            using (var cmd = Cmd("SELECT id, object_key, blob, bytes FROM items WHERE blob IS NOT NULL"))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    var blob = r.GetString(2);
                    referenced.Add(blob);
                    if (!File.Exists(Path.Combine(_blobDir, blob)))
                    {
                        missing.Add((r.GetInt64(0), r.GetString(1), r.GetInt64(3)));
                    }
                }
            }

            foreach (var file in Directory.EnumerateFiles(_blobDir))
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
                using var tx = _db.BeginTransaction();
                foreach (var m in missing)
                {
                    using var del = Cmd("DELETE FROM items WHERE id = $id", tx);
                    del.Parameters.AddWithValue("$id", m.Id);
                    del.ExecuteNonQuery();
                }

                AddCounter(Counters.LostOnRecovery, missing.Count, tx);
                tx.Commit();
            }

            // Deferred items get another chance at once: operators restart the component after fixing what
            // refused them (a bucket policy, a permission), and should not wait out the item back-off.
            Exec("UPDATE items SET not_before_utc = 0 WHERE not_before_utc <> 0");

            RestoreSpaceReserve();

            var batches = Convert.ToInt32(Scalar("SELECT COUNT(*) FROM batches"), CultureInfo.InvariantCulture);
            _usedBytes = Convert.ToInt64(Scalar("SELECT COALESCE(SUM(bytes), 0) FROM items"), CultureInfo.InvariantCulture);
            Recovery = new RecoveryReport(temps, orphans, missing.Select(m => m.Key).ToList(), batches);
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
            var victims = new List<(long Id, string? Blob, long Bytes)>();
            if (_usedBytes + needed > _quotaBytes)
            {
                if (_policy == EvictionPolicy.EvictLowPriority)
                {
                    victims = PlanEviction(_usedBytes + needed - _quotaBytes);
                }

                if (_usedBytes - victims.Sum(v => v.Bytes) + needed > _quotaBytes)
                {
                    return new EnqueueResult(EnqueueStatus.Backpressure, 0);
                }
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
                foreach (var v in victims)
                {
                    using var del = Cmd("DELETE FROM items WHERE id = $id", tx);
                    del.Parameters.AddWithValue("$id", v.Id);
                    del.ExecuteNonQuery();
                }

                if (victims.Count > 0)
                {
                    AddCounter(Counters.Drops, victims.Count, tx);
                }

                foreach (var e in fresh)
                {
                    using var ins = Cmd("""
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

                AddCounter(Counters.Outcome(outcome), 1, tx);
                AddCounter(Counters.EnqueuedBytes, needed, tx);
                tx.Commit();
            }
            catch
            {
                foreach (var w in written)
                {
                    TryDelete(w);
                }

                throw;
            }

            _usedBytes += needed - victims.Sum(v => v.Bytes);
            foreach (var v in victims.Where(v => v.Blob is not null))
            {
                TryDelete(Path.Combine(_blobDir, v.Blob!));
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
            AddCounter(Counters.Outcome(outcome), 1, tx);
            tx.Commit();
        }
    }

    /// <summary>True when the queue could take <paramref name="bytes"/> more without evicting or refusing.</summary>
    public bool HasRoomFor(long bytes)
    {
        lock (_gate)
        {
            return _usedBytes + bytes <= _quotaBytes;
        }
    }

    private List<(long Id, string? Blob, long Bytes)> PlanEviction(long bytesToFree)
    {
        // Lowest priority first, oldest first; records already frozen into a batch are not touched, review never.
        var victims = new List<(long, string?, long)>();
        long freed = 0;
        using var cmd = Cmd("""
            SELECT id, blob, bytes FROM items
            WHERE priority > 0 AND batch_id IS NULL
            ORDER BY priority DESC, id ASC
            """);
        using var r = cmd.ExecuteReader();
        while (freed < bytesToFree && r.Read())
        {
            var bytes = r.GetInt64(2);
            victims.Add((r.GetInt64(0), r.IsDBNull(1) ? null : r.GetString(1), bytes));
            freed += bytes;
        }

        return victims;
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
            using var cmd = Cmd(PeekSql);
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
                using var cmd = Cmd("UPDATE items SET image_done = 1 WHERE id = $id", tx);
                cmd.Parameters.AddWithValue("$id", id);
                cmd.ExecuteNonQuery();
                CountUpload(uploadedBytes, now, tx);
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
                removed = WithSpaceReserve(() => DeleteUploaded(item, uploadedBytes, now));
            }
            catch (SqliteException ex) when (IsDiskFull(ex) && item.BlobPath is not null && File.Exists(item.BlobPath))
            {
                // No reserve left either: the object is safely in the store, so its local copy can go first.
                TryDelete(item.BlobPath);
                removed = DeleteUploaded(item, uploadedBytes, now);
            }

            if (removed > 0)
            {
                _usedBytes -= item.Bytes;
            }

            if (item.BlobPath is not null)
            {
                TryDelete(item.BlobPath);
            }

            RestoreSpaceReserve();
        }
    }

    /// <summary>
    /// Runs a write that shrinks the queue; if SQLite finds the disk full, gives up the space reserve and
    /// tries once more.
    /// </summary>
    private T WithSpaceReserve<T>(Func<T> write)
    {
        try
        {
            return write();
        }
        catch (SqliteException ex) when (IsDiskFull(ex) && ReleaseSpaceReserve())
        {
            return write();
        }
    }

    private bool ReleaseSpaceReserve()
    {
        if (!File.Exists(_reservePath))
        {
            return false;
        }

        TryDelete(_reservePath);
        return !File.Exists(_reservePath);
    }

    /// <summary>Writes the reserve back once the disk has room for it twice over; quietly skipped otherwise (small or full disks).</summary>
    private void RestoreSpaceReserve()
    {
        if (File.Exists(_reservePath))
        {
            return;
        }

        try
        {
            if (new DriveInfo(_blobDir).AvailableFreeSpace < 2 * SpaceReserveBytes)
            {
                return;
            }

            using var fs = new FileStream(_reservePath, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            // Real blocks, not a sparse file: the space must be taken now to be given back later.
            var zeros = new byte[64 * 1024];
            for (long written = 0; written < SpaceReserveBytes; written += zeros.Length)
            {
                fs.Write(zeros);
            }

            fs.Flush(flushToDisk: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(_reservePath);
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
            return WithSpaceReserve(() =>
            {
                // No RETURNING: it needs SQLite 3.35 and the device's system library may be older (see SystemSqlite).
                // One connection under _gate, so nothing can change the row between the two statements.
                using (var cmd = Cmd("UPDATE items SET attempts = attempts + 1, not_before_utc = $t, last_error = $e WHERE id = $id"))
                {
                    cmd.Parameters.AddWithValue("$t", notBefore.ToUnixTimeMilliseconds());
                    cmd.Parameters.AddWithValue("$e", error.Length > 500 ? error[..500] : error);
                    cmd.Parameters.AddWithValue("$id", item.Id);
                    cmd.ExecuteNonQuery();
                }

                using var read = Cmd("SELECT attempts FROM items WHERE id = $id");
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
            var removed = WithSpaceReserve(() =>
            {
                using var tx = _db.BeginTransaction();
                using var cmd = Cmd("DELETE FROM items WHERE id = $id", tx);
                cmd.Parameters.AddWithValue("$id", item.Id);
                var n = cmd.ExecuteNonQuery();
                if (n > 0)
                {
                    AddCounter(Counters.LostMissingBlob, 1, tx);
                }

                tx.Commit();
                return n;
            });
            if (removed > 0)
            {
                _usedBytes -= item.Bytes;
            }
        }
    }

    private int DeleteUploaded(OutboxItem item, long uploadedBytes, DateTimeOffset now)
    {
        using var tx = _db.BeginTransaction();
        using var cmd = Cmd("DELETE FROM items WHERE id = $id", tx);
        cmd.Parameters.AddWithValue("$id", item.Id);
        var removed = cmd.ExecuteNonQuery();
        CountUpload(uploadedBytes, now, tx);
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
                AddCounter(Counters.SkippedExisting, 1, tx);
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
            var existing = ReadBatch();
            if (existing is not null)
            {
                return existing;
            }

            using (var probe = Cmd("SELECT COUNT(*), MIN(enqueued_utc) FROM items WHERE priority = 1 AND batch_id IS NULL"))
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
            using (var sel = Cmd("SELECT id, payload FROM items WHERE priority = 1 AND batch_id IS NULL ORDER BY id LIMIT $n"))
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
            using var tx = _db.BeginTransaction();
            long batchId;
            // last_insert_rowid() rather than RETURNING (SQLite 3.35), which older system libraries lack.
            using (var ins = Cmd("INSERT INTO batches(object_key, content, records) VALUES ($k, $c, $n); SELECT last_insert_rowid()", tx))
            {
                ins.Parameters.AddWithValue("$k", key);
                ins.Parameters.AddWithValue("$c", bytes);
                ins.Parameters.AddWithValue("$n", ids.Count);
                batchId = Convert.ToInt64(ins.ExecuteScalar(), CultureInfo.InvariantCulture);
            }

            foreach (var id in ids)
            {
                using var upd = Cmd("UPDATE items SET batch_id = $b WHERE id = $id", tx);
                upd.Parameters.AddWithValue("$b", batchId);
                upd.Parameters.AddWithValue("$id", id);
                upd.ExecuteNonQuery();
            }

            tx.Commit();
            return new LabelBatch(batchId, key, bytes, ids.Count, Fresh: true);
        }
    }

    private LabelBatch? ReadBatch()
    {
        using var cmd = Cmd("SELECT id, object_key, content, records FROM batches ORDER BY id LIMIT 1");
        using var r = cmd.ExecuteReader();
        return r.Read() ? new LabelBatch(r.GetInt64(0), r.GetString(1), (byte[])r.GetValue(2), r.GetInt32(3)) : null;
    }

    /// <summary>Removes an uploaded batch and the records in it.</summary>
    public void CompleteBatch(LabelBatch batch, long uploadedBytes, DateTimeOffset now)
    {
        lock (_gate)
        {
            var freed = WithSpaceReserve(() => DeleteBatch(batch, uploadedBytes, now));
            _usedBytes -= freed;
            RestoreSpaceReserve();
        }
    }

    private long DeleteBatch(LabelBatch batch, long uploadedBytes, DateTimeOffset now)
    {
        using var tx = _db.BeginTransaction();
        long freed;
        using (var sum = Cmd("SELECT COALESCE(SUM(bytes), 0) FROM items WHERE batch_id = $b", tx))
        {
            sum.Parameters.AddWithValue("$b", batch.Id);
            freed = Convert.ToInt64(sum.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        using (var del = Cmd("DELETE FROM items WHERE batch_id = $b", tx))
        {
            del.Parameters.AddWithValue("$b", batch.Id);
            del.ExecuteNonQuery();
        }

        using (var delb = Cmd("DELETE FROM batches WHERE id = $b", tx))
        {
            delb.Parameters.AddWithValue("$b", batch.Id);
            delb.ExecuteNonQuery();
        }

        CountUpload(uploadedBytes, now, tx);
        tx.Commit();
        return freed;
    }

    /// <summary>Bytes uploaded on the UTC day of <paramref name="now"/> (for the daily quota).</summary>
    public long UploadedOn(DateTimeOffset now)
    {
        lock (_gate)
        {
            using var cmd = Cmd("SELECT value FROM counters WHERE name = $n");
            cmd.Parameters.AddWithValue("$n", Counters.UploadedOn(DateOnly.FromDateTime(now.UtcDateTime)));
            return Convert.ToInt64(cmd.ExecuteScalar() ?? 0L, CultureInfo.InvariantCulture);
        }
    }

    /// <summary>When the oldest item still queued was enqueued; null when the queue is empty (for the heartbeat).</summary>
    public DateTimeOffset? OldestEnqueuedUtc()
    {
        lock (_gate)
        {
            return Scalar("SELECT MIN(enqueued_utc) FROM items") is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
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
            AddCounter(Counters.UploadedOn(DateOnly.FromDateTime(now.UtcDateTime)), bytes, tx);
            AddCounter(Counters.HeartbeatBytes, bytes, tx);
            tx.Commit();
        }
    }

    /// <summary>Lane depths, bytes and counters in one consistent read.</summary>
    public OutboxStats GetStats()
    {
        lock (_gate)
        {
            var lanes = Enum.GetValues<QueuePriority>().ToDictionary(p => p, _ => new LaneStats(0, 0));
            using (var cmd = Cmd("SELECT priority, COUNT(*), COALESCE(SUM(bytes), 0) FROM items GROUP BY priority"))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    lanes[(QueuePriority)r.GetInt32(0)] = new LaneStats(r.GetInt32(1), r.GetInt64(2));
                }
            }

            var deferred = 0;
            string? deferredError = null;
            using (var cmd = Cmd("SELECT COUNT(*), (SELECT last_error FROM items WHERE attempts > 0 ORDER BY not_before_utc DESC LIMIT 1) FROM items WHERE attempts > 0"))
            using (var r = cmd.ExecuteReader())
            {
                if (r.Read())
                {
                    deferred = r.GetInt32(0);
                    deferredError = r.IsDBNull(1) ? null : r.GetString(1);
                }
            }

            var counters = new Dictionary<string, long>(StringComparer.Ordinal);
            using (var cmd = Cmd("SELECT name, value FROM counters"))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    counters[r.GetString(0)] = r.GetInt64(1);
                }
            }

            return new OutboxStats(lanes, _usedBytes, _quotaBytes, counters, deferred, deferredError);
        }
    }

    private void CountUpload(long bytes, DateTimeOffset now, SqliteTransaction tx)
    {
        if (bytes <= 0)
        {
            return;
        }

        AddCounter(Counters.UploadedBytes, bytes, tx);
        AddCounter(Counters.UploadedObjects, 1, tx);
        AddCounter(Counters.UploadedOn(DateOnly.FromDateTime(now.UtcDateTime)), bytes, tx);
    }

    private void AddCounter(string name, long delta, SqliteTransaction tx)
    {
        using var cmd = Cmd("INSERT INTO counters(name, value) VALUES ($n, $v) ON CONFLICT(name) DO UPDATE SET value = value + $v", tx);
        cmd.Parameters.AddWithValue("$n", name);
        cmd.Parameters.AddWithValue("$v", delta);
        cmd.ExecuteNonQuery();
    }

    private bool Exists(string uniqueId)
    {
        using var cmd = Cmd("SELECT 1 FROM items WHERE unique_id = $u");
        cmd.Parameters.AddWithValue("$u", uniqueId);
        return cmd.ExecuteScalar() is not null;
    }

    // One blob per queue row: the same bytes captured on two days have two keys (and two rows), and
    // completing one must not delete the other's file.
    private static string BlobName(OutboxEntry e) =>
        $"p{(int)e.Priority}-{Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(e.ObjectKey)))}{Path.GetExtension(e.ObjectKey)}";

    internal const string PeekSql = """
        SELECT id, priority, object_key, sha256, content_type, blob, payload, image_done, bytes, enqueued_utc, attempts
        FROM items WHERE priority = $p AND not_before_utc <= $now ORDER BY id LIMIT 1
        """;

    private SqliteCommand Cmd(string sql, SqliteTransaction? tx = null)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }

    private void Exec(string sql)
    {
        using var cmd = Cmd(sql);
        cmd.ExecuteNonQuery();
    }

    private void EnsureColumn(string table, string column, string definition)
    {
        using (var info = Cmd($"SELECT 1 FROM pragma_table_info('{table}') WHERE name = $c"))
        {
            info.Parameters.AddWithValue("$c", column);
            if (info.ExecuteScalar() is not null)
            {
                return;
            }
        }

        Exec($"ALTER TABLE {table} ADD COLUMN {column} {definition}");
    }

    private object? Scalar(string sql)
    {
        using var cmd = Cmd(sql);
        return cmd.ExecuteScalar();
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Left behind: start-up recovery removes blobs without rows.
        }
    }

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
