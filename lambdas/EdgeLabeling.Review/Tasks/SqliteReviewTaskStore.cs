using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Pending;
using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Review.Tasks;

/// <summary>
/// The local task store: one SQLite file (beside the local pending store), safe for several processes.
/// Each change runs in a <c>BEGIN IMMEDIATE</c> transaction, so its read-check-write cannot interleave
/// with another writer's — the same guarantee the DynamoDB store gets from conditional writes.
/// </summary>
public sealed class SqliteReviewTaskStore : IReviewTaskStore
{
    private readonly SharedSqliteFile _file;

    public SqliteReviewTaskStore(string path)
    {
        _file = new SharedSqliteFile(path, """
            CREATE TABLE IF NOT EXISTS review_jobs(
              job_key TEXT PRIMARY KEY,
              created_at TEXT NOT NULL,
              status TEXT NOT NULL,
              body TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS review_tasks(
              job_key TEXT NOT NULL,
              idx INTEGER NOT NULL,
              state INTEGER NOT NULL,
              lease_owner TEXT,
              lease_id TEXT,
              lease_until INTEGER,
              accepted_at INTEGER,
              answer TEXT,
              submitted_by TEXT,
              submitted_at INTEGER,
              source_ref TEXT NOT NULL,
              input_line TEXT NOT NULL,
              width INTEGER,
              height INTEGER,
              depth INTEGER,
              PRIMARY KEY(job_key, idx));
            CREATE INDEX IF NOT EXISTS review_tasks_open ON review_tasks(job_key, state, lease_until);
            CREATE INDEX IF NOT EXISTS review_tasks_next ON review_tasks(job_key, state, idx);
            """);
    }

    private SqliteConnection Open() => _file.Open();

    public Task<bool> TryCreateJobAsync(ReviewJob job, IReadOnlyList<ReviewTask> tasks, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        using (var exists = Cmd(c, tx, "SELECT 1 FROM review_jobs WHERE job_key=$k", ("$k", job.Key)))
        {
            if (exists.ExecuteScalar() is not null)
            {
                return Task.FromResult(false);
            }
        }

        Exec(c, tx, "INSERT INTO review_jobs(job_key, created_at, status, body) VALUES($k, $c, $s, $b)",
            ("$k", job.Key), ("$c", job.CreatedAt.UtcTicks.ToString("D20", CultureInfo.InvariantCulture)), ("$s", job.Status), ("$b", Serialize(job)));
        using var insert = Cmd(c, tx, """
            INSERT INTO review_tasks(job_key, idx, state, source_ref, input_line, width, height, depth)
            VALUES($k, $i, $st, $s, $l, $w, $h, $d)
            """, ("$k", job.Key), ("$i", 0), ("$st", 0), ("$s", ""), ("$l", ""), ("$w", DBNull.Value), ("$h", DBNull.Value), ("$d", DBNull.Value));
        insert.Prepare();
        foreach (var t in tasks)
        {
            insert.Parameters["$i"].Value = t.Index;
            insert.Parameters["$st"].Value = (int)t.State;
            insert.Parameters["$s"].Value = t.SourceRef;
            insert.Parameters["$l"].Value = t.InputLine;
            insert.Parameters["$w"].Value = t.ImageSize is { } s1 ? s1.Width : DBNull.Value;
            insert.Parameters["$h"].Value = t.ImageSize is { } s2 ? s2.Height : DBNull.Value;
            insert.Parameters["$d"].Value = t.ImageSize is { } s3 ? s3.Depth : DBNull.Value;
            insert.ExecuteNonQuery();
        }

        tx.Commit();
        return Task.FromResult(true);
    }

    public Task<ReviewJob?> GetJobAsync(string jobName, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var cmd = Cmd(c, null, "SELECT body FROM review_jobs WHERE job_key=$k", ("$k", ReviewJob.KeyOf(jobName)));
        return Task.FromResult(cmd.ExecuteScalar() is string body ? Deserialize(body) : null);
    }

    public Task<IReadOnlyList<ReviewJob>> ListJobsAsync(CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var cmd = Cmd(c, null, "SELECT body FROM review_jobs ORDER BY created_at, job_key");
        using var r = cmd.ExecuteReader();
        var jobs = new List<ReviewJob>();
        while (r.Read())
        {
            jobs.Add(Deserialize(r.GetString(0)));
        }

        return Task.FromResult<IReadOnlyList<ReviewJob>>(jobs);
    }

    public Task<bool> TryUpdateJobAsync(ReviewJob updated, string expectedStatus, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        var n = Exec(c, null, "UPDATE review_jobs SET status=$s, body=$b WHERE job_key=$k AND status=$e",
            ("$s", updated.Status), ("$b", Serialize(updated)), ("$k", updated.Key), ("$e", expectedStatus));
        return Task.FromResult(n == 1);
    }

