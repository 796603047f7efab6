using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Labeling.Pending;

/// <summary>
/// The embedded pending store: one SQLite file, safe for several processes at once.
/// Every state change runs in a <c>BEGIN IMMEDIATE</c> transaction (the write lock is taken before
/// the read), which gives the same guarantees as the DynamoDB adapter's conditional writes: the
/// read-check-write of one call cannot interleave with another writer's.
/// </summary>
public sealed class SqlitePendingStore : IPendingStore
{
    private readonly SharedSqliteFile _file;

    /// <summary>Opens (and creates when missing) the store at <paramref name="path"/>.</summary>
    public SqlitePendingStore(string path)
    {
        _file = new SharedSqliteFile(path, """
            CREATE TABLE IF NOT EXISTS items(
              image_key TEXT PRIMARY KEY,
              bucket TEXT NOT NULL,
              thing TEXT NOT NULL,
              has_image INTEGER NOT NULL DEFAULT 0,
              has_sidecar INTEGER NOT NULL DEFAULT 0,
              status TEXT NOT NULL,
              batch_id TEXT,
              first_seen TEXT NOT NULL,
              pending_since TEXT,
              payload TEXT,
              return_count INTEGER NOT NULL DEFAULT 0,
              last_return_reason TEXT,
              set_aside_at TEXT);
            CREATE INDEX IF NOT EXISTS items_pending ON items(status, pending_since, image_key);
            CREATE INDEX IF NOT EXISTS items_batch ON items(batch_id);
            CREATE TABLE IF NOT EXISTS batches(
              job_name TEXT PRIMARY KEY,
              batch_id TEXT NOT NULL,
              status TEXT NOT NULL,
              created_at TEXT NOT NULL,
              item_count INTEGER NOT NULL,
              month TEXT NOT NULL,
              forecast_usd TEXT NOT NULL,
              job_arn TEXT);
            CREATE TABLE IF NOT EXISTS budget(
              month TEXT PRIMARY KEY,
              objects INTEGER NOT NULL,
              spent_usd TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS creation_backoff(
              id INTEGER PRIMARY KEY CHECK (id = 1),
              failures INTEGER NOT NULL,
              last_failure TEXT NOT NULL,
              next_attempt TEXT NOT NULL,
              reason TEXT NOT NULL);
            """);
        using var c = Open();
        AddColumnIfMissing(c, "return_count", "INTEGER NOT NULL DEFAULT 0");
        AddColumnIfMissing(c, "last_return_reason", "TEXT");
        AddColumnIfMissing(c, "set_aside_at", "TEXT");
        Exec(c, null, "CREATE INDEX IF NOT EXISTS items_set_aside ON items(status, set_aside_at, image_key)");
    }

    // A store file written before items could be set aside gains the columns in place.
    private static void AddColumnIfMissing(SqliteConnection c, string column, string definition)
    {
        using var cmd = Cmd(c, null, "SELECT COUNT(*) FROM pragma_table_info('items') WHERE name=$n", ("$n", column));
        if ((long)cmd.ExecuteScalar()! == 0)
        {
            Exec(c, null, $"ALTER TABLE items ADD COLUMN {column} {definition}");
        }
    }

    private SqliteConnection Open() => _file.Open();

    public Task<RegisterOutcome> RegisterImageAsync(ImageArrival arrival, CancellationToken cancellationToken = default) =>
        Task.FromResult(Register(arrival.ImageKey, arrival.Bucket, arrival.ThingName, arrival.SeenAt, isImage: true, payload: null));

    public Task<RegisterOutcome> RegisterSidecarAsync(SidecarArrival arrival, CancellationToken cancellationToken = default) =>
        Task.FromResult(Register(arrival.ImageKey, arrival.Bucket, arrival.ThingName, arrival.SeenAt, isImage: false,
            JsonSerializer.Serialize(arrival.Payload, LabelingJsonContext.Default.PendingPayload)));

