using System.Globalization;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;

namespace EdgeLabeling.Labeling.Pending;

/// <summary>
/// The pending store on one DynamoDB table (see lambdas/README.md for the schema the infra creates):
/// partition key <c>pk</c> (<c>ITEM#{imageKey}</c>, <c>JOB#{jobName}</c>, <c>BUDGET#{yyyy-MM}</c>,
/// <c>BACKOFF#job-creation</c>), a sparse status index <c>gsi1</c> (<c>gsi1pk</c>/<c>gsi1sk</c>, keys only)
/// over pending items, half pairs, set-aside items and open batches, and an index <c>batch</c> on <c>itemBatchId</c> (all attributes).
/// Every state change is one conditional write, so no read-modify-write window exists between
/// concurrent batchers or duplicate deliveries.
/// </summary>
public sealed class DynamoDbPendingStore(IAmazonDynamoDB dynamo, string tableName) : IPendingStore
{
    public const string StatusIndex = "gsi1";
    public const string BatchIndex = "batch";

    /// <summary>The table's only key attribute (string); items, batches and budget counters share it.</summary>
    public const string PartitionKey = "pk";

    private const string PendingPk = "PENDING";
    private const string HalfPk = "HALF";
    private const string SetAsidePk = "SETASIDE";
    private const string BackoffPk = "BACKOFF#job-creation";

    // Index entries read per page while looking for the oldest still-pending item; stale heads are rare.
    private const int OldestPageSize = 10;

    public string TableName => tableName;

    /// <summary>
    /// The table this adapter needs: string partition key <c>pk</c> and no sort key, the sparse status
    /// index <c>gsi1</c> (<c>gsi1pk</c>/<c>gsi1sk</c>, keys only) and the <c>batch</c> index on
    /// <c>itemBatchId</c> (all attributes), billed on demand. The CDK StorageStack's synthesized table is
    /// tested against this description, and local servers (dynalite, DynamoDB Local) get their tables
    /// from it, so the deployed table, the test tables and the queries below cannot drift apart.
    /// </summary>
    public static CreateTableRequest TableDefinition(string tableName) => new()
    {
        TableName = tableName,
        BillingMode = BillingMode.PAY_PER_REQUEST,
        KeySchema = [new KeySchemaElement(PartitionKey, KeyType.HASH)],
        AttributeDefinitions =
        [
            new AttributeDefinition(PartitionKey, ScalarAttributeType.S),
            new AttributeDefinition("gsi1pk", ScalarAttributeType.S),
            new AttributeDefinition("gsi1sk", ScalarAttributeType.S),
            new AttributeDefinition("itemBatchId", ScalarAttributeType.S),
        ],
        GlobalSecondaryIndexes =
        [
            new GlobalSecondaryIndex
            {
                IndexName = StatusIndex,
                KeySchema = [new KeySchemaElement("gsi1pk", KeyType.HASH), new KeySchemaElement("gsi1sk", KeyType.RANGE)],
                Projection = new Projection { ProjectionType = ProjectionType.KEYS_ONLY },
            },
            new GlobalSecondaryIndex
            {
                IndexName = BatchIndex,
                KeySchema = [new KeySchemaElement("itemBatchId", KeyType.HASH)],
                Projection = new Projection { ProjectionType = ProjectionType.ALL },
            },
        ],
    };

    public Task<RegisterOutcome> RegisterImageAsync(ImageArrival arrival, CancellationToken cancellationToken = default) =>
        RegisterAsync(arrival.ImageKey, arrival.Bucket, arrival.ThingName, arrival.SeenAt, "hasImage", "hasSidecar", null, cancellationToken);

    public Task<RegisterOutcome> RegisterSidecarAsync(SidecarArrival arrival, CancellationToken cancellationToken = default) =>
        RegisterAsync(arrival.ImageKey, arrival.Bucket, arrival.ThingName, arrival.SeenAt, "hasSidecar", "hasImage",
            JsonSerializer.Serialize(arrival.Payload, LabelingJsonContext.Default.PendingPayload), cancellationToken);