    public Task<ReviewTask?> LeaseNextAsync(string jobName, string workerId, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken = default)
    {
        var key = ReviewJob.KeyOf(jobName);
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        long? index = null;
        using (var mine = Cmd(c, tx, "SELECT idx FROM review_tasks WHERE job_key=$k AND state=1 AND lease_owner=$w AND lease_until>$n ORDER BY idx LIMIT 1",
            ("$k", key), ("$w", workerId), ("$n", now.UtcTicks)))
        {
            if (mine.ExecuteScalar() is long held)
            {
                tx.Commit();
                return Task.FromResult(ReadTask(c, null, key, (int)held));
            }
        }

        // Two index seeks instead of one OR (which SQLite answers by sorting every open task): a lease that
        // ran out goes first (it was offered earlier), then the lowest pending index.
        using (var lapsed = Cmd(c, tx, "SELECT idx FROM review_tasks WHERE job_key=$k AND state=1 AND lease_until<=$n ORDER BY lease_until LIMIT 1",
            ("$k", key), ("$n", now.UtcTicks)))
        {
            index = lapsed.ExecuteScalar() as long?;
        }

        if (index is null)
        {
            using var next = Cmd(c, tx, "SELECT idx FROM review_tasks WHERE job_key=$k AND state=0 ORDER BY idx LIMIT 1", ("$k", key));
            index = next.ExecuteScalar() as long?;
        }

        if (index is null)
        {
            return Task.FromResult<ReviewTask?>(null);
        }

        Exec(c, tx, "UPDATE review_tasks SET state=1, lease_owner=$w, lease_id=$l, lease_until=$u, accepted_at=$n WHERE job_key=$k AND idx=$i",
            ("$w", workerId), ("$l", NewLeaseId()), ("$u", leaseUntil.UtcTicks), ("$n", now.UtcTicks), ("$k", key), ("$i", index.Value));
        var task = ReadTask(c, tx, key, (int)index.Value);
        tx.Commit();
        return Task.FromResult(task);
    }

    public Task<TaskChangeResult> HeartbeatAsync(string jobName, int index, string workerId, string leaseId, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken = default) =>
        Task.FromResult(Change(jobName, index, workerId, leaseId, now, (c, tx, key) =>
            Exec(c, tx, "UPDATE review_tasks SET lease_until=$u WHERE job_key=$k AND idx=$i", ("$u", leaseUntil.UtcTicks), ("$k", key), ("$i", index))));

    public Task<TaskChangeResult> SubmitAsync(string jobName, int index, string workerId, string leaseId, DateTimeOffset now, string answerJson, CancellationToken cancellationToken = default) =>
        Task.FromResult(Change(jobName, index, workerId, leaseId, now, (c, tx, key) =>
            Exec(c, tx, "UPDATE review_tasks SET state=2, answer=$a, submitted_by=$w, submitted_at=$n WHERE job_key=$k AND idx=$i",
                ("$a", answerJson), ("$w", workerId), ("$n", now.UtcTicks), ("$k", key), ("$i", index))));

    public Task<TaskChangeResult> ReleaseAsync(string jobName, int index, string workerId, string leaseId, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Task.FromResult(Change(jobName, index, workerId, leaseId, now, (c, tx, key) =>
            Exec(c, tx, "UPDATE review_tasks SET state=0, lease_owner=NULL, lease_id=NULL, lease_until=NULL, accepted_at=NULL WHERE job_key=$k AND idx=$i", ("$k", key), ("$i", index))));

    /// <summary>Checks the caller's lease and applies <paramref name="apply"/> in one write transaction.</summary>
    private TaskChangeResult Change(string jobName, int index, string workerId, string leaseId, DateTimeOffset now, Action<SqliteConnection, SqliteTransaction, string> apply)
    {
        var key = ReviewJob.KeyOf(jobName);
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: false);
        var task = ReadTask(c, tx, key, index);
        var outcome = ReviewLeaseRules.Check(task, workerId, leaseId, now);
        if (outcome != TaskChange.Ok)
        {
            return new TaskChangeResult(outcome, task);
        }

        apply(c, tx, key);
        var after = ReadTask(c, tx, key, index);
        tx.Commit();
        return new TaskChangeResult(TaskChange.Ok, after);
    }

    public Task<ReviewTask?> GetTaskAsync(string jobName, int index, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        return Task.FromResult(ReadTask(c, null, ReviewJob.KeyOf(jobName), index));
    }