    private RegisterOutcome Register(string key, string bucket, string thing, DateTimeOffset now, bool isImage, string? payload)
    {
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        var column = isImage ? "has_image" : "has_sidecar";
        var other = isImage ? "has_sidecar" : "has_image";
        using var read = Cmd(c, tx, $"SELECT {column}, {other} FROM items WHERE image_key=$k", ("$k", key));
        long mine = -1, theirs = -1;
        using (var r = read.ExecuteReader())
        {
            if (r.Read())
            {
                mine = r.GetInt64(0);
                theirs = r.GetInt64(1);
            }
        }

        RegisterOutcome outcome;
        if (mine < 0)
        {
            using var ins = Cmd(c, tx, $"INSERT INTO items(image_key, bucket, thing, {column}, status, first_seen, payload) VALUES($k, $b, $t, 1, 'half', $now, $p)",
                ("$k", key), ("$b", bucket), ("$t", thing), ("$now", Iso(now)), ("$p", payload));
            ins.ExecuteNonQuery();
            outcome = RegisterOutcome.HalfStored;
        }
        else if (mine == 1)
        {
            outcome = RegisterOutcome.Duplicate;
        }
        else
        {
            using var upd = Cmd(c, tx, $"UPDATE items SET {column}=1, status='pending', pending_since=$now, payload=COALESCE($p, payload) WHERE image_key=$k AND {column}=0",
                ("$k", key), ("$now", Iso(now)), ("$p", payload));
            upd.ExecuteNonQuery();
            outcome = theirs == 1 ? RegisterOutcome.Completed : RegisterOutcome.HalfStored;
        }

        tx.Commit();
        return outcome;
    }

    public Task<PendingItem?> GetItemAsync(string imageKey, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var cmd = Cmd(c, null, ItemColumns + " WHERE image_key=$k", ("$k", imageKey));
        return Task.FromResult(ReadItems(cmd).FirstOrDefault());
    }

    public Task<PendingSummary> GetPendingSummaryAsync(CancellationToken cancellationToken = default)
    {
        using var c = Open();
        // One statement, so the count and the oldest time come from the same snapshot.
        using var cmd = Cmd(c, null, "SELECT COUNT(*), MIN(pending_since) FROM items WHERE status='pending'");
        using var r = cmd.ExecuteReader();
        r.Read();
        var count = r.GetInt64(0);
        DateTimeOffset? oldest = r.IsDBNull(1) ? null : ParseIso(r.GetString(1));
        return Task.FromResult(new PendingSummary(count, oldest));
    }

    public Task<DateTimeOffset?> GetOldestPendingSinceAsync(CancellationToken cancellationToken = default)
    {
        using var c = Open();
        return Task.FromResult(OldestPendingSince(c));
    }

    // The first row of the items_pending index range (status, pending_since): a seek, not a scan.
    // Pending rows always carry pending_since; the IS NOT NULL guard only keeps a hand-edited row
    // from sorting first (SQLite orders NULL before any text).
    internal const string OldestPendingSql =
        "SELECT pending_since FROM items WHERE status='pending' AND pending_since IS NOT NULL ORDER BY pending_since LIMIT 1";

    private static DateTimeOffset? OldestPendingSince(SqliteConnection c)
    {
        using var cmd = Cmd(c, null, OldestPendingSql);
        return cmd.ExecuteScalar() is string since ? ParseIso(since) : null;
    }

    public Task<IReadOnlyList<PendingItem>> ListHalfPairsAsync(DateTimeOffset olderThan, int max, CancellationToken cancellationToken = default)
    {
        // SQLite reads LIMIT -1 as "no limit"; a negative max is a caller bug, not a request for everything.
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        using var c = Open();
        using var cmd = Cmd(c, null, ItemColumns + " WHERE status='half' AND first_seen < $t ORDER BY first_seen LIMIT $n", ("$t", Iso(olderThan)), ("$n", max));
        return Task.FromResult<IReadOnlyList<PendingItem>>(ReadItems(cmd));
    }

    public Task<IReadOnlyList<PendingItem>> ClaimAsync(string batchId, int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        using var sel = Cmd(c, tx, ItemColumns + " WHERE status='pending' ORDER BY pending_since, image_key LIMIT $n", ("$n", max));
        var items = ReadItems(sel);
        using var upd = Cmd(c, tx, "UPDATE items SET status='claimed', batch_id=$b WHERE image_key=$k AND status='pending'", ("$b", batchId), ("$k", ""));
        var claimed = new List<PendingItem>(items.Count);
        foreach (var item in items)
        {
            upd.Parameters["$k"].Value = item.ImageKey;
            if (upd.ExecuteNonQuery() == 1)
            {
                claimed.Add(item with { Status = PendingStatus.Claimed, BatchId = batchId });
            }
        }

        tx.Commit();
        return Task.FromResult<IReadOnlyList<PendingItem>>(claimed);
    }