    private async Task<RegisterOutcome> RegisterAsync(string key, string bucket, string thing, DateTimeOffset now, string mine, string theirs, string? payload, CancellationToken ct)
    {
        // UpdateItem (not PutItem) so the second half merges into the first half's record; the
        // attribute_not_exists condition makes a repeated delivery of the same half a no-op.
        var values = new Dictionary<string, AttributeValue>
        {
            [":t"] = new() { BOOL = true },
            [":b"] = S(bucket),
            [":th"] = S(thing),
            [":k"] = S(key),
            [":now"] = S(SqlitePendingStore.Iso(now)),
            [":half"] = S("half"),
            [":hpk"] = S(HalfPk),
            [":hsk"] = S(SqlitePendingStore.Iso(now) + "|" + key),
        };
        // "bucket" is a DynamoDB reserved word: an expression naming it directly is rejected (ValidationException).
        var set = $"SET {mine} = :t, #bk = :b, thing = :th, imageKey = :k, firstSeen = if_not_exists(firstSeen, :now), #st = if_not_exists(#st, :half), gsi1pk = if_not_exists(gsi1pk, :hpk), gsi1sk = if_not_exists(gsi1sk, :hsk)";
        if (payload is not null)
        {
            set += ", payload = :p";
            values[":p"] = S(payload);
        }

        UpdateItemResponse first;
        try
        {
            first = await dynamo.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = tableName,
                Key = ItemKey(key),
                UpdateExpression = set,
                ConditionExpression = $"attribute_not_exists({mine})",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#st"] = "st", ["#bk"] = "bucket" },
                ExpressionAttributeValues = values,
                ReturnValues = ReturnValue.ALL_NEW,
            }, ct).ConfigureAwait(false);
        }
        catch (ConditionalCheckFailedException)
        {
            return RegisterOutcome.Duplicate;
        }

        var attrs = first.Attributes ?? [];
        if (!(attrs.TryGetValue(theirs, out var other) && other.BOOL == true))
        {
            return RegisterOutcome.HalfStored;
        }

        // Only the writer that saw both flags gets here, so exactly one caller promotes the pair.
        var sk = SqlitePendingStore.Iso(now) + "|" + key;
        try
        {
            await dynamo.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = tableName,
                Key = ItemKey(key),
                UpdateExpression = "SET #st = :pending, pendingSince = :now, gsi1pk = :ppk, gsi1sk = :sk, pendingSk = :sk",
                ConditionExpression = "#st = :half",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#st"] = "st" },
                ExpressionAttributeValues = new Dictionary<string, AttributeValue>
                {
                    [":pending"] = S("pending"),
                    [":now"] = S(SqlitePendingStore.Iso(now)),
                    [":ppk"] = S(PendingPk),
                    [":sk"] = S(sk),
                    [":half"] = S("half"),
                },
            }, ct).ConfigureAwait(false);
            return RegisterOutcome.Completed;
        }
        catch (ConditionalCheckFailedException)
        {
            return RegisterOutcome.Duplicate;
        }
    }

    public async Task<PendingItem?> GetItemAsync(string imageKey, CancellationToken cancellationToken = default)
    {
        var r = await dynamo.GetItemAsync(new GetItemRequest { TableName = tableName, Key = ItemKey(imageKey), ConsistentRead = true }, cancellationToken).ConfigureAwait(false);
        return r.Item is { Count: > 0 } ? ToItem(r.Item) : null;
    }

    public async Task<PendingSummary> GetPendingSummaryAsync(CancellationToken cancellationToken = default)
    {
        // Index reads are eventually consistent; a just-completed pair may be counted one run later, which the schedule absorbs.
        long count = 0;
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var r = await dynamo.QueryAsync(new QueryRequest
            {
                TableName = tableName,
                IndexName = StatusIndex,
                KeyConditionExpression = "gsi1pk = :p",
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":p"] = S(PendingPk) },
                Select = Select.COUNT,
                ExclusiveStartKey = start,
            }, cancellationToken).ConfigureAwait(false);
            count += r.Count ?? 0;
            start = r.LastEvaluatedKey is { Count: > 0 } ? r.LastEvaluatedKey : null;
        }
        while (start is not null);

        return new PendingSummary(count, count == 0 ? null : await GetOldestPendingSinceAsync(cancellationToken).ConfigureAwait(false));
    }

    public async Task<DateTimeOffset?> GetOldestPendingSinceAsync(CancellationToken cancellationToken = default)
    {
        // The PENDING partition of gsi1 is sorted by "pendingSince|imageKey", so its head is the oldest
        // item: a Query, never a table scan. The index is eventually consistent, and a claim takes the
        // oldest items first, so right after a batcher run the head may still name items that are no
        // longer pending. Each head entry is therefore confirmed with a strongly consistent GetItem
        // and skipped when stale; normally that is one Query and one GetItem.
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var page = await QueryPendingPageAsync(start, OldestPageSize, cancellationToken).ConfigureAwait(false);
            foreach (var entry in page.Items ?? [])
            {
                var pk = entry.GetValueOrDefault("pk")?.S ?? throw new InvalidDataException($"{StatusIndex} entry without pk in table {tableName}");
                var r = await dynamo.GetItemAsync(new GetItemRequest
                {
                    TableName = tableName,
                    Key = new Dictionary<string, AttributeValue> { ["pk"] = S(pk) },
                    ConsistentRead = true,
                    ProjectionExpression = "#st, pendingSince",
                    ExpressionAttributeNames = new Dictionary<string, string> { ["#st"] = "st" },
                }, cancellationToken).ConfigureAwait(false);
                var item = r.Item ?? [];
                if (item.GetValueOrDefault("st")?.S == "pending" && item.GetValueOrDefault("pendingSince")?.S is { } since)
                {
                    // The item's own attribute, not the index key: it is what ReleaseAsync keeps across failed jobs.
                    return SqlitePendingStore.ParseIso(since);
                }
            }

            start = page.LastEvaluatedKey is { Count: > 0 } ? page.LastEvaluatedKey : null;
        }
        while (start is not null);

        return null;
    }

    public async Task<IReadOnlyList<PendingItem>> ListHalfPairsAsync(DateTimeOffset olderThan, int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        if (max == 0)
        {
            // A Query Limit must be at least 1.
            return [];
        }

        var keys = await QueryIndexKeysAsync(HalfPk, max, "gsi1sk < :before", S(SqlitePendingStore.Iso(olderThan)), cancellationToken).ConfigureAwait(false);
        var list = new List<PendingItem>(keys.Count);
        foreach (var pk in keys)
        {
            var item = await GetItemAsync(pk["ITEM#".Length..], cancellationToken).ConfigureAwait(false);
            if (item is { Status: PendingStatus.Half })
            {
                list.Add(item);
            }
        }

        return list;
    }

    public async Task<IReadOnlyList<PendingItem>> ClaimAsync(string batchId, int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        if (max == 0)
        {
            // A Query Limit must be at least 1.
            return [];
        }

        // The index is eventually consistent: right after another batcher's claim its head can still list
        // items that are no longer pending. Their conditional updates fail, so the claim pages on past
        // them instead of coming back short (or empty, which a batcher reads as "nothing pending").
        var claimed = new List<PendingItem>(Math.Min(max, 1000));
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var page = await QueryPendingPageAsync(start, Math.Min(max - claimed.Count, 1000), cancellationToken).ConfigureAwait(false);
            foreach (var entry in page.Items ?? [])
            {
                var pk = entry.GetValueOrDefault("pk")?.S ?? throw new InvalidDataException($"{StatusIndex} entry without pk in table {tableName}");
                if (await TryClaimAsync(pk, batchId, cancellationToken).ConfigureAwait(false) is { } item)
                {
                    claimed.Add(item);
                }
            }

            start = page.LastEvaluatedKey is { Count: > 0 } ? page.LastEvaluatedKey : null;
        }
        while (start is not null && claimed.Count < max);

        return claimed;
    }

    private async Task<PendingItem?> TryClaimAsync(string pk, string batchId, CancellationToken ct)
    {
        try
        {
            var r = await dynamo.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = tableName,
                Key = new Dictionary<string, AttributeValue> { ["pk"] = S(pk) },
                UpdateExpression = "SET #st = :claimed, itemBatchId = :b REMOVE gsi1pk, gsi1sk",
                ConditionExpression = "#st = :pending",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#st"] = "st" },
                ExpressionAttributeValues = new Dictionary<string, AttributeValue>
                {
                    [":claimed"] = S("claimed"),
                    [":pending"] = S("pending"),
                    [":b"] = S(batchId),
                },
                ReturnValues = ReturnValue.ALL_NEW,
            }, ct).ConfigureAwait(false);
            return ToItem(r.Attributes);
        }
        catch (ConditionalCheckFailedException)
        {
            // Another batcher won this item (or the index entry was stale); it is in exactly one batch, theirs.
            return null;
        }
    }

    public Task<int> ReleaseAsync(string batchId, IEnumerable<string> imageKeys, CancellationToken cancellationToken = default) =>
        MoveAsync(batchId, imageKeys, "SET #st = :pending, gsi1pk = :ppk, gsi1sk = pendingSk REMOVE itemBatchId",
            new() { [":pending"] = S("pending"), [":ppk"] = S(PendingPk) }, cancellationToken);

    public async Task<ReturnOutcome> ReturnUnlabeledAsync(string batchId, IEnumerable<string> imageKeys, string reason, bool countsAgainstItem, int setAsideAfterReturns, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(setAsideAfterReturns);
        var inc = countsAgainstItem ? 1 : 0;
        // The count this return writes is returnCount + inc; the item stays in the pool while that is below
        // the limit, i.e. while the stored count is below limit - inc (no stored count means 0).
        var countLimit = setAsideAfterReturns - inc;
        var neverAside = setAsideAfterReturns == 0 || inc == 0;
        int returned = 0, setAside = 0;
        foreach (var key in imageKeys)
        {
            var values = new Dictionary<string, AttributeValue>
            {
                [":claimed"] = S("claimed"),
                [":b"] = S(batchId),
                [":r"] = S(reason),
                [":inc"] = N(inc),
            };
            if (neverAside || countLimit > 0)
            {
                var toPending = new Dictionary<string, AttributeValue>(values) { [":pending"] = S("pending"), [":ppk"] = S(PendingPk) };
                var condition = "#st = :claimed AND itemBatchId = :b";
                if (!neverAside)
                {
                    condition += " AND (attribute_not_exists(returnCount) OR returnCount < :limit)";
                    toPending[":limit"] = N(countLimit);
                }

                if (await TryUpdateAsync(new UpdateItemRequest
                {
                    TableName = tableName,
                    Key = ItemKey(key),
                    UpdateExpression = "SET #st = :pending, gsi1pk = :ppk, gsi1sk = pendingSk, lastReturnReason = :r ADD returnCount :inc REMOVE itemBatchId",
                    ConditionExpression = condition,
                    ExpressionAttributeNames = new Dictionary<string, string> { ["#st"] = "st" },
                    ExpressionAttributeValues = toPending,
                }, cancellationToken).ConfigureAwait(false))
                {
                    returned++;
                    continue;
                }

                if (neverAside)
                {
                    // Not (or no longer) in this batch: a duplicate event.
                    continue;
                }
            }

            var stamp = SqlitePendingStore.Iso(now);
            if (await TryUpdateAsync(new UpdateItemRequest
            {
                TableName = tableName,
                Key = ItemKey(key),
                UpdateExpression = "SET #st = :aside, gsi1pk = :apk, gsi1sk = :ask, setAsideAt = :now, lastReturnReason = :r ADD returnCount :inc REMOVE itemBatchId",
                ConditionExpression = "#st = :claimed AND itemBatchId = :b",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#st"] = "st" },
                ExpressionAttributeValues = new Dictionary<string, AttributeValue>(values)
                {
                    [":aside"] = S("set-aside"),
                    [":apk"] = S(SetAsidePk),
                    [":ask"] = S(stamp + "|" + key),
                    [":now"] = S(stamp),
                },
            }, cancellationToken).ConfigureAwait(false))
            {
                returned++;
                setAside++;
            }
        }

        return new ReturnOutcome(returned, setAside);
    }

    public async Task<IReadOnlyList<PendingItem>> ListSetAsideAsync(int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        if (max == 0)
        {
            return [];
        }

        var keys = await QueryIndexKeysAsync(SetAsidePk, max, null, null, cancellationToken).ConfigureAwait(false);
        var list = new List<PendingItem>(keys.Count);
        foreach (var pk in keys)
        {
            // The index is eventually consistent: confirm each entry on the item itself.
            if (await GetItemAsync(pk["ITEM#".Length..], cancellationToken).ConfigureAwait(false) is { Status: PendingStatus.SetAside } item)
            {
                list.Add(item);
            }
        }

        return list;
    }

    public async Task<int> RequeueSetAsideAsync(IEnumerable<string> imageKeys, CancellationToken cancellationToken = default)
    {
        var moved = 0;
        foreach (var key in imageKeys)
        {
            if (await TryUpdateAsync(new UpdateItemRequest
            {
                TableName = tableName,
                Key = ItemKey(key),
                UpdateExpression = "SET #st = :pending, gsi1pk = :ppk, gsi1sk = pendingSk, returnCount = :zero REMOVE setAsideAt",
                ConditionExpression = "#st = :aside",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#st"] = "st" },
                ExpressionAttributeValues = new Dictionary<string, AttributeValue>
                {
                    [":pending"] = S("pending"),
                    [":ppk"] = S(PendingPk),
                    [":zero"] = N(0),
                    [":aside"] = S("set-aside"),
                },
            }, cancellationToken).ConfigureAwait(false))
            {
                moved++;
            }
        }

        return moved;
    }

    public async Task<CreationBackoff?> GetCreationBackoffAsync(CancellationToken cancellationToken = default)
    {
        var r = await dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = tableName,
            Key = new Dictionary<string, AttributeValue> { ["pk"] = S(BackoffPk) },
            ConsistentRead = true,
        }, cancellationToken).ConfigureAwait(false);
        return r.Item is { Count: > 0 } item && item.ContainsKey("nextAttempt") ? ToBackoff(item) : null;
    }

    public async Task<CreationBackoff> RecordCreationFailureAsync(string reason, DateTimeOffset now, TimeSpan initial, TimeSpan max, CancellationToken cancellationToken = default)
    {
        // The counter grows atomically; the next attempt time follows from the count this call produced.
        var counted = await dynamo.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = tableName,
            Key = new Dictionary<string, AttributeValue> { ["pk"] = S(BackoffPk) },
            UpdateExpression = "ADD failures :one SET lastFailure = :now, reason = :r",
            ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":one"] = N(1), [":now"] = S(SqlitePendingStore.Iso(now)), [":r"] = S(reason) },
            ReturnValues = ReturnValue.ALL_NEW,
        }, cancellationToken).ConfigureAwait(false);
        var failures = int.Parse(counted.Attributes["failures"].N, CultureInfo.InvariantCulture);
        var next = now + CreationBackoff.Delay(failures, initial, max);
        await dynamo.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = tableName,
            Key = new Dictionary<string, AttributeValue> { ["pk"] = S(BackoffPk) },
            UpdateExpression = "SET nextAttempt = :n",
            ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":n"] = S(SqlitePendingStore.Iso(next)) },
        }, cancellationToken).ConfigureAwait(false);
        return new CreationBackoff(failures, now, next, reason);
    }

    public Task ClearCreationBackoffAsync(CancellationToken cancellationToken = default) =>
        dynamo.DeleteItemAsync(new DeleteItemRequest { TableName = tableName, Key = new Dictionary<string, AttributeValue> { ["pk"] = S(BackoffPk) } }, cancellationToken);

    private static CreationBackoff ToBackoff(Dictionary<string, AttributeValue> a) => new(
        int.Parse(a["failures"].N, CultureInfo.InvariantCulture),
        SqlitePendingStore.ParseIso(a["lastFailure"].S),
        SqlitePendingStore.ParseIso(a["nextAttempt"].S),
        a.TryGetValue("reason", out var r) ? r.S : "");

    public Task<int> MarkDoneAsync(string batchId, IEnumerable<string> imageKeys, CancellationToken cancellationToken = default) =>
        MoveAsync(batchId, imageKeys, "SET #st = :done", new() { [":done"] = S("done") }, cancellationToken);

    private async Task<int> MoveAsync(string batchId, IEnumerable<string> imageKeys, string update, Dictionary<string, AttributeValue> values, CancellationToken ct)
    {
        var moved = 0;
        foreach (var key in imageKeys)
        {
            var v = new Dictionary<string, AttributeValue>(values) { [":claimed"] = S("claimed"), [":b"] = S(batchId) };
            // Refused when already moved (a duplicate completion event) or never in this batch.
            if (await TryUpdateAsync(new UpdateItemRequest
            {
                TableName = tableName,
                Key = ItemKey(key),
                UpdateExpression = update,
                ConditionExpression = "#st = :claimed AND itemBatchId = :b",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#st"] = "st" },
                ExpressionAttributeValues = v,
            }, ct).ConfigureAwait(false))
            {
                moved++;
            }
        }

        return moved;
    }

    public async Task<IReadOnlyList<PendingItem>> GetBatchItemsAsync(string batchId, CancellationToken cancellationToken = default)
    {
        var list = new List<PendingItem>();
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var r = await dynamo.QueryAsync(new QueryRequest
            {
                TableName = tableName,
                IndexName = BatchIndex,
                KeyConditionExpression = "itemBatchId = :b",
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":b"] = S(batchId) },
                ExclusiveStartKey = start,
            }, cancellationToken).ConfigureAwait(false);
            list.AddRange((r.Items ?? []).Select(ToItem));
            start = r.LastEvaluatedKey is { Count: > 0 } ? r.LastEvaluatedKey : null;
        }
        while (start is not null);

        return list;
    }

    public async Task<bool> TryCreateBatchAsync(BatchRecord batch, CancellationToken cancellationToken = default)
    {
        var item = new Dictionary<string, AttributeValue>
        {
            ["pk"] = S("JOB#" + batch.JobName),
            ["batchId"] = S(batch.BatchId),
            ["jobName"] = S(batch.JobName),
            ["st"] = S(batch.Status.ToString()),
            ["createdAt"] = S(SqlitePendingStore.Iso(batch.CreatedAt)),
            ["itemCount"] = N(batch.ItemCount),
            ["month"] = S(batch.Month),
            ["forecastUsd"] = N(batch.ForecastUsd),
            ["gsi1pk"] = S("BATCH#" + batch.Status),
            ["gsi1sk"] = S(SqlitePendingStore.Iso(batch.CreatedAt) + "|" + batch.JobName),
        };
        if (batch.JobArn is not null)
        {
            item["jobArn"] = S(batch.JobArn);
        }

        try
        {
            await dynamo.PutItemAsync(new PutItemRequest
            {
                TableName = tableName,
                Item = item,
                ConditionExpression = "attribute_not_exists(pk)",
            }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
    }

    public async Task<BatchRecord?> GetBatchAsync(string jobName, CancellationToken cancellationToken = default)
    {
        var r = await dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = tableName,
            Key = new Dictionary<string, AttributeValue> { ["pk"] = S("JOB#" + jobName) },
            ConsistentRead = true,
        }, cancellationToken).ConfigureAwait(false);
        return r.Item is { Count: > 0 } ? ToBatch(r.Item) : null;
    }

    public async Task<bool> TryUpdateBatchStatusAsync(string jobName, BatchStatus expected, BatchStatus next, string? jobArn = null, CancellationToken cancellationToken = default)
    {
        var values = new Dictionary<string, AttributeValue>
        {
            [":e"] = S(expected.ToString()),
            [":n"] = S(next.ToString()),
            [":g"] = S("BATCH#" + next),
        };
        var update = "SET #st = :n, gsi1pk = :g";
        if (jobArn is not null)
        {
            update += ", jobArn = :a";
            values[":a"] = S(jobArn);
        }

        return await TryUpdateAsync(new UpdateItemRequest
        {
            TableName = tableName,
            Key = new Dictionary<string, AttributeValue> { ["pk"] = S("JOB#" + jobName) },
            UpdateExpression = update,
            ConditionExpression = "#st = :e",
            ExpressionAttributeNames = new Dictionary<string, string> { ["#st"] = "st" },
            ExpressionAttributeValues = values,
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task SetBatchTotalsAsync(string jobName, int itemCount, decimal forecastUsd, CancellationToken cancellationToken = default)
    {
        try
        {
            await dynamo.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = tableName,
                Key = new Dictionary<string, AttributeValue> { ["pk"] = S("JOB#" + jobName) },
                UpdateExpression = "SET itemCount = :n, forecastUsd = :f",
                ConditionExpression = "attribute_exists(pk)",
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":n"] = N(itemCount), [":f"] = N(forecastUsd) },
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (ConditionalCheckFailedException ex)
        {
            throw new InvalidOperationException($"batch {jobName} does not exist", ex);
        }
    }

    public async Task<IReadOnlyList<BatchRecord>> ListBatchesAsync(BatchStatus status, CancellationToken cancellationToken = default)
    {
        var keys = await QueryIndexKeysAsync("BATCH#" + status, int.MaxValue, null, null, cancellationToken).ConfigureAwait(false);
        var list = new List<BatchRecord>(keys.Count);
        foreach (var pk in keys)
        {
            var b = await GetBatchAsync(pk["JOB#".Length..], cancellationToken).ConfigureAwait(false);
            if (b is not null && b.Status == status)
            {
                list.Add(b);
            }
        }

        return list;
    }

    public async Task<BudgetState> GetBudgetAsync(string month, CancellationToken cancellationToken = default)
    {
        var r = await dynamo.GetItemAsync(new GetItemRequest { TableName = tableName, Key = BudgetKey(month), ConsistentRead = true }, cancellationToken).ConfigureAwait(false);
        if (r.Item is not { Count: > 0 } item)
        {
            return new BudgetState(month, 0, 0m);
        }

        return new BudgetState(month,
            long.Parse(item.GetValueOrDefault("objects")?.N ?? "0", CultureInfo.InvariantCulture),
            decimal.Parse(item.GetValueOrDefault("spentUsd")?.N ?? "0", CultureInfo.InvariantCulture));
    }

    public async Task<bool> TryReserveBudgetAsync(string month, long expectedObjects, long objects, decimal usd, decimal limitUsd, CancellationToken cancellationToken = default)
    {
        if (usd > limitUsd)
        {
            return false;
        }

        // DynamoDB conditions cannot add, so the "spent + usd <= limit" test is "spent <= limit - usd".
        var values = new Dictionary<string, AttributeValue>
        {
            [":n"] = N(objects),
            [":u"] = N(usd),
            [":exp"] = N(expectedObjects),
            [":maxBefore"] = N(limitUsd - usd),
        };
        var condition = expectedObjects == 0
            ? "attribute_not_exists(objects) OR (objects = :exp AND spentUsd <= :maxBefore)"
            : "objects = :exp AND spentUsd <= :maxBefore";
        return await TryUpdateAsync(new UpdateItemRequest
        {
            TableName = tableName,
            Key = BudgetKey(month),
            UpdateExpression = "ADD objects :n, spentUsd :u",
            ConditionExpression = condition,
            ExpressionAttributeValues = values,
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task RefundBudgetAsync(string month, long objects, decimal usd, CancellationToken cancellationToken = default)
    {
        // The usual refund is covered by the counter: one atomic ADD of the negatives.
        if (await TryUpdateAsync(new UpdateItemRequest
        {
            TableName = tableName,
            Key = BudgetKey(month),
            UpdateExpression = "ADD objects :n, spentUsd :u",
            ConditionExpression = "objects >= :on AND spentUsd >= :ou",
            ExpressionAttributeValues = new Dictionary<string, AttributeValue>
            {
                [":n"] = N(-objects),
                [":u"] = N(-usd),
                [":on"] = N(objects),
                [":ou"] = N(usd),
            },
        }, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        // A refund larger than the counter (delivered twice, or for a month never reserved) stops at zero,
        // like the SQLite adapter: a negative counter would let later reservations spend past the limit.
        // Compare-and-set on the values just read, retried when a concurrent reservation moved them.
        while (true)
        {
            var current = await GetBudgetAsync(month, cancellationToken).ConfigureAwait(false);
            if (current.Objects <= 0 && current.SpentUsd <= 0)
            {
                return;
            }

            if (await TryUpdateAsync(new UpdateItemRequest
            {
                TableName = tableName,
                Key = BudgetKey(month),
                UpdateExpression = "SET objects = :no, spentUsd = :nu",
                ConditionExpression = "objects = :oo AND spentUsd = :ou",
                ExpressionAttributeValues = new Dictionary<string, AttributeValue>
                {
                    [":no"] = N(Math.Max(0, current.Objects - objects)),
                    [":nu"] = N(Math.Max(0m, current.SpentUsd - usd)),
                    [":oo"] = N(current.Objects),
                    [":ou"] = N(current.SpentUsd),
                },
            }, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    /// <summary>One page of the PENDING partition of <see cref="StatusIndex"/>, oldest first.</summary>
    private Task<QueryResponse> QueryPendingPageAsync(Dictionary<string, AttributeValue>? start, int limit, CancellationToken ct) =>
        dynamo.QueryAsync(new QueryRequest
        {
            TableName = tableName,
            IndexName = StatusIndex,
            KeyConditionExpression = "gsi1pk = :p",
            ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":p"] = S(PendingPk) },
            ScanIndexForward = true,
            Limit = limit,
            ExclusiveStartKey = start,
        }, ct);

    /// <summary>A conditional update: true when it was applied, false when its condition did not hold.</summary>
    private async Task<bool> TryUpdateAsync(UpdateItemRequest request, CancellationToken ct)
    {
        try
        {
            await dynamo.UpdateItemAsync(request, ct).ConfigureAwait(false);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
    }

    private async Task<List<string>> QueryIndexKeysAsync(string partition, int max, string? sortCondition, AttributeValue? sortValue, CancellationToken ct)
    {
        var keys = new List<string>();
        Dictionary<string, AttributeValue>? start = null;
        var values = new Dictionary<string, AttributeValue> { [":p"] = S(partition) };
        if (sortValue is not null)
        {
            values[":before"] = sortValue;
        }

        do
        {
            var r = await dynamo.QueryAsync(new QueryRequest
            {
                TableName = tableName,
                IndexName = StatusIndex,
                KeyConditionExpression = sortCondition is null ? "gsi1pk = :p" : "gsi1pk = :p AND " + sortCondition,
                ExpressionAttributeValues = values,
                ScanIndexForward = true,
                Limit = Math.Min(max - keys.Count, 1000),
                ExclusiveStartKey = start,
            }, ct).ConfigureAwait(false);
            keys.AddRange((r.Items ?? []).Select(i => i["pk"].S));
            start = r.LastEvaluatedKey is { Count: > 0 } ? r.LastEvaluatedKey : null;
        }
        while (start is not null && keys.Count < max);

        return keys;
    }

    private static PendingItem ToItem(Dictionary<string, AttributeValue> a)
    {
        string? Str(string name) => a.TryGetValue(name, out var v) ? v.S : null;
        var payload = Str("payload");
        return new PendingItem(
            Str("imageKey") ?? throw new InvalidDataException("pending item without imageKey"),
            Str("bucket") ?? "",
            Str("thing") ?? "",
            SqlitePendingStore.ParseStatus(Str("st") ?? "half"),
            a.TryGetValue("hasImage", out var hi) && hi.BOOL == true,
            a.TryGetValue("hasSidecar", out var hs) && hs.BOOL == true,
            Str("itemBatchId"),
            SqlitePendingStore.ParseIso(Str("firstSeen") ?? throw new InvalidDataException("pending item without firstSeen")),
            Str("pendingSince") is { } ps ? SqlitePendingStore.ParseIso(ps) : null,
            payload is null ? null : JsonSerializer.Deserialize(payload, LabelingJsonContext.Default.PendingPayload),
            a.TryGetValue("returnCount", out var rc) && rc.N is { } n ? int.Parse(n, CultureInfo.InvariantCulture) : 0,
            Str("lastReturnReason"),
            Str("setAsideAt") is { } sa ? SqlitePendingStore.ParseIso(sa) : null);
    }

    private static BatchRecord ToBatch(Dictionary<string, AttributeValue> a) => new(
        a["batchId"].S,
        a["jobName"].S,
        Enum.Parse<BatchStatus>(a["st"].S),
        SqlitePendingStore.ParseIso(a["createdAt"].S),
        int.Parse(a["itemCount"].N, CultureInfo.InvariantCulture),
        a["month"].S,
        decimal.Parse(a["forecastUsd"].N, CultureInfo.InvariantCulture),
        a.TryGetValue("jobArn", out var arn) ? arn.S : null);

    private static Dictionary<string, AttributeValue> ItemKey(string imageKey) => new() { ["pk"] = S("ITEM#" + imageKey) };

    private static Dictionary<string, AttributeValue> BudgetKey(string month) => new() { ["pk"] = S("BUDGET#" + month) };

    private static AttributeValue S(string s) => new() { S = s };

    private static AttributeValue N(long n) => new() { N = n.ToString(CultureInfo.InvariantCulture) };

    private static AttributeValue N(decimal n) => new() { N = n.ToString(CultureInfo.InvariantCulture) };
}