    public async IAsyncEnumerable<ReviewTask> ListTasksAsync(string jobName, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var c = Open();
        await using var cmd = Cmd(c, null, $"SELECT {Columns} FROM review_tasks WHERE job_key=$k ORDER BY idx", ("$k", ReviewJob.KeyOf(jobName)));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return Map(r);
        }
    }

    public Task<ReviewJobProgress> GetProgressAsync(string jobName, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var cmd = Cmd(c, null, """
            SELECT COUNT(*),
                   SUM(CASE WHEN state=0 OR (state=1 AND lease_until<=$n) THEN 1 ELSE 0 END),
                   SUM(CASE WHEN state=1 AND lease_until>$n THEN 1 ELSE 0 END),
                   SUM(CASE WHEN state=2 THEN 1 ELSE 0 END),
                   SUM(CASE WHEN state=3 THEN 1 ELSE 0 END)
            FROM review_tasks WHERE job_key=$k
            """, ("$k", ReviewJob.KeyOf(jobName)), ("$n", now.UtcTicks));
        using var r = cmd.ExecuteReader();
        r.Read();
        int At(int i) => r.IsDBNull(i) ? 0 : (int)r.GetInt64(i);
        return Task.FromResult(new ReviewJobProgress(At(0), At(1), At(2), At(3), At(4)));
    }

    public Task<bool> HasOpenTasksAsync(string jobName, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var cmd = Cmd(c, null, "SELECT 1 FROM review_tasks WHERE job_key=$k AND state IN (0, 1) LIMIT 1", ("$k", ReviewJob.KeyOf(jobName)));
        return Task.FromResult(cmd.ExecuteScalar() is not null);
    }

    public Task<int> ExpireOpenTasksAsync(string jobName, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        var n = Exec(c, null, "UPDATE review_tasks SET state=3, lease_owner=NULL, lease_id=NULL, lease_until=NULL WHERE job_key=$k AND state IN (0, 1)", ("$k", ReviewJob.KeyOf(jobName)));
        return Task.FromResult(n);
    }

    private const string Columns = "job_key, idx, state, lease_owner, lease_id, lease_until, accepted_at, answer, submitted_by, submitted_at, source_ref, input_line, width, height, depth";

    private static ReviewTask? ReadTask(SqliteConnection c, SqliteTransaction? tx, string key, int index)
    {
        using var cmd = Cmd(c, tx, $"SELECT {Columns} FROM review_tasks WHERE job_key=$k AND idx=$i", ("$k", key), ("$i", index));
        using var r = cmd.ExecuteReader();
        return r.Read() ? Map(r) : null;
    }

    private static ReviewTask Map(SqliteDataReader r)
    {
        DateTimeOffset? Time(int i) => r.IsDBNull(i) ? null : new DateTimeOffset(r.GetInt64(i), TimeSpan.Zero);
        string? Str(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        return new ReviewTask
        {
            JobKey = r.GetString(0),
            Index = (int)r.GetInt64(1),
            State = (ReviewTaskState)r.GetInt64(2),
            LeaseOwner = Str(3),
            LeaseId = Str(4),
            LeaseExpiresAt = Time(5),
            AcceptedAt = Time(6),
            Answer = Str(7),
            SubmittedBy = Str(8),
            SubmittedAt = Time(9),
            SourceRef = r.GetString(10),
            InputLine = r.GetString(11),
            ImageSize = r.IsDBNull(12) ? null : new ImageSize((int)r.GetInt64(12), (int)r.GetInt64(13), (int)r.GetInt64(14)),
        };
    }

    internal static string NewLeaseId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private static string Serialize(ReviewJob job) => JsonSerializer.Serialize(job, ReviewJsonContext.Default.ReviewJob);

    private static ReviewJob Deserialize(string body) => JsonSerializer.Deserialize(body, ReviewJsonContext.Default.ReviewJob)
        ?? throw new InvalidDataException("a review job record is JSON null");

    private static SqliteCommand Cmd(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value);
        }

        return cmd;
    }

    private static int Exec(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object Value)[] args)
    {
        using var cmd = Cmd(c, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }
}

/// <summary>The lease rule both stores apply before a heartbeat, submit or release.</summary>
public static class ReviewLeaseRules
{
    public static TaskChange Check(ReviewTask? task, string workerId, string leaseId, DateTimeOffset now)
    {
        if (task is null)
        {
            return TaskChange.NotFound;
        }

        switch (task.State)
        {
            case ReviewTaskState.Submitted:
                return TaskChange.AlreadySubmitted;
            case ReviewTaskState.Expired:
                return TaskChange.TaskExpired;
        }

        if (task.State == ReviewTaskState.Leased && task.LeaseId == leaseId && task.LeaseOwner == workerId)
        {
            return task.LeaseExpiresAt > now ? TaskChange.Ok : TaskChange.LeaseExpired;
        }

        // Not the caller's current lease: someone else holds it now, or nobody (the caller's ran out and the
        // task went back to the pool).
        return task.IsLeaseLive(now) && task.LeaseOwner != workerId ? TaskChange.LeasedByAnother : TaskChange.LeaseExpired;
    }
}