    public Task<int> ReleaseAsync(string batchId, IEnumerable<string> imageKeys, CancellationToken cancellationToken = default) =>
        Task.FromResult(Move(batchId, imageKeys, "UPDATE items SET status='pending', batch_id=NULL WHERE image_key=$k AND batch_id=$b AND status='claimed'"));

    public Task<int> MarkDoneAsync(string batchId, IEnumerable<string> imageKeys, CancellationToken cancellationToken = default) =>
        Task.FromResult(Move(batchId, imageKeys, "UPDATE items SET status='done' WHERE image_key=$k AND batch_id=$b AND status='claimed'"));

    public Task<ReturnOutcome> ReturnUnlabeledAsync(string batchId, IEnumerable<string> imageKeys, string reason, bool countsAgainstItem, int setAsideAfterReturns, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(setAsideAfterReturns);
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        // One statement per item decides between pending and set aside from the count it is about to write.
        using var upd = Cmd(c, tx, """
            UPDATE items SET
              return_count = return_count + $inc,
              last_return_reason = $r,
              batch_id = NULL,
              status = CASE WHEN $max > 0 AND return_count + $inc >= $max THEN 'set-aside' ELSE 'pending' END,
              set_aside_at = CASE WHEN $max > 0 AND return_count + $inc >= $max THEN $now ELSE NULL END
            WHERE image_key=$k AND batch_id=$b AND status='claimed'
            RETURNING status
            """, ("$inc", countsAgainstItem ? 1 : 0), ("$r", reason), ("$max", setAsideAfterReturns), ("$now", Iso(now)), ("$b", batchId), ("$k", ""));
        int returned = 0, setAside = 0;
        foreach (var key in imageKeys)
        {
            upd.Parameters["$k"].Value = key;
            if (upd.ExecuteScalar() is string status)
            {
                returned++;
                setAside += status == "set-aside" ? 1 : 0;
            }
        }

        tx.Commit();
        return Task.FromResult(new ReturnOutcome(returned, setAside));
    }

    public Task<IReadOnlyList<PendingItem>> ListSetAsideAsync(int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        using var c = Open();
        using var cmd = Cmd(c, null, ItemColumns + " WHERE status='set-aside' ORDER BY set_aside_at, image_key LIMIT $n", ("$n", max));
        return Task.FromResult<IReadOnlyList<PendingItem>>(ReadItems(cmd));
    }

    public Task<int> RequeueSetAsideAsync(IEnumerable<string> imageKeys, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        using var upd = Cmd(c, tx, "UPDATE items SET status='pending', return_count=0, set_aside_at=NULL WHERE image_key=$k AND status='set-aside'", ("$k", ""));
        var moved = 0;
        foreach (var key in imageKeys)
        {
            upd.Parameters["$k"].Value = key;
            moved += upd.ExecuteNonQuery();
        }

        tx.Commit();
        return Task.FromResult(moved);
    }

    public Task<CreationBackoff?> GetCreationBackoffAsync(CancellationToken cancellationToken = default)
    {
        using var c = Open();
        return Task.FromResult(ReadBackoff(c, null));
    }

    public Task<CreationBackoff> RecordCreationFailureAsync(string reason, DateTimeOffset now, TimeSpan initial, TimeSpan max, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        var failures = (ReadBackoff(c, tx)?.Failures ?? 0) + 1;
        var next = new CreationBackoff(failures, now, now + CreationBackoff.Delay(failures, initial, max), reason);
        using var cmd = Cmd(c, tx, "INSERT INTO creation_backoff(id, failures, last_failure, next_attempt, reason) VALUES(1, $f, $l, $n, $r) ON CONFLICT(id) DO UPDATE SET failures=$f, last_failure=$l, next_attempt=$n, reason=$r",
            ("$f", failures), ("$l", Iso(now)), ("$n", Iso(next.NextAttemptAt)), ("$r", reason));
        cmd.ExecuteNonQuery();
        tx.Commit();
        return Task.FromResult(next);
    }

