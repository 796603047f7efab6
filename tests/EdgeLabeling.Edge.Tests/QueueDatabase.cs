using EdgeLabeling.Edge.Queue;
using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Edge.Tests;

/// <summary>
/// A queue database with the outbox's schema and nothing else, so one part of the queue can be tested on its own.
/// Rows are written here with plain SQL, the way an earlier run of the outbox would have left them.
/// </summary>
public sealed class QueueDatabase : IDisposable
{
    private readonly TempDir _dir = new();

    public QueueDatabase()
    {
        SystemSqlite.EnsureInitialized();
        BlobDirectory = _dir.Sub("blobs");
        Connection = new SqliteConnection($"Data Source={_dir.File("outbox.db")};Pooling=False");
        Connection.Open();
        OutboxSchema.Apply(Connection);
    }

    public SqliteConnection Connection { get; }

    public string BlobDirectory { get; }

    public string Folder => _dir.Path;

    /// <summary>Inserts one item row and returns its id.</summary>
    public long InsertItem(QueuePriority priority, long bytes, DateTimeOffset enqueued, string payload = "", string? blob = null, long? batchId = null)
    {
        using var cmd = Connection.CreateCommand();
        cmd.CommandText = """
            INSERT INTO items(unique_id, priority, object_key, sha256, content_type, blob, payload, bytes, enqueued_utc, batch_id)
            VALUES ($u, $p, $k, 'sha', 'image/jpeg', $b, $pl, $n, $t, $batch);
            SELECT last_insert_rowid()
            """;
        cmd.Parameters.AddWithValue("$u", Guid.NewGuid().ToString());
        cmd.Parameters.AddWithValue("$p", (int)priority);
        cmd.Parameters.AddWithValue("$k", "incoming/dev1/2026/11/26/" + Guid.NewGuid().ToString("N") + ".jpg");
        cmd.Parameters.AddWithValue("$b", (object?)blob ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$pl", System.Text.Encoding.UTF8.GetBytes(payload));
        cmd.Parameters.AddWithValue("$n", bytes);
        cmd.Parameters.AddWithValue("$t", enqueued.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$batch", (object?)batchId ?? DBNull.Value);
        return (long)cmd.ExecuteScalar()!;
    }

    public long Count(string sql) => Convert.ToInt64(Scalar(sql), System.Globalization.CultureInfo.InvariantCulture);

    public string Text(string sql) => Convert.ToString(Scalar(sql), System.Globalization.CultureInfo.InvariantCulture)!;

    public void Execute(string sql)
    {
        using var cmd = Connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private object? Scalar(string sql)
    {
        using var cmd = Connection.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    public void Dispose()
    {
        Connection.Dispose();
        _dir.Dispose();
    }
}
