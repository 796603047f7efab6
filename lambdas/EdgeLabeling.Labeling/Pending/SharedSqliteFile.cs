using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Labeling.Pending;

/// <summary>
/// A SQLite file several processes share (the local pending, task and fleet stores): created with its folder
/// when missing, in WAL mode, and every connection waits for the write lock instead of failing with SQLITE_BUSY.
/// </summary>
public sealed class SharedSqliteFile
{
    private readonly string _connectionString;

    /// <summary>Opens (and creates when missing) the file at <paramref name="path"/> and runs <paramref name="schemaSql"/> once.</summary>
    public SharedSqliteFile(string path, string schemaSql)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            // Racing writers wait for the lock instead of failing with SQLITE_BUSY.
            DefaultTimeout = 60,
        }.ToString();
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode=WAL;\n" + schemaSql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>An open connection; the caller disposes it.</summary>
    public SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last commit.
        cmd.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=60000;";
        cmd.ExecuteNonQuery();
        return c;
    }
}