    public Task ClearCreationBackoffAsync(CancellationToken cancellationToken = default)
    {
        using var c = Open();
        Exec(c, null, "DELETE FROM creation_backoff");
        return Task.CompletedTask;
    }

    private static CreationBackoff? ReadBackoff(SqliteConnection c, SqliteTransaction? tx)
    {
        using var cmd = Cmd(c, tx, "SELECT failures, last_failure, next_attempt, reason FROM creation_backoff WHERE id=1");
        using var r = cmd.ExecuteReader();
        return r.Read() ? new CreationBackoff(r.GetInt32(0), ParseIso(r.GetString(1)), ParseIso(r.GetString(2)), r.GetString(3)) : null;
    }

    private int Move(string batchId, IEnumerable<string> imageKeys, string sql)
    {
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        using var upd = Cmd(c, tx, sql, ("$b", batchId), ("$k", ""));
        var moved = 0;
        foreach (var key in imageKeys)
        {
            upd.Parameters["$k"].Value = key;
            moved += upd.ExecuteNonQuery();
        }

        tx.Commit();
        return moved;
    }

    public Task<IReadOnlyList<PendingItem>> GetBatchItemsAsync(string batchId, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var cmd = Cmd(c, null, ItemColumns + " WHERE batch_id=$b ORDER BY pending_since, image_key", ("$b", batchId));
        return Task.FromResult<IReadOnlyList<PendingItem>>(ReadItems(cmd));
    }

    public Task<bool> TryCreateBatchAsync(BatchRecord batch, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var cmd = Cmd(c, null, "INSERT OR IGNORE INTO batches(job_name, batch_id, status, created_at, item_count, month, forecast_usd, job_arn) VALUES($j, $b, $s, $c, $n, $m, $f, $a)",
            ("$j", batch.JobName), ("$b", batch.BatchId), ("$s", batch.Status.ToString()), ("$c", Iso(batch.CreatedAt)), ("$n", batch.ItemCount),
            ("$m", batch.Month), ("$f", batch.ForecastUsd.ToString(CultureInfo.InvariantCulture)), ("$a", batch.JobArn));
        return Task.FromResult(cmd.ExecuteNonQuery() == 1);
    }

    public Task<BatchRecord?> GetBatchAsync(string jobName, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var cmd = Cmd(c, null, BatchColumns + " WHERE job_name=$j", ("$j", jobName));
        return Task.FromResult(ReadBatches(cmd).FirstOrDefault());
    }

    public Task<bool> TryUpdateBatchStatusAsync(string jobName, BatchStatus expected, BatchStatus next, string? jobArn = null, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var cmd = Cmd(c, null, "UPDATE batches SET status=$n, job_arn=COALESCE($a, job_arn) WHERE job_name=$j AND status=$e",
            ("$n", next.ToString()), ("$a", jobArn), ("$j", jobName), ("$e", expected.ToString()));
        return Task.FromResult(cmd.ExecuteNonQuery() == 1);
    }

