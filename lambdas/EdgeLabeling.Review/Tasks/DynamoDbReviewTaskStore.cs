using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Review.Tasks;

/// <summary>
/// The task store on one DynamoDB table: partition key <c>pk</c>, sort key <c>sk</c>. Jobs are items
/// <c>JOBS</c>/<c>{jobKey}</c>; tasks are <c>JOB#{jobKey}</c>/<c>T#{index:D8}</c>. Open tasks (pending or leased)
/// carry <c>openJob</c>/<c>openAt</c> (0 for pending, the lease end for leased), the keys of the sparse index
/// <c>open</c>, so finding a task to lease reads a few index entries instead of the whole job; a task leaves
/// the index when it is submitted or expires. Every change is one conditional UpdateItem.
/// </summary>
public sealed class DynamoDbReviewTaskStore(IAmazonDynamoDB dynamo, string tableName) : IReviewTaskStore
{
    public const string OpenIndex = "open";
    private const string JobsPk = "JOBS";
    private const int CandidatesPerQuery = 16;

    public string TableName => tableName;

    /// <summary>The table this store needs; the CDK stack and the test servers create it from this.</summary>
    public static CreateTableRequest TableDefinition(string tableName) => new()
    {
        TableName = tableName,
        BillingMode = BillingMode.PAY_PER_REQUEST,
        KeySchema = [new KeySchemaElement("pk", KeyType.HASH), new KeySchemaElement("sk", KeyType.RANGE)],
        AttributeDefinitions =
        [
            new AttributeDefinition("pk", ScalarAttributeType.S),
            new AttributeDefinition("sk", ScalarAttributeType.S),
            new AttributeDefinition("openJob", ScalarAttributeType.S),
            new AttributeDefinition("openAt", ScalarAttributeType.N),
        ],
        GlobalSecondaryIndexes =
        [
            new GlobalSecondaryIndex
            {
                IndexName = OpenIndex,
                KeySchema = [new KeySchemaElement("openJob", KeyType.HASH), new KeySchemaElement("openAt", KeyType.RANGE)],
                // The owner is projected so "does this labeler already hold a lease" reads only the index.
                Projection = new Projection { ProjectionType = ProjectionType.INCLUDE, NonKeyAttributes = ["owner"] },
            },
        ],
    };

    private static string TaskPk(string jobKey) => "JOB#" + jobKey;

    private static string TaskSk(int index) => "T#" + index.ToString("D8", CultureInfo.InvariantCulture);

    private static Dictionary<string, AttributeValue> TaskKey(string jobKey, int index) => new()
    {
        ["pk"] = new AttributeValue(TaskPk(jobKey)),
        ["sk"] = new AttributeValue(TaskSk(index)),
    };

    private static AttributeValue N(long v) => new() { N = v.ToString(CultureInfo.InvariantCulture) };

    public async Task<bool> TryCreateJobAsync(ReviewJob job, IReadOnlyList<ReviewTask> tasks, CancellationToken cancellationToken = default)
    {
        // The job item goes first (Initializing, conditional on the name being free), then the tasks, then
        // InProgress: a crash in between leaves a job that never opens, never tasks under someone else's job.
        var initializing = job with { Status = ReviewJobStatus.Initializing };
        try
        {
            await dynamo.PutItemAsync(new PutItemRequest
            {
                TableName = tableName,
                Item = JobItem(initializing),
                ConditionExpression = "attribute_not_exists(pk)",
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }

        foreach (var chunk in tasks.Chunk(25))
        {
            var writes = chunk.Select(t => new WriteRequest(new PutRequest(TaskItem(job.Key, t)))).ToList();
            var request = new Dictionary<string, List<WriteRequest>> { [tableName] = writes };
            for (var attempt = 0; request.Count > 0 && request.TryGetValue(tableName, out var left) && left.Count > 0; attempt++)
            {
                if (attempt > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 50 << Math.Min(attempt, 5))), cancellationToken).ConfigureAwait(false);
                }

                var response = await dynamo.BatchWriteItemAsync(new BatchWriteItemRequest { RequestItems = request }, cancellationToken).ConfigureAwait(false);
                request = response.UnprocessedItems ?? [];
            }
        }

