using System.Globalization;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Pending;
using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Labeling.Fleet;

/// <summary>The fleet table: one record per device, replaced by each newer heartbeat.</summary>
public interface IFleetStore
{
    /// <summary>Folds <paramref name="heartbeat"/> into its device's record (a heartbeat older than the stored one changes nothing) and returns the record.</summary>
    Task<DeviceRecord> ApplyAsync(FleetHeartbeat heartbeat, DateTimeOffset receivedUtc, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<DeviceRecord>> ListAsync(CancellationToken cancellationToken = default);
}

internal static class DeviceRecordJson
{
    public static string Serialize(DeviceRecord r) => JsonSerializer.Serialize(r, FleetStoreJsonContext.Default.DeviceRecord);

    public static DeviceRecord Deserialize(string json) =>
        JsonSerializer.Deserialize(json, FleetStoreJsonContext.Default.DeviceRecord) ?? throw new InvalidDataException("fleet record is null");
}

/// <summary>The fleet table in one SQLite file (local runs, the demo, the CLI without AWS).</summary>
public sealed class SqliteFleetStore : IFleetStore
{
    private readonly SharedSqliteFile _file;

    public SqliteFleetStore(string path) =>
        _file = new SharedSqliteFile(path, "CREATE TABLE IF NOT EXISTS devices(thing TEXT PRIMARY KEY, record TEXT NOT NULL);");

    private SqliteConnection Open() => _file.Open();

    public Task<DeviceRecord> ApplyAsync(FleetHeartbeat heartbeat, DateTimeOffset receivedUtc, CancellationToken cancellationToken = default)
    {
        using var c = Open();
        // BEGIN IMMEDIATE takes the write lock before the read: two heartbeats of one device cannot interleave.
        using (var begin = c.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE";
            begin.ExecuteNonQuery();
        }

        try
        {
            DeviceRecord? previous = null;
            using (var read = c.CreateCommand())
            {
                read.CommandText = "SELECT record FROM devices WHERE thing = $t";
                read.Parameters.AddWithValue("$t", heartbeat.ThingName);
                if (read.ExecuteScalar() is string json)
                {
                    previous = DeviceRecordJson.Deserialize(json);
                }
            }

            var next = DeviceRecord.Apply(previous, heartbeat, receivedUtc);
            using (var write = c.CreateCommand())
            {
                write.CommandText = "INSERT INTO devices(thing, record) VALUES ($t, $r) ON CONFLICT(thing) DO UPDATE SET record = $r";
                write.Parameters.AddWithValue("$t", heartbeat.ThingName);
                write.Parameters.AddWithValue("$r", DeviceRecordJson.Serialize(next));
                write.ExecuteNonQuery();
            }

            using (var commit = c.CreateCommand())
            {
                commit.CommandText = "COMMIT";
                commit.ExecuteNonQuery();
            }

            return Task.FromResult(next);
        }
        catch
        {
            using var rollback = c.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            rollback.ExecuteNonQuery();
            throw;
        }
    }

    public Task<IReadOnlyList<DeviceRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT record FROM devices ORDER BY thing";
        using var r = cmd.ExecuteReader();
        var list = new List<DeviceRecord>();
        while (r.Read())
        {
            list.Add(DeviceRecordJson.Deserialize(r.GetString(0)));
        }

        return Task.FromResult<IReadOnlyList<DeviceRecord>>(list);
    }
}

/// <summary>
/// The fleet table on DynamoDB: partition key <c>thing</c> (string), the record as a JSON string in
/// <c>record</c> and the device time stamp in <c>heartbeatUtc</c>. Each update is a conditional put on the
/// value read, retried on a lost race, so concurrent deliveries of one device's heartbeats cannot lose the
/// newer one.
/// </summary>
public sealed class DynamoDbFleetStore(IAmazonDynamoDB dynamo, string tableName) : IFleetStore
{
    public const string PartitionKey = "thing";

    // Every lost race means another writer succeeded, so n writers of one device need at most n attempts;
    // duplicated S3 deliveries give a handful at most.
    private const int MaxAttempts = 16;

    /// <summary>The table this adapter needs; the CDK fleet construct and the test servers are checked against it.</summary>
    public static CreateTableRequest TableDefinition(string tableName) => new()
    {
        TableName = tableName,
        BillingMode = BillingMode.PAY_PER_REQUEST,
        KeySchema = [new KeySchemaElement(PartitionKey, KeyType.HASH)],
        AttributeDefinitions = [new AttributeDefinition(PartitionKey, ScalarAttributeType.S)],
    };

    public async Task<DeviceRecord> ApplyAsync(FleetHeartbeat heartbeat, DateTimeOffset receivedUtc, CancellationToken cancellationToken = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            var got = await dynamo.GetItemAsync(new GetItemRequest
            {
                TableName = tableName,
                Key = new Dictionary<string, AttributeValue> { [PartitionKey] = new(heartbeat.ThingName) },
                ConsistentRead = true,
            }, cancellationToken).ConfigureAwait(false);
            var previous = got.Item is { Count: > 0 } item && item.TryGetValue("record", out var rec) ? DeviceRecordJson.Deserialize(rec.S) : null;
            var next = DeviceRecord.Apply(previous, heartbeat, receivedUtc);
            if (ReferenceEquals(next, previous))
            {
                return next;
            }

            var put = new PutItemRequest
            {
                TableName = tableName,
                Item = new Dictionary<string, AttributeValue>
                {
                    [PartitionKey] = new(next.ThingName),
                    ["record"] = new(DeviceRecordJson.Serialize(next)),
                    ["heartbeatUtc"] = new(Stamp(next.LastHeartbeatUtc)),
                },
            };
            if (previous is null)
            {
                put.ConditionExpression = "attribute_not_exists(#pk)";
                put.ExpressionAttributeNames = new Dictionary<string, string> { ["#pk"] = PartitionKey };
            }
            else
            {
                put.ConditionExpression = "heartbeatUtc = :prev";
                put.ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":prev"] = new(Stamp(previous.LastHeartbeatUtc)) };
            }

            try
            {
                await dynamo.PutItemAsync(put, cancellationToken).ConfigureAwait(false);
                return next;
            }
            catch (ConditionalCheckFailedException) when (attempt < MaxAttempts)
            {
                // Another delivery wrote first: read again and fold this heartbeat into what it wrote. A short
                // random pause keeps racers from meeting again on the next round.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 10 * attempt)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async Task<IReadOnlyList<DeviceRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        var list = new List<DeviceRecord>();
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var page = await dynamo.ScanAsync(new ScanRequest { TableName = tableName, ExclusiveStartKey = start, ConsistentRead = true }, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items ?? [])
            {
                if (item.TryGetValue("record", out var rec))
                {
                    list.Add(DeviceRecordJson.Deserialize(rec.S));
                }
            }

            start = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (start is not null);

        return list.OrderBy(d => d.ThingName, StringComparer.Ordinal).ToList();
    }

    private static string Stamp(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
}
