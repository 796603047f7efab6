using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Edge.Queue;

/// <summary>
/// The queue's connection settings, tables and in-place migrations, applied on every open: a queue written by an
/// older release is brought up to date without losing its items.
/// </summary>
internal static class OutboxSchema
{
    public static void Apply(SqliteConnection db)
    {
        db.Execute("PRAGMA journal_mode=WAL;");
        // FULL: a commit that acknowledges an item is on disk before Enqueue returns (WAL's NORMAL could lose it on power cut).
        db.Execute("PRAGMA synchronous=FULL;");
        db.Execute("PRAGMA busy_timeout=5000;");
        // Every acknowledged item is a few WAL frames; left alone the WAL grows to ~4 MB (1000 pages) before
        // a checkpoint and never shrinks. On a small SD card that is room the queue should have: checkpoint
        // every 256 pages (~1 MB) and truncate the WAL back to 1 MB after each.
        db.Execute("PRAGMA wal_autocheckpoint=256;");
        db.Execute("PRAGMA journal_size_limit=1048576;");
        db.Execute("""
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
        EnsureColumn(db, "items", "attempts", "INTEGER NOT NULL DEFAULT 0");
        EnsureColumn(db, "items", "not_before_utc", "INTEGER NOT NULL DEFAULT 0");
        EnsureColumn(db, "items", "last_error", "TEXT NULL");
        // Peek walks a lane in id order and skips deferred items inside the index: one seek however many
        // lower-priority items are queued before the lane's head.
        db.Execute("CREATE INDEX IF NOT EXISTS items_peek ON items(priority, id, not_before_utc)");
    }

    private static void EnsureColumn(SqliteConnection db, string table, string column, string definition)
    {
        using (var info = db.Command($"SELECT 1 FROM pragma_table_info('{table}') WHERE name = $c"))
        {
            info.Parameters.AddWithValue("$c", column);
            if (info.ExecuteScalar() is not null)
            {
                return;
            }
        }

        db.Execute($"ALTER TABLE {table} ADD COLUMN {column} {definition}");
    }
}