        return await TryUpdateJobAsync(job, ReviewJobStatus.Initializing, cancellationToken).ConfigureAwait(false);
    }

    private static Dictionary<string, AttributeValue> JobItem(ReviewJob job) => new()
    {
        ["pk"] = new AttributeValue(JobsPk),
        ["sk"] = new AttributeValue(job.Key),
        ["status"] = new AttributeValue(job.Status),
        ["body"] = new AttributeValue(JsonSerializer.Serialize(job, ReviewJsonContext.Default.ReviewJob)),
    };

    private static Dictionary<string, AttributeValue> TaskItem(string jobKey, ReviewTask t)
    {
        var item = TaskKey(jobKey, t.Index);
        item["st"] = N((long)t.State);
        item["src"] = new AttributeValue(t.SourceRef);
        item["line"] = new AttributeValue(t.InputLine);
        if (t.State is ReviewTaskState.Pending)
        {
            item["openJob"] = new AttributeValue(jobKey);
            item["openAt"] = N(0);
        }
        if (t.ImageSize is { } s)
        {
            item["w"] = N(s.Width);
            item["h"] = N(s.Height);
            item["d"] = N(s.Depth);
        }

        return item;
    }

    public async Task<ReviewJob?> GetJobAsync(string jobName, CancellationToken cancellationToken = default)
    {
        var r = await dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = tableName,
            Key = new Dictionary<string, AttributeValue> { ["pk"] = new(JobsPk), ["sk"] = new(ReviewJob.KeyOf(jobName)) },
            ConsistentRead = true,
        }, cancellationToken).ConfigureAwait(false);
        return r.Item is { Count: > 0 } item ? ParseJob(item) : null;
    }

    private static ReviewJob ParseJob(Dictionary<string, AttributeValue> item) =>
        JsonSerializer.Deserialize(item["body"].S, ReviewJsonContext.Default.ReviewJob) ?? throw new InvalidDataException("a review job record is JSON null");

    public async Task<IReadOnlyList<ReviewJob>> ListJobsAsync(CancellationToken cancellationToken = default)
    {
        var jobs = new List<ReviewJob>();
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var r = await dynamo.QueryAsync(new QueryRequest
            {
                TableName = tableName,
                KeyConditionExpression = "pk = :p",
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":p"] = new(JobsPk) },
                ExclusiveStartKey = start,
                ConsistentRead = true,
            }, cancellationToken).ConfigureAwait(false);
            jobs.AddRange((r.Items ?? []).Select(ParseJob));
            start = r.LastEvaluatedKey is { Count: > 0 } k ? k : null;
        }
        while (start is not null);

        return [.. jobs.Where(j => j.Status != ReviewJobStatus.Initializing).OrderBy(j => j.CreatedAt).ThenBy(j => j.Key, StringComparer.Ordinal)];
    }

    public async Task<bool> TryUpdateJobAsync(ReviewJob updated, string expectedStatus, CancellationToken cancellationToken = default)
    {
        try
        {
            await dynamo.PutItemAsync(new PutItemRequest
            {
                TableName = tableName,
                Item = JobItem(updated),
                ConditionExpression = "#s = :e",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#s"] = "status" },
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":e"] = new(expectedStatus) },
            }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
    }

    public async Task<ReviewTask?> LeaseNextAsync(string jobName, string workerId, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken = default)
    {
        var key = ReviewJob.KeyOf(jobName);

        // A labeler who already holds a live lease gets that task back (a reload must not take a second one).
        var held = await dynamo.QueryAsync(new QueryRequest
        {
            TableName = tableName,
            IndexName = OpenIndex,
            KeyConditionExpression = "openJob = :j AND openAt > :n",
            FilterExpression = "#o = :w",
            ExpressionAttributeNames = new Dictionary<string, string> { ["#o"] = "owner" },
            ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":j"] = new(key), [":n"] = N(now.UtcTicks), [":w"] = new(workerId) },
        }, cancellationToken).ConfigureAwait(false);
        foreach (var h in held.Items ?? [])
        {
            var task = await GetTaskAsync(key, IndexOf(h["sk"].S), cancellationToken).ConfigureAwait(false);
            if (task is not null && task.IsLeaseLive(now) && task.LeaseOwner == workerId)
            {
                return task;
            }
        }

        for (var round = 0; round < 8; round++)
        {
            var open = await dynamo.QueryAsync(new QueryRequest
            {
                TableName = tableName,
                IndexName = OpenIndex,
                KeyConditionExpression = "openJob = :j AND openAt <= :n",
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":j"] = new(key), [":n"] = N(now.UtcTicks) },
                Limit = CandidatesPerQuery,
            }, cancellationToken).ConfigureAwait(false);
            var candidates = (open.Items ?? []).Select(i => IndexOf(i["sk"].S)).ToArray();
            if (candidates.Length == 0)
            {
                return null;
            }

            // Racing labelers read the same head of the index; a random order spreads them over it.
            Random.Shared.Shuffle(candidates);
            foreach (var index in candidates)
            {
                try
                {
                    var r = await dynamo.UpdateItemAsync(new UpdateItemRequest
                    {
                        TableName = tableName,
                        Key = TaskKey(key, index),
                        UpdateExpression = "SET st = :leased, #o = :w, leaseId = :l, leaseUntil = :u, acceptedAt = :n, openAt = :u",
                        ConditionExpression = "openJob = :j AND (st = :pending OR (st = :leased AND leaseUntil <= :n))",
                        ExpressionAttributeNames = new Dictionary<string, string> { ["#o"] = "owner" },
                        ExpressionAttributeValues = new Dictionary<string, AttributeValue>
                        {
                            [":leased"] = N((long)ReviewTaskState.Leased),
                            [":pending"] = N((long)ReviewTaskState.Pending),
                            [":w"] = new(workerId),
                            [":l"] = new(SqliteReviewTaskStore.NewLeaseId()),
                            [":u"] = N(leaseUntil.UtcTicks),
                            [":n"] = N(now.UtcTicks),
                            [":j"] = new(key),
                        },
                        ReturnValues = ReturnValue.ALL_NEW,
                    }, cancellationToken).ConfigureAwait(false);
                    return ParseTask(r.Attributes);
                }
                catch (ConditionalCheckFailedException)
                {
                    // Someone else took it between the index read and this write; try the next candidate.
                }
            }
        }

        return null;
    }

    private static int IndexOf(string sk) => int.Parse(sk.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture);

    private const string LiveLeaseCondition = "st = :leased AND leaseId = :l AND #o = :w AND leaseUntil > :n";

    public Task<TaskChangeResult> HeartbeatAsync(string jobName, int index, string workerId, string leaseId, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken = default) =>
        ChangeAsync(jobName, index, workerId, leaseId, now, "SET leaseUntil = :u, openAt = :u", new() { [":u"] = N(leaseUntil.UtcTicks) }, cancellationToken);

    public Task<TaskChangeResult> SubmitAsync(string jobName, int index, string workerId, string leaseId, DateTimeOffset now, string answerJson, CancellationToken cancellationToken = default) =>
        ChangeAsync(jobName, index, workerId, leaseId, now, "SET st = :submitted, answer = :a, submittedBy = :w, submittedAt = :n REMOVE openJob, openAt",
            new() { [":submitted"] = N((long)ReviewTaskState.Submitted), [":a"] = new(answerJson) }, cancellationToken);

    public Task<TaskChangeResult> ReleaseAsync(string jobName, int index, string workerId, string leaseId, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        ChangeAsync(jobName, index, workerId, leaseId, now, "SET st = :pending, openAt = :zero REMOVE #o, leaseId, leaseUntil, acceptedAt",
            new() { [":pending"] = N((long)ReviewTaskState.Pending), [":zero"] = N(0) }, cancellationToken);

    private async Task<TaskChangeResult> ChangeAsync(string jobName, int index, string workerId, string leaseId, DateTimeOffset now, string update, Dictionary<string, AttributeValue> values, CancellationToken ct)
    {
        var key = ReviewJob.KeyOf(jobName);
        values[":leased"] = N((long)ReviewTaskState.Leased);
        values[":l"] = new(leaseId);
        values[":w"] = new(workerId);
        values[":n"] = N(now.UtcTicks);
        try
        {
            var r = await dynamo.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = tableName,
                Key = TaskKey(key, index),
                UpdateExpression = update,
                ConditionExpression = "attribute_exists(pk) AND " + LiveLeaseCondition,
                ExpressionAttributeNames = new Dictionary<string, string> { ["#o"] = "owner" },
                ExpressionAttributeValues = values,
                ReturnValues = ReturnValue.ALL_NEW,
            }, ct).ConfigureAwait(false);
            return new TaskChangeResult(TaskChange.Ok, ParseTask(r.Attributes));
        }
        catch (ConditionalCheckFailedException)
        {
            var task = await GetTaskAsync(key, index, ct).ConfigureAwait(false);
            var outcome = ReviewLeaseRules.Check(task, workerId, leaseId, now);

            // The condition failed, so the task was not the caller's live lease at write time; a read that
            // says otherwise saw a later state, and the answer is still "no longer yours".
            return new TaskChangeResult(outcome == TaskChange.Ok ? TaskChange.LeaseExpired : outcome, task);
        }
    }

    public async Task<ReviewTask?> GetTaskAsync(string jobName, int index, CancellationToken cancellationToken = default)
    {
        var r = await dynamo.GetItemAsync(new GetItemRequest { TableName = tableName, Key = TaskKey(ReviewJob.KeyOf(jobName), index), ConsistentRead = true }, cancellationToken).ConfigureAwait(false);
        return r.Item is { Count: > 0 } item ? ParseTask(item) : null;
    }

    public async IAsyncEnumerable<ReviewTask> ListTasksAsync(string jobName, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var r = await dynamo.QueryAsync(new QueryRequest
            {
                TableName = tableName,
                KeyConditionExpression = "pk = :p",
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":p"] = new(TaskPk(ReviewJob.KeyOf(jobName))) },
                ExclusiveStartKey = start,
                ConsistentRead = true,
            }, cancellationToken).ConfigureAwait(false);
            foreach (var item in r.Items ?? [])
            {
                yield return ParseTask(item);
            }

            start = r.LastEvaluatedKey is { Count: > 0 } k ? k : null;
        }
        while (start is not null);
    }

    public async Task<ReviewJobProgress> GetProgressAsync(string jobName, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        int total = 0, pending = 0, leased = 0, submitted = 0, expired = 0;
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var r = await dynamo.QueryAsync(new QueryRequest
            {
                TableName = tableName,
                KeyConditionExpression = "pk = :p",
                ProjectionExpression = "st, leaseUntil",
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":p"] = new(TaskPk(ReviewJob.KeyOf(jobName))) },
                ExclusiveStartKey = start,
                ConsistentRead = true,
            }, cancellationToken).ConfigureAwait(false);
            foreach (var item in r.Items ?? [])
            {
                total++;
                switch ((ReviewTaskState)int.Parse(item["st"].N, CultureInfo.InvariantCulture))
                {
                    case ReviewTaskState.Pending:
                        pending++;
                        break;
                    case ReviewTaskState.Leased when item.TryGetValue("leaseUntil", out var u) && long.Parse(u.N, CultureInfo.InvariantCulture) > now.UtcTicks:
                        leased++;
                        break;
                    case ReviewTaskState.Leased:
                        pending++;
                        break;
                    case ReviewTaskState.Submitted:
                        submitted++;
                        break;
                    default:
                        expired++;
                        break;
                }
            }

            start = r.LastEvaluatedKey is { Count: > 0 } k ? k : null;
        }
        while (start is not null);

        return new ReviewJobProgress(total, pending, leased, submitted, expired);
    }

    public async Task<bool> HasOpenTasksAsync(string jobName, CancellationToken cancellationToken = default)
    {
        var r = await dynamo.QueryAsync(new QueryRequest
        {
            TableName = tableName,
            IndexName = OpenIndex,
            KeyConditionExpression = "openJob = :j",
            ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":j"] = new(ReviewJob.KeyOf(jobName)) },
            Limit = 1,
        }, cancellationToken).ConfigureAwait(false);
        return r.Items is { Count: > 0 };
    }

    public async Task<int> ExpireOpenTasksAsync(string jobName, CancellationToken cancellationToken = default)
    {
        var key = ReviewJob.KeyOf(jobName);
        var expired = 0;
        while (true)
        {
            var open = await dynamo.QueryAsync(new QueryRequest
            {
                TableName = tableName,
                IndexName = OpenIndex,
                KeyConditionExpression = "openJob = :j",
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":j"] = new(key) },
            }, cancellationToken).ConfigureAwait(false);
            if (open.Items is not { Count: > 0 })
            {
                return expired;
            }

            foreach (var i in open.Items)
            {
                try
                {
                    await dynamo.UpdateItemAsync(new UpdateItemRequest
                    {
                        TableName = tableName,
                        Key = TaskKey(key, IndexOf(i["sk"].S)),
                        UpdateExpression = "SET st = :expired REMOVE openJob, openAt, #o, leaseId, leaseUntil",
                        ConditionExpression = "st IN (:pending, :leased)",
                        ExpressionAttributeNames = new Dictionary<string, string> { ["#o"] = "owner" },
                        ExpressionAttributeValues = new Dictionary<string, AttributeValue>
                        {
                            [":expired"] = N((long)ReviewTaskState.Expired),
                            [":pending"] = N((long)ReviewTaskState.Pending),
                            [":leased"] = N((long)ReviewTaskState.Leased),
                        },
                    }, cancellationToken).ConfigureAwait(false);
                    expired++;
                }
                catch (ConditionalCheckFailedException)
                {
                    // Submitted in the meantime: it stays submitted.
                }
            }
        }
    }

    private static ReviewTask ParseTask(Dictionary<string, AttributeValue> item)
    {
        string? Str(string n) => item.TryGetValue(n, out var v) && v.S is not null ? v.S : null;
        long? Num(string n) => item.TryGetValue(n, out var v) && v.N is not null ? long.Parse(v.N, CultureInfo.InvariantCulture) : null;
        DateTimeOffset? Time(string n) => Num(n) is { } t ? new DateTimeOffset(t, TimeSpan.Zero) : null;
        return new ReviewTask
        {
            JobKey = item["pk"].S["JOB#".Length..],
            Index = IndexOf(item["sk"].S),
            State = (ReviewTaskState)(Num("st") ?? 0),
            LeaseOwner = Str("owner"),
            LeaseId = Str("leaseId"),
            LeaseExpiresAt = Time("leaseUntil"),
            AcceptedAt = Time("acceptedAt"),
            Answer = Str("answer"),
            SubmittedBy = Str("submittedBy"),
            SubmittedAt = Time("submittedAt"),
            SourceRef = Str("src") ?? "",
            InputLine = Str("line") ?? "",
            ImageSize = Num("w") is { } w ? new ImageSize((int)w, (int)(Num("h") ?? 0), (int)(Num("d") ?? 3)) : null,
        };
    }
}