    public Task SetBatchTotalsAsync(string jobName, int itemCount, decimal forecastUsd, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var cmd = Cmd(c, null, "UPDATE batches SET item_count=$n, forecast_usd=$f WHERE job_name=$j",
            ("$n", itemCount), ("$f", forecastUsd.ToString(CultureInfo.InvariantCulture)), ("$j", jobName));
        if (cmd.ExecuteNonQuery() != 1)
        {
            throw new InvalidOperationException($"batch {jobName} does not exist");
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<BatchRecord>> ListBatchesAsync(BatchStatus status, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var cmd = Cmd(c, null, BatchColumns + " WHERE status=$s ORDER BY created_at, job_name", ("$s", status.ToString()));
        return Task.FromResult<IReadOnlyList<BatchRecord>>(ReadBatches(cmd));
    }

    public Task<BudgetState> GetBudgetAsync(string month, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        return Task.FromResult(ReadBudget(c, null, month));
    }

    public Task<bool> TryReserveBudgetAsync(string month, long expectedObjects, long objects, decimal usd, decimal limitUsd, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        var b = ReadBudget(c, tx, month);
        if (b.Objects != expectedObjects || b.SpentUsd + usd > limitUsd)
        {
            return Task.FromResult(false);
        }

        WriteBudget(c, tx, month, b.Objects + objects, b.SpentUsd + usd);
        tx.Commit();
        return Task.FromResult(true);
    }

    public Task RefundBudgetAsync(string month, long objects, decimal usd, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        var b = ReadBudget(c, tx, month);
        WriteBudget(c, tx, month, Math.Max(0, b.Objects - objects), Math.Max(0, b.SpentUsd - usd));
        tx.Commit();
        return Task.CompletedTask;
    }

    private static BudgetState ReadBudget(SqliteConnection c, SqliteTransaction? tx, string month)
    {
        using var cmd = Cmd(c, tx, "SELECT objects, spent_usd FROM budget WHERE month=$m", ("$m", month));
        using var r = cmd.ExecuteReader();
        return r.Read()
            ? new BudgetState(month, r.GetInt64(0), decimal.Parse(r.GetString(1), CultureInfo.InvariantCulture))
            : new BudgetState(month, 0, 0m);
    }

    private static void WriteBudget(SqliteConnection c, SqliteTransaction tx, string month, long objects, decimal usd)
    {
        using var cmd = Cmd(c, tx, "INSERT INTO budget(month, objects, spent_usd) VALUES($m, $o, $u) ON CONFLICT(month) DO UPDATE SET objects=$o, spent_usd=$u",
            ("$m", month), ("$o", objects), ("$u", usd.ToString(CultureInfo.InvariantCulture)));
        cmd.ExecuteNonQuery();
    }

    private const string ItemColumns = "SELECT image_key, bucket, thing, status, has_image, has_sidecar, batch_id, first_seen, pending_since, payload, return_count, last_return_reason, set_aside_at FROM items";
    private const string BatchColumns = "SELECT batch_id, job_name, status, created_at, item_count, month, forecast_usd, job_arn FROM batches";

    private static List<PendingItem> ReadItems(SqliteCommand cmd)
    {
        var list = new List<PendingItem>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            list.Add(new PendingItem(
                r.GetString(0),
                r.GetString(1),
                r.GetString(2),
                ParseStatus(r.GetString(3)),
                r.GetInt64(4) == 1,
                r.GetInt64(5) == 1,
                r.IsDBNull(6) ? null : r.GetString(6),
                ParseIso(r.GetString(7)),
                r.IsDBNull(8) ? null : ParseIso(r.GetString(8)),
                r.IsDBNull(9) ? null : JsonSerializer.Deserialize(r.GetString(9), LabelingJsonContext.Default.PendingPayload),
                r.GetInt32(10),
                r.IsDBNull(11) ? null : r.GetString(11),
                r.IsDBNull(12) ? null : ParseIso(r.GetString(12))));
        }

        return list;
    }

    private static List<BatchRecord> ReadBatches(SqliteCommand cmd)
    {
        var list = new List<BatchRecord>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            list.Add(new BatchRecord(
                r.GetString(0),
                r.GetString(1),
                Enum.Parse<BatchStatus>(r.GetString(2)),
                ParseIso(r.GetString(3)),
                r.GetInt32(4),
                r.GetString(5),
                decimal.Parse(r.GetString(6), CultureInfo.InvariantCulture),
                r.IsDBNull(7) ? null : r.GetString(7)));
        }

        return list;
    }

    internal static PendingStatus ParseStatus(string s) => s switch
    {
        "half" => PendingStatus.Half,
        "pending" => PendingStatus.Pending,
        "claimed" => PendingStatus.Claimed,
        "done" => PendingStatus.Done,
        "set-aside" => PendingStatus.SetAside,
        _ => throw new InvalidDataException($"unknown item status '{s}' in the pending store"),
    };

    // Fixed-width UTC timestamps sort correctly as text, which the pending index relies on.
    internal static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    internal static DateTimeOffset ParseIso(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static SqliteCommand Cmd(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return cmd;
    }

    private static void Exec(SqliteConnection c, SqliteTransaction? tx, string sql)
    {
        using var cmd = Cmd(c, tx, sql);
        cmd.ExecuteNonQuery();
    }
}
