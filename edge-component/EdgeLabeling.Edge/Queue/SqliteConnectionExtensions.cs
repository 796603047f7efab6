using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Edge.Queue;

/// <summary>
/// The three ways the queue's parts talk to their shared connection. None of them locks: every caller runs under
/// <see cref="Outbox"/>'s one lock.
/// </summary>
internal static class SqliteConnectionExtensions
{
    public static SqliteCommand Command(this SqliteConnection db, string sql, SqliteTransaction? tx = null)
    {
        var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }

    public static void Execute(this SqliteConnection db, string sql)
    {
        using var cmd = db.Command(sql);
        cmd.ExecuteNonQuery();
    }

    public static object? Scalar(this SqliteConnection db, string sql)
    {
        using var cmd = db.Command(sql);
        return cmd.ExecuteScalar();
    }
}
